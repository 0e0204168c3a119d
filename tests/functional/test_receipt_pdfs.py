"""PDF receipts: the receipt email carries one, the thank-you page links to
one, and what a donor reads in it is right: the amount as their currency
is written (USD, ILS, and JPY without decimals), the receipt number, who
issued it, the appeal's title in Hebrew for a Hebrew donor, and a refund."""

import pytest
from babel.dates import format_date
from sqlalchemy import select

from fundraiser.appeals import services as appeals
from fundraiser.donations.models import Donation
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests.factories import create_appeal, create_donation
from tests.pdfs import attachments, pdf_text

ORG = {"ORG_NAME": "Bread and Roses Fund", "ORG_ADDRESS": "12 Herzl St\\nTel Aviv",
       "ORG_REGISTRATION": "580123456", "RECEIPT_NUMBER_PREFIX": "BR-"}
HEBREW_TITLE = "לחם ושושנים"


@pytest.fixture(autouse=True)
def organisation(app):
    app.config.update(ORG, RECEIPT_PDF_ATTACHED=True)


def give(db, appeal, amount_minor, email="dana@example.org", locale="en", name="Dana Levi"):
    gift = create_donation(db.session, appeal, amount_minor=amount_minor, email=email,
                           name=name, locale=locale)
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    return gift


def receipt_mail(app, email):
    [mail] = [m for m in app.extensions["mailman"].outbox if m.to == [email]]
    return mail


@pytest.mark.parametrize("currency, amount_minor, shown, not_shown", [
    ("USD", 2500, "$25.00", None),
    ("ILS", 18000, "₪180.00", None),
    ("JPY", 5000, "¥5,000", "¥5,000.00"),   # zero-decimal: no cents invented
])
def test_the_receipt_mail_carries_a_pdf_with_the_amount_number_and_organisation(
        app, db, currency, amount_minor, shown, not_shown):
    appeal = create_appeal(db.session, slug=f"a-{currency.lower()}", currency=currency,
                           title="Bread and roses")
    give(db, appeal, 100, email="first@example.org")  # number 1 goes to another gift
    gift = give(db, appeal, amount_minor)

    mail = receipt_mail(app, "dana@example.org")
    assert list(attachments(mail)) == ["receipt-BR-000002.pdf"]
    text = pdf_text(attachments(mail)["receipt-BR-000002.pdf"])
    assert shown in text
    if not_shown:
        assert not_shown not in text
    assert "BR-000002" in text
    assert "Bread and Roses Fund" in text and "580123456" in text and "Tel Aviv" in text
    assert "Bread and roses" in text and "Dana Levi" in text
    assert "No goods or services were received" in text
    db.session.refresh(gift)
    assert format_date(gift.payment.succeeded_at, "long", locale="en") in text  # its date
    assert gift.receipt_number == 2


def test_a_hebrew_donor_gets_a_hebrew_receipt_with_the_hebrew_title(app, db):
    appeal = create_appeal(db.session, slug="bread", title="Bread and roses", currency="ILS")
    appeals.save_translation(db.session, appeal, "he", languages=app.config["LANGUAGES"],
                             title=HEBREW_TITLE, summary="תקציר", story_md="סיפור.")
    give(db, appeal, 18000, locale="he", name="דנה לוי")

    mail = receipt_mail(app, "dana@example.org")
    [pdf] = attachments(mail).values()
    text = pdf_text(pdf)
    assert HEBREW_TITLE in text and "Bread and roses" not in text
    assert "קבלה על תרומה" in text          # "Donation receipt"
    assert "מספר קבלה" in text and "BR-000001" in text
    assert "דנה לוי" in text
    assert "180.00" in text and "₪" in text
    assert "No goods" not in text            # its own words in Hebrew too


def test_the_thank_you_page_links_the_receipt_and_the_link_serves_it(app, db, client):
    appeal = create_appeal(db.session, title="Bread and roses")
    gift = give(db, appeal, 2500)

    page = client.get(f"/give/{gift.public_id}/thanks").get_data(as_text=True)
    assert f'href="/give/{gift.public_id}/receipt.pdf"' in page
    assert "Download your receipt (PDF)" in page
    response = client.get(f"/give/{gift.public_id}/receipt.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert 'filename="receipt-BR-000001.pdf"' in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    text = pdf_text(response.data)
    assert "$25.00" in text and "BR-000001" in text
    # Asked again, it is the same receipt: the number is given once.
    assert "BR-000001" in pdf_text(client.get(f"/give/{gift.public_id}/receipt.pdf").data)


def test_no_receipt_for_a_wrong_id_or_a_gift_not_paid(app, db, client):
    appeal = create_appeal(db.session)
    unpaid = create_donation(db.session, appeal)
    paid = give(db, appeal, 2500, email="paid@example.org")
    assert client.get("/give/not-a-real-gift-id/receipt.pdf").status_code == 404
    assert client.get(f"/give/{paid.public_id[:-1]}/receipt.pdf").status_code == 404
    assert client.get(f"/give/{unpaid.public_id}/receipt.pdf").status_code == 404
    assert "receipt.pdf" not in client.get(f"/give/{unpaid.public_id}/thanks") \
        .get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Donation, unpaid.id).receipt_number is None


def test_a_refunded_gift_s_receipt_says_it_was_refunded(app, db, client):
    appeal = create_appeal(db.session)
    partly = give(db, appeal, 5000, email="partly@example.org")
    whole = give(db, appeal, 2500, email="whole@example.org")
    payments.apply_refund_total(db.session, partly.payment_id, 1000)
    payments.apply_refund_total(db.session, whole.payment_id, 2500)
    db.session.commit()

    partly_text = pdf_text(client.get(f"/give/{partly.public_id}/receipt.pdf").data)
    assert "Partly refunded: $10.00 was returned; the gift now stands at $40.00." \
        in partly_text.replace("\n", " ")
    whole_text = pdf_text(client.get(f"/give/{whole.public_id}/receipt.pdf").data)
    assert "This receipt is void" in whole_text and "$25.00" in whole_text


def test_a_gift_from_before_receipt_numbers_gets_the_next_one_when_asked(app, db, client):
    appeal = create_appeal(db.session)
    old = give(db, appeal, 2500, email="old@example.org")
    db.session.execute(Donation.__table__.update().where(Donation.id == old.id)
                       .values(receipt_number=None))
    give(db, appeal, 2500, email="new@example.org")  # takes number 2
    db.session.commit()
    assert "BR-000003" in pdf_text(client.get(f"/give/{old.public_id}/receipt.pdf").data)
    db.session.rollback()
    numbers = sorted(db.session.scalars(select(Donation.receipt_number)))
    assert numbers == [2, 3]


def test_a_matched_gift_s_receipt_says_what_it_unlocked(app, db):
    from fundraiser.matching import services as matching

    appeal = create_appeal(db.session, title="Bread and roses")
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=1_500,
                         sponsor_name="Ruth")
    give(db, appeal, 2500)
    text = pdf_text(list(attachments(receipt_mail(app, "dana@example.org")).values())[0])
    assert "Your gift unlocked $15.00 in matching money." in text.replace("\n", " ")


def test_a_hebrew_receipt_names_the_card_in_hebrew(app, db):
    from fundraiser.payments.models import Payment

    appeal = create_appeal(db.session, slug="bread", title="Bread and roses", currency="ILS")
    gift = create_donation(db.session, appeal, amount_minor=18000, locale="he",
                           name="דנה לוי", email="dana@example.org")
    db.session.flush()
    db.session.get(Payment, gift.payment_id).card_brand = "Visa"
    db.session.get(Payment, gift.payment_id).card_last4 = "4242"
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    mail = receipt_mail(app, "dana@example.org")
    text = pdf_text(next(iter(attachments(mail).values())))
    assert "Visa" in text and "4242" in text and "המסתיים" in text   # "ending"
    assert "card ending" not in text


def test_a_card_without_a_readable_brand_is_named_by_its_last_four_only(app, db):
    from fundraiser.payments.models import Payment

    appeal = create_appeal(db.session, title="Bread and roses")
    gift = create_donation(db.session, appeal, amount_minor=2500, email="dana@example.org")
    db.session.flush()
    db.session.get(Payment, gift.payment_id).card_last4 = "4242"  # brand unread: None
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    mail = receipt_mail(app, "dana@example.org")
    text = pdf_text(next(iter(attachments(mail).values())))
    assert "Card ending 4242" in text and "Card card" not in text
    assert "Payment method: Card ending 4242" in mail.body
