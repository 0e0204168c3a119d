"""The appeal page as every view renders it: the goal progress (from the
public cache, fundraiser/cache.py) and the page itself, with its gift form and match box. The appeal
view shows it; the give view re-renders it with the form's errors."""

from decimal import ROUND_HALF_EVEN, Decimal

from flask import current_app, render_template, request
from flask_babel import get_locale

from ..cache import appeal_scope
from ..donations import card_checks
from ..donations import services as donations
from ..donations.match_presenters import appeal_match_box
from ..donations.presenters import currency_options, donation_form
from ..extensions import db
from ..matching import figures as match_figures
from ..money import Money
from ..rates import services as rates
from . import services, signatures


def progress(appeal):
    """Public goal progress, from the public cache (see fundraiser/cache.py)."""
    def compute():
        matched = match_figures.matched_minor(db.session, appeal)
        return donations.progress_for(db.session, appeal, matched_minor=matched)

    return current_app.extensions["fundraiser.public_cache"].get_or_set(
        f"progress:{appeal.id}", compute, appeal_scope(appeal.slug))


def about_figure(appeal):
    """The total in the appeal's second currency, at today's rates and
    rounded to three significant figures ("about $12,400"); None when the
    appeal shows none or a rate is missing. From the public cache."""
    if not appeal.second_currency:
        return None
    total = progress(appeal).total_minor
    if total <= 0:  # "about ₪0" says nothing
        return None

    def compute():
        found = rates.quote(db.session, appeal.currency, appeal.second_currency)
        return None if found is None else about(found.convert(total),
                                                appeal.second_currency)

    return current_app.extensions["fundraiser.public_cache"].get_or_set(
        f"about:{appeal.id}:{appeal.second_currency}:{total}", compute,
        appeal_scope(appeal.slug))


def about(minor: int, currency: str) -> Money:
    """`minor` to three significant figures, in whole major units."""
    major = Money(minor, currency).as_decimal().to_integral_value(rounding=ROUND_HALF_EVEN)
    if major >= 1000:
        step = Decimal(10) ** (len(str(int(major))) - 3)
        major = (major / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step
    return Money.from_major(int(major), currency)


def signature_figures(appeal) -> dict | None:
    """`{"count", "goal"}` of confirmed signatures, from the public cache;
    None when the appeal does not ask for signatures."""
    if not appeal.asks_signatures:
        return None
    return current_app.extensions["fundraiser.public_cache"].get_or_set(
        f"signatures:{appeal.id}", lambda: signatures.figures(db.session, appeal),
        appeal_scope(appeal.slug))


def render_appeal(appeal, form=None):
    if form is None:
        form = donation_form(appeal, formdata=None,
                             currency=request.args.get("currency", "")[:3].upper() or None)
        preset = request.args.get("amount", "")
        if preset.replace(".", "", 1).isdigit() and len(preset) <= 12:
            form.amount.data, form.other_amount.data = "other", preset
        form.source.data = request.args.get("ref", "")[:64]
    amount_text = (form.other_amount.data if form.amount.data == "other"
                   else form.amount.data) or ""
    suggested = appeal.suggested_in(form.chosen)
    if not amount_text and len(suggested) >= 2:  # the page pre-selects the second
        amount_text = str(suggested[1].as_decimal())
    match_box = appeal_match_box(appeal, form.source.data or None, amount_text, form.chosen)
    paused = card_checks.paused(appeal.id) and card_checks.paused_message()
    return render_template(
        "appeals/show.html", appeal=appeal, form=form, progress=progress(appeal),
        cards_paused=paused, signatures=signature_figures(appeal),
        text=services.text_for(db.session, appeal, str(get_locale())),
        supporters=donations.recent_supporters(db.session, appeal.id), match_box=match_box,
        suggested=suggested, currencies=currency_options(appeal, form),
        about=about_figure(appeal),
    )
