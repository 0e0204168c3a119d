"""The PDF receipt for one gift, in the language the donor gave in (the
same rule as the receipt email): who received it, its number and date, the
appeal (its translated title where there is one), the amount as the donor's
locale writes it, how it was paid, what it unlocked in matching money, and,
when it was refunded or reversed, a note that says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..appeals.models import RTL_LANGUAGES
from ..matching import ledger as match_ledger
from ..money import Money
from ..payments import states
from ..pdf import Page, ltr
from . import receipt_numbers
from .models import Donation

# A payment in one of these once was a gift, so it has (or had) a receipt.
RECEIPTED = (states.SUCCEEDED, states.PARTIALLY_REFUNDED, states.REFUNDED, states.DISPUTED,
             states.DISPUTE_LOST)


@dataclass(frozen=True)
class Organisation:
    """Who issues receipts (ORG_* settings)."""

    name: str
    address: str = ""
    registration: str = ""
    receipt_prefix: str = ""

    @classmethod
    def from_config(cls, config) -> Organisation:
        return cls(name=config.get("ORG_NAME") or "Fundraiser",
                   address=config.get("ORG_ADDRESS") or "",
                   registration=config.get("ORG_REGISTRATION") or "",
                   receipt_prefix=config.get("RECEIPT_NUMBER_PREFIX") or "")


def long_date(when: datetime | None, locale: str, format: str = "long") -> str:
    return format_date(when, format=format, locale=locale) if when else ""


def new_page(org: Organisation, title: str, locale: str) -> Page:
    """A page that starts with the organisation's letterhead."""
    page = Page(title=title, lang=locale, rtl=locale in RTL_LANGUAGES, author=org.name)
    page.text(org.name, size=15, bold=True, space_after=0.5, own_direction=True)
    for line in org.address.replace("\\n", "\n").splitlines():
        page.text(line.strip(), size=9.5, muted=True, space_after=0, own_direction=True)
    if org.registration:
        page.text(_("Registration number: %(number)s", number=org.registration), size=9.5,
                  muted=True, space_after=0)
    page.rule(8)
    return page


def payment_method(donation: Donation) -> str:
    payment = donation.payment
    if payment.provider == "offline":
        return _("Paid offline (cheque, bank transfer or cash), recorded by our staff")
    if payment.card_last4 and payment.card_brand:
        # The brand is the card network's own name (Visa, Mastercard…), not translated.
        return _("%(brand)s card ending %(last4)s", brand=payment.card_brand,
                 last4=payment.card_last4)
    if payment.card_last4:
        return _("Card ending %(last4)s", last4=payment.card_last4)
    return _("Card")


def refund_note(donation: Donation, locale: str) -> str:
    payment = donation.payment
    refunded = Money(payment.refunded_minor, payment.currency).format(locale)
    if payment.status == states.REFUNDED:
        return _("Refunded: this gift was returned in full (%(amount)s). "
                 "This receipt is void.", amount=refunded)
    if payment.status == states.PARTIALLY_REFUNDED:
        kept = Money(payment.amount_minor - payment.refunded_minor,
                     payment.currency).format(locale)
        return _("Partly refunded: %(refunded)s was returned; the gift now stands at "
                 "%(kept)s.", refunded=refunded, kept=kept)
    if payment.status == states.DISPUTED:
        return _("This payment is disputed by the card holder's bank; the receipt holds "
                 "unless the bank takes the money back.")
    if payment.status == states.DISPUTE_LOST:
        return _("The card holder's bank took this payment back. This receipt is void.")
    return ""


def conversion_note(donation: Donation, locale: str) -> str:
    """For a gift in another currency than its appeal's: what it counts for
    there, and at which rate; "" otherwise. In the current locale."""
    converted = donation.converted
    if converted is None or donation.rate is None:
        return ""
    rate = Context(prec=6).plus(Decimal(donation.rate))
    return _("Counted towards the appeal as %(converted)s (1 %(currency)s = %(rate)s "
             "%(appeal_currency)s, rates of %(day)s).",
             converted=converted.format(locale), currency=donation.currency,
             rate=format_decimal(rate, locale=locale, decimal_quantization=False),
             appeal_currency=converted.currency,
             day=format_date(donation.rate_date, "medium", locale=locale)
             if donation.rate_date else "")


def receipt_facts(session, donation: Donation) -> dict:
    """What the receipt says, as plain text in the donor's language: a
    small dict a queued job can carry, so the job renders the PDF without
    a database connection of its own. The gift has its receipt number
    already (receipt_numbers.assign)."""
    locale = donation.locale or "en"
    payment = donation.payment
    matched_minor = match_ledger.net_for_payment(session, payment.id)
    with force_locale(locale):
        return {
            "locale": locale,
            "number": donation.receipt_number,
            "date": long_date(payment.succeeded_at or donation.created_at, locale),
            "name": donation.donor_name,
            "email": donation.email,
            "title": appeals.text_for(session, donation.appeal, locale).title,
            "amount": donation.amount.format(locale),
            "method": str(payment_method(donation)),
            # matching is in the appeal's currency (a pool matches in its own)
            "matched": Money(matched_minor, donation.appeal.currency).format(locale)
            if matched_minor > 0 else "",
            "counted": conversion_note(donation, locale),
            "note": str(refund_note(donation, locale)),
            "reference": donation.public_id[:10],
        }


def render_receipt(facts: dict, org: Organisation) -> bytes:
    """The receipt as PDF bytes, from `receipt_facts`."""
    locale = facts["locale"]
    number = receipt_numbers.formatted(facts["number"], org.receipt_prefix)
    with force_locale(locale):
        page = new_page(org, _("Receipt %(number)s", number=number), locale)
        page.heading(_("Donation receipt"))
        rows = [
            (_("Receipt number"), ltr(number)),
            (_("Date"), facts["date"]),
            (_("Received from"), facts["name"]),
            (_("Email"), ltr(facts["email"])),
            (_("Appeal"), facts["title"]),
            (_("Amount"), facts["amount"]),
            (_("Payment method"), facts["method"]),
        ]
        if facts.get("counted"):
            rows.append((_("Counted as"), facts["counted"]))
        if facts["matched"]:
            rows.append((_("Matching"), _("Your gift unlocked %(amount)s in matching money.",
                                          amount=facts["matched"])))
        page.facts(rows)
        if facts["note"]:
            page.text(facts["note"], bold=True, space_after=4)
        page.text(_("No goods or services were received in exchange for this gift."))
        page.text(_("Thank you for your support."))
        page.rule(8)
        page.text(_("Keep this receipt for your records. Reference: %(reference)s",
                    reference=ltr(facts["reference"])), size=8.5, muted=True)
        return page.output()


def filename(facts: dict, org: Organisation) -> str:
    number = receipt_numbers.formatted(facts["number"], org.receipt_prefix)
    return f"receipt-{number or facts['reference']}.pdf"
