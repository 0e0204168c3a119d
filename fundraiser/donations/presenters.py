"""What the gift pages share: the gift form (shown on the appeal page,
checked by the give view), the words for a payment's status, and the
thank-you page (shown after paying, and again when a pledge form is refused)."""

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_skeleton
from babel.numbers import get_currency_symbol, get_territory_currencies
from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..extensions import db
from ..matching import ledger as match_ledger
from ..matching import services as matching
from ..payments import states
from ..rates import services as rates
from ..referrals import services as referrals
from ..referrals.share import share_box
from . import match_presenters, subscriptions
from .forms import DonationForm


def N_(text):  # marks a message for the catalogue; translated where shown
    return text


# Messages that come from the payment processor, so the catalogue has them.
GATEWAY_MESSAGES = (
    N_("Your card was declined."),
    N_("The payment was not completed."),
    N_("The payment service never received this payment."),
    N_("The payment service did not answer. Nothing was charged; please try again."),
)


def available_currencies(appeal) -> list[str]:
    """The appeal's currencies a donor can choose now: its own, and each
    other one it takes that has an exchange rate (never a guess)."""
    if len(appeal.accepted_currencies) == 1:
        return [appeal.currency]
    found = rates.convertible(db.session, appeal.accepted_currencies, appeal.currency)
    return [code for code in appeal.accepted_currencies if code in found]


def locale_currency(locale: str) -> str | None:
    """The currency of the page locale's most likely country ('he' → ILS)."""
    try:
        full = Locale.parse(get_global("likely_subtags").get(locale, locale))
        return (get_territory_currencies(full.territory) or [None])[0] \
            if full.territory else None
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def donation_form(appeal, currency: str | None = None, **kwargs):
    """The gift form; reads the request's form data unless formdata=None.
    A fresh form is in `currency` when the appeal can take it, else in the
    page locale's currency when it can, else in the appeal's own."""
    cfg = current_app.config
    available = available_currencies(appeal)
    form = DonationForm(appeal=appeal, min_major=cfg["DONATION_MIN_MAJOR"],
                        max_major=match_presenters.online_max_major(),
                        available=available, **kwargs)
    if kwargs.get("formdata", True) is None:
        local = locale_currency(str(get_locale() or "en"))
        form.currency.data = next((c for c in (currency, local) if c in available),
                                  appeal.currency)
    return form


def currency_options(appeal, form) -> list[dict]:
    """The currency picker: every currency the appeal takes, those without a
    rate now shown but not choosable, in the page's language."""
    locale = str(get_locale() or "en")
    names = Locale.parse(locale).currencies
    symbol = get_currency_symbol
    return [{"code": code, "label": f"{names.get(code, code)} ({symbol(code, locale)})",
             "available": code in form.available, "selected": code == form.chosen}
            for code in appeal.accepted_currencies]


def _share(donation, text, make_link: bool) -> dict | None:
    """The donor's share box, once the gift went through. `make_link`: make
    their link if they have none yet (the caller commits)."""
    if donation.payment.status not in states.COUNTED or donation.erased_at is not None:
        return None
    if make_link:
        link = referrals.person_link(db.session, donation.appeal_id, donation.email,
                                     donation_id=donation.id)
    else:
        link = referrals.existing_person_link(db.session, donation.appeal_id, donation.email)
    return link and share_box(link.code, text.title, str(get_locale()))


def render_thanks(donation, pledge_form=None, make_link=False):
    payment = donation.payment
    match = {"matched_minor": match_ledger.net_for_payment(db.session, payment.id),
             "preview": "", "pledge": None, "funded_pledge": None, "form": None}
    funded = matching.pledge_funded_by(db.session, payment.id)
    if funded is not None:
        match["funded_pledge"] = funded
    elif payment.status in states.PENDING:
        match["preview"] = match_presenters.preview_message(
            donation.appeal_id, match_presenters.donation_preview(donation),
            donation.source or None)
    if match_presenters.can_pledge(donation):
        match["form"] = pledge_form or match_presenters.pledge_form(donation, formdata=None)
    match["has_matching"] = match_presenters.has_matching(donation.appeal_id,
                                                          donation.source or None)
    text = appeals.text_for(db.session, donation.appeal, str(get_locale()))
    return render_template("donations/thanks.html", donation=donation, appeal=donation.appeal,
                           text=text, payment=payment, message=status_message(payment),
                           match=match, share=_share(donation, text, make_link),
                           interval=recurring_interval(donation))


def status_message(payment) -> str:
    s = payment.status
    if s in states.COUNTED:
        return _("Your gift has been received. Thank you!")
    if s == states.FAILED:
        return payment.failure_message and _("Your payment did not go through: %(reason)s",
                                             reason=_(payment.failure_message)) \
            or _("Your payment did not go through.")
    if s == states.REQUIRES_ACTION:
        return _("Your bank asked you to confirm this payment. It is not complete yet.")
    if s in (states.PROCESSING, states.CREATED):
        return _("We are confirming your payment with the bank. This page updates itself.")
    if s == states.CANCELED:
        return _("This payment was cancelled. Nothing was charged.")
    return _("This gift has been refunded.")


def _day_of_month(day: int, locale: str) -> str:
    if not locale.startswith("en"):
        return str(day)
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def recurring_interval(donation) -> str | None:
    """"month" or "year" for an instalment of a recurring gift, else None."""
    if donation.subscription_id is None:
        return None
    return subscriptions.interval_of(db.session, donation.subscription_id)


def monthly_terms(donation) -> str:
    """What a monthly (or yearly) gift charges, and when, in plain words; ""
    for a one-time gift. Stripe bills again on the day of the month it
    started (the last day in shorter months), or on the same date each year."""
    interval = recurring_interval(donation)
    if interval is None:
        return ""
    from ..payments.models import utcnow

    locale = str(get_locale() or "en")
    amount = donation.amount.format(locale)
    today = utcnow()
    if interval == "year":
        return _("%(amount)s now and again on %(date)s every year until you cancel.",
                 amount=amount,
                 date=format_skeleton("MMMMd", today.date(), locale=locale))
    return _("%(amount)s now and on the %(day)s of every month until you cancel.",
             amount=amount, day=_day_of_month(today.day, locale))
