"""What donors are told about matching, wherever a page shows it: who
matches a gift and how much (the preview message), the appeal page's match
box, and whether and how a donor may pledge to match friends. The matching
pages, the gift flow and the appeal page all import from here, never from
each other's views."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import db
from ..limits import current as current_limits
from ..matching import figures as match_figures
from ..matching import rules
from ..matching import services as matching
from ..matching.models import PLEDGE_ACTIVE, MatchPledge, MatchPool
from ..money import Money, MoneyError
from ..payments import states
from ..payments.models import utcnow
from ..rates import services as rates
from .forms import PledgeForm, page_locale
from .matching_hooks import gift_facts
from .services import net_in_appeal_currency


def _money(minor, currency):
    return Money(int(minor), currency).format(str(get_locale()))


def source_name(step_or_source) -> str:
    """Who gives the match, as a donor reads it."""
    source = getattr(step_or_source, "source", step_or_source)
    if source.kind == "pledge":
        pledge = db.session.get(MatchPledge, source.id)
        return pledge.shown_name if pledge else _("a friend")
    pool = db.session.get(MatchPool, source.id)
    return match_figures.sponsor_label(pool) or _("an anonymous sponsor") if pool else ""


def any_match_left(appeal_id: int, pledge_code: str | None = None) -> bool:
    now = utcnow()
    if any(p.remaining_minor > 0 and rules.window_open(p.starts_at, p.ends_at, now)
           for p in matching.pools_for(db.session, appeal_id)):
        return True
    pledge = matching.pledge_by_code(db.session, pledge_code)
    return bool(pledge and pledge.appeal_id == appeal_id and pledge.status == PLEDGE_ACTIVE
                and pledge.remaining_minor > 0)


def has_matching(appeal_id: int, pledge_code: str | None = None) -> bool:
    return bool(matching.pools_for(db.session, appeal_id)) or \
        matching.pledge_by_code(db.session, pledge_code) is not None


def preview_message(appeal_id: int, preview: match_figures.Preview,
                    pledge_code: str | None = None) -> str:
    """What a donor is told before paying. Empty when the appeal has no matching."""
    gift = _money(preview.gift_minor, preview.currency)
    if preview.matched_minor:
        if len(preview.steps) == 1:
            who = source_name(preview.steps[0])
        else:
            who = ", ".join(f"{source_name(s)} ({_money(s.take_minor, preview.currency)})"
                            for s in preview.steps)
        if preview.fully_matched:
            return _("Your gift of %(gift)s will be matched with %(match)s by %(who)s.",
                     gift=gift, match=_money(preview.matched_minor, preview.currency), who=who)
        return _("Matching money is running out: your gift of %(gift)s will be matched "
                 "with %(match)s by %(who)s, not in full.",
                 gift=gift, match=_money(preview.matched_minor, preview.currency), who=who)
    if not has_matching(appeal_id, pledge_code):
        return ""
    if any_match_left(appeal_id, pledge_code):
        return _("This gift does not qualify for matching: see the matching rules.")
    return _("All the matching money has been used, so this gift will not be matched.")


def appeal_preview(appeal, amount: Money, pledge_code: str | None, email: str = ""):
    """What `amount` would unlock; a gift in another currency is matched on
    its amount converted at today's rate (RateMissing when there is none)."""
    if amount.currency != appeal.currency:
        found = rates.quote(db.session, amount.currency, appeal.currency)
        if found is None:
            raise RateMissing(amount.currency)
        amount = Money(found.convert(amount.minor), appeal.currency)
    gift = rules.Gift(amount_minor=amount.minor, currency=amount.currency, at=utcnow(),
                      email=email, is_first_time=True)
    return match_figures.preview(db.session, appeal_id=appeal.id, gift=gift,
                                 pledge_code=pledge_code)


def donation_preview(donation):
    """The preview for a gift not paid yet, with what we know of its donor."""
    # A gift in another currency is matched on its converted amount (quoted).
    gift = gift_facts(db.session, donation,
                      net_in_appeal_currency(donation, donation.amount_minor), utcnow(),
                      donation.appeal.currency)
    return match_figures.preview(db.session, appeal_id=donation.appeal_id, gift=gift,
                                 pledge_code=donation.source or None)


class RateMissing(MoneyError):
    """No rate to convert a previewed amount with: no preview, never a guess."""


def typed_or_preset(appeal, text: str, currency: str | None = None) -> Money:
    """An amount from the appeal page, in `currency` (one the appeal takes;
    else its own): one of its preset figures as we wrote it ('25.00'), or
    what the donor typed, read in the page's locale."""
    code = currency if currency in appeal.accepted_currencies else appeal.currency
    if text in {str(m.as_decimal()) for m in appeal.suggested_in(code)}:
        return Money.parse(text, code, None)
    return Money.parse(text, code, page_locale())


def online_max_major() -> int:
    """DONATION_MAX_MAJOR, never above the app's ceiling for any amount."""
    return min(current_app.config["DONATION_MAX_MAJOR"], current_limits().max_amount_major)


def pledge_form(donation, **kwargs):
    cfg = current_app.config
    # A pledge matches friends' gifts, counted in the appeal's currency.
    return PledgeForm(currency=donation.appeal.currency, min_major=cfg["DONATION_MIN_MAJOR"],
                      max_major=online_max_major(), **kwargs)


def can_pledge(donation) -> bool:
    return (donation.payment.status in states.COUNTED and donation.appeal.accepts_gifts()
            and not matching.funds_a_pledge(db.session, donation.payment_id))


def appeal_match_box(appeal, ref: str | None, amount_text: str,
                     currency: str | None = None) -> dict | None:
    """What the appeal page shows about matching: the open pools, the friend
    whose link brought the donor, and the preview for the chosen amount."""
    now = utcnow()
    pools = [p for p in matching.pools_for(db.session, appeal.id)
             if rules.window_open(p.starts_at, p.ends_at, now)]
    pledge = matching.pledge_by_code(db.session, ref)
    if pledge is not None and (pledge.appeal_id != appeal.id or pledge.status != PLEDGE_ACTIVE):
        pledge = None
    if not pools and pledge is None:
        return None
    message = ""
    try:
        amount = typed_or_preset(appeal, amount_text, currency)
        if amount.minor > 0:
            message = preview_message(appeal.id, appeal_preview(appeal, amount, ref), ref)
    except MoneyError:  # not an amount, or no rate: no preview
        pass
    return {"pools": pools, "pledge": pledge, "message": message,
            "preview_url": url_for("matching.preview", slug=appeal.slug)}
