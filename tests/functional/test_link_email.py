"""The sign and co-sign forms share one email field (appeals/forms.py,
`link_email`): each says what its address is for when it is missing, and
both refuse the same bad addresses with the same words, storing nothing.
Both databases."""

from __future__ import annotations

import pytest

from tests.functional import test_signatures as signing
from tests.functional.staff import test_cosign_requests as cosigning
from tests.functional.test_signatures import petition as petition  # noqa: F401

SHARED = [
    ("not-an-email", "That does not look like an email address."),
    ("a" * 250 + "@example.org", "That email address is too long."),
    ("noa@example.org\r\nBcc: x@example.org",
     "That email address has characters an address cannot have. Please type it again."),
    ("noa\u202e@example.org",
     "That email address has characters an address cannot have. Please type it again."),
]


def post(form, client, email):
    if form == "sign":
        return signing.sign(client, email=email)
    return cosigning.ask(client, email=email)


def stored(form, app, db):
    if form == "sign":
        return signing.rows(db), signing.mails(app)
    return len(cosigning.requests_(db)), cosigning.links(app)


@pytest.mark.parametrize("form, missing", [
    ("sign", "We need your email to confirm your signature."),
    ("cosign", "We need an email address to confirm the request."),
])
@pytest.mark.parametrize("email, message", [("  ", None), *SHARED])
def test_both_forms_refuse_a_bad_address_beside_the_field(
        app, client, db, petition, form, missing, email, message):  # noqa: F811
    answer = post(form, client, email)
    assert answer.status_code == 422
    assert (message or missing) in answer.text
    assert 'aria-invalid="true"' in answer.text and 'type="email"' in answer.text
    assert stored(form, app, db) == (0, [])
