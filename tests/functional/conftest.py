
import pytest

from tests import support
from tests.factories import create_appeal


class Donor:
    """A donor's browser, minus the browser: the test client, with the card
    step done the way Stripe.js does it (token from localstripe)."""

    def __init__(self, client, localstripe):
        self.client = client
        self.localstripe = localstripe

    def csrf(self, html: bytes) -> str:
        """The page's token; the shared appeal page has none, so the browser
        asks for its own, as static/js/form_token.js does."""
        return support.form_token(self.client, html)

    def fill_form(self, slug, **fields):
        page = self.client.get(f"/appeals/{slug}")
        assert page.status_code == 200
        data = {"csrf_token": self.csrf(page.data), "amount": "25", "currency": "USD",
                "name": "Dana Donor", "email": "dana@example.org"}
        data.update(fields)
        return self.client.post(f"/appeals/{slug}/give", data=data)

    def start(self, slug="test-appeal", **fields) -> str:
        response = self.fill_form(slug, **fields)
        assert response.status_code == 303, response.data[:2000]
        return response.headers["Location"].rsplit("/", 1)[1]

    def charge(self, public_id, token):
        page = self.client.get(f"/give/{public_id}")
        csrf = self.csrf(page.data) if page.status_code == 200 else self._any_csrf()
        return self.client.post(f"/give/{public_id}/charge", json={"token": token},
                                headers={"X-CSRFToken": csrf})

    def confirm(self, public_id):
        return self.client.post(f"/give/{public_id}/confirm", json={},
                                headers={"X-CSRFToken": self._any_csrf()})

    def _any_csrf(self):
        return self.csrf(self.client.get("/").data)


@pytest.fixture
def donor(client, localstripe):
    return Donor(client, localstripe)


@pytest.fixture
def appeal(db):
    appeal = create_appeal(db.session, slug="test-appeal", title="Test appeal")
    db.session.commit()
    return appeal
