"""A donor reads the appeal's title in their interface language on every
page of a gift (card step, thank-you page, pledge pages, the public match
ledger) and in the receipt; the JSON API keeps the original title."""

import re

import pytest
from sqlalchemy import select

from fundraiser.appeals import services as appeals
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchPledge
from tests import support
from tests.factories import create_appeal
from tests.functional.conftest import Donor

VISA = "4242424242424242"
ENGLISH_TITLE = "Bread and roses"
HEBREW_TITLE = "לחם ושושנים"


@pytest.fixture
def bread(app, db):
    appeal = create_appeal(db.session, slug="bread", title=ENGLISH_TITLE)
    appeals.save_translation(db.session, appeal, "he", languages=app.config["LANGUAGES"],
                             title=HEBREW_TITLE, summary="תקציר", story_md="סיפור.")
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=10_000,
                         sponsor_name="Ruth")
    db.session.commit()
    return appeal


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def page_title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


def reads(html: str, title: str, other: str) -> bool:
    """The page names the appeal by `title`, in <title> too, and never by `other`."""
    return title in html and title in page_title(html) and other not in html


def walk_a_gift(app, client, localstripe, locale, email):
    """Give, pledge (given now, and with a saved card), and read every page
    on the way. Returns {page name: html} and the receipt sent."""
    client.get(f"/lang/{locale}")
    donor = Donor(client, localstripe)
    pages = {}
    gift = donor.start(slug="bread", amount="25", name="Dana Levi", email=email)
    pages["pay"] = client.get(f"/give/{gift}").get_data(as_text=True)
    assert donor.charge(gift, support.card_token(localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    pages["thanks"] = client.get(f"/give/{gift}/thanks").get_data(as_text=True)
    form = {"csrf_token": csrf_of(pages["thanks"]), "amount": "50", "display_name": "Dana",
            "agree": "y"}
    given = client.post(f"/give/{gift}/pledge", data={**form, "mode": "pay_now"})
    assert given.status_code == 303, given.data[:2000]
    funding = given.headers["Location"].rsplit("/", 1)[1]
    pages["pledge pay"] = client.get(f"/give/{funding}").get_data(as_text=True)
    assert donor.charge(funding, support.card_token(localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    saved = client.post(f"/give/{gift}/pledge", data={**form, "mode": "card_saved"})
    assert saved.status_code == 303, saved.data[:2000]
    pages["pledge card"] = client.get(saved.headers["Location"]).get_data(as_text=True)
    from fundraiser.extensions import db

    db.session.rollback()
    pledge = db.session.scalar(select(MatchPledge).where(MatchPledge.status == "active"))
    pages["pledge"] = client.get(f"/match/{pledge.code}").get_data(as_text=True)
    pages["ledger"] = client.get("/appeals/bread/matching").get_data(as_text=True)
    pages["appeal"] = client.get("/appeals/bread").get_data(as_text=True)
    receipts = [m for m in app.extensions["mailman"].outbox if email in m.to]
    return pages, receipts[0]


def test_a_hebrew_donor_reads_the_hebrew_title_on_every_page_and_in_the_receipt(
        app, client, localstripe, bread):
    pages, receipt = walk_a_gift(app, client, localstripe, "he", "dana@example.org")
    for name, html in pages.items():
        assert reads(html, HEBREW_TITLE, ENGLISH_TITLE), name
    # The title is marked as Hebrew where the page names it.
    assert f'lang="he" dir="rtl">{HEBREW_TITLE}</a>' in pages["pay"]
    assert f'lang="he" dir="rtl">{HEBREW_TITLE}</a>' in pages["ledger"]
    # The receipt: the Hebrew title, and its own words in Hebrew too.
    assert HEBREW_TITLE in receipt.subject and ENGLISH_TITLE not in receipt.subject
    assert receipt.subject.startswith("תודה על תרומתך")
    assert f"„{HEBREW_TITLE}”" in receipt.body and ENGLISH_TITLE not in receipt.body
    assert "אסמכתה" in receipt.body and "Reference" not in receipt.body
    # The JSON API keeps the original title whatever the visitor reads.
    assert client.get("/api/v1/appeals/bread").get_json()["title"] == ENGLISH_TITLE


def test_an_english_donor_still_reads_the_original_title(app, client, localstripe, bread):
    pages, receipt = walk_a_gift(app, client, localstripe, "en", "eli@example.org")
    for name, html in pages.items():
        assert reads(html, ENGLISH_TITLE, HEBREW_TITLE), name
    assert f'lang="en" dir="ltr">{ENGLISH_TITLE}</a>' in pages["pay"]
    assert receipt.subject == f"Thank you for your gift to {ENGLISH_TITLE}"
    assert f'"{ENGLISH_TITLE}"' in receipt.body and HEBREW_TITLE not in receipt.body


def test_the_receipt_follows_the_language_given_in_not_the_language_at_send_time(
        app, client, localstripe, bread, db):
    """A webhook or `reconcile` may send the receipt later, from no request
    at all: the donation remembers the language the donor gave in."""
    client.get("/lang/he")
    donor = Donor(client, localstripe)
    gift = donor.start(slug="bread", amount="30", email="late@example.org")
    from fundraiser.donations import services as donations
    from fundraiser.payments import services as payments
    from fundraiser.payments import states

    db.session.rollback()  # the test's own session lets go (SQLite: one writer)
    with app.app_context():  # a fresh context, as a webhook or the CLI has
        donation = donations.by_public_id(db.session, gift)
        assert donation.locale == "he"
        payments.transition_to(db.session, donation.payment_id, states.SUCCEEDED)
        db.session.commit()
    receipt = [m for m in app.extensions["mailman"].outbox if "late@example.org" in m.to][0]
    assert HEBREW_TITLE in receipt.subject and HEBREW_TITLE in receipt.body
