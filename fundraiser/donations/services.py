"""Gifts: starting one, counting them, and what happens when one succeeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, case, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..appeals.models import Appeal
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from ..matching import ledger as match_ledger
from ..matching.models import MatchPledge
from ..money import Money
from ..payments import services as payments
from ..payments import states
from ..payments.models import Payment, utcnow
from ..rates import services as rates
from ..rates.convert import share_of
from ..text import has_control_characters, without_control_characters
from .models import Donation


class AppealClosed(Exception):
    pass


class CurrencyRefused(ValueError):
    """A gift in a currency the appeal does not take (str() == NOT_ACCEPTED),
    or one it takes but has no exchange rate for just now (NO_RATE)."""


NOT_ACCEPTED, NO_RATE = "not accepted", "no rate"


def gift_quote(session, appeal: Appeal, currency: str) -> rates.Quote:
    """How a gift in `currency` counts in the appeal's currency today, or
    CurrencyRefused: never a guessed rate."""
    # The appeal's own currency needs neither its list (a query) nor a rate.
    if currency != appeal.currency and currency not in appeal.accepted_currencies:
        raise CurrencyRefused(NOT_ACCEPTED)
    found = rates.quote(session, currency, appeal.currency)
    if found is None:
        raise CurrencyRefused(NO_RATE)
    return found


@dataclass(frozen=True)
class GiftOf:
    """A payment's gift, with what its listeners need of the appeal."""

    donation: Row  # the gift's row: a Donation's columns as attributes, read only
    slug: str
    currency: str  # the appeal's
    funds_pledge: bool  # the pay-now money of a friend's pledge (it activates the pledge)

    @classmethod
    def from_row(cls, row: Row) -> GiftOf:
        """From a row of `_GIFT_OF` (or of a query with its columns first)."""
        return cls(row, row.appeal_slug, row.appeal_currency, row.funds_pledge)


# Built once (a statement reused keeps its compiled form and cache key). On
# the tables: the listeners only read the gift, and loading a Donation
# instance (identity map, state) cost more than the query did.
_DONATIONS, _APPEALS, _PLEDGES = Donation.__table__, Appeal.__table__, MatchPledge.__table__
_GIFT_OF = (select(*_DONATIONS.c, _APPEALS.c.slug.label("appeal_slug"),
                   _APPEALS.c.currency.label("appeal_currency"),
                   select(_PLEDGES.c.id).where(
                       _PLEDGES.c.funding_payment_id == bindparam("payment_id"))
                   .exists().label("funds_pledge"))
            .join(_APPEALS, _APPEALS.c.id == _DONATIONS.c.appeal_id)
            .where(_DONATIONS.c.payment_id == bindparam("payment_id")))


# The gift and its appeal's pools in the appeal's currency (none: one row,
# its pool columns NULL), with what the payment holds matched already: what a
# success needs before it draws, in one round trip instead of two.
_POOL_COLUMNS = [c.label(f"pool_{c.name}") for c in match_ledger.POOL_TABLE.c]
_GIFT_AND_POOLS = (
    _GIFT_OF.add_columns(*_POOL_COLUMNS, match_ledger.matched_already())
    .outerjoin(match_ledger.POOL_TABLE,
               (match_ledger.POOL_TABLE.c.appeal_id == _DONATIONS.c.appeal_id)
               & (match_ledger.POOL_TABLE.c.currency == _APPEALS.c.currency))
    .order_by(match_ledger.POOL_TABLE.c.id))
_FIRST_POOL_COLUMN = len(_GIFT_OF.selected_columns)


def _gift_cache(session) -> tuple[Session, dict]:
    """This transaction's answers of `gift_of`, by payment id."""
    own = session.registry() if hasattr(session, "registry") else session  # scoped or not
    tx, known = own.info.get("fundraiser.gift_of", (None, {}))
    if tx is None or tx is not own.get_transaction():
        known = {}
        own.info["fundraiser.gift_of"] = (own.get_transaction(), known)
    return own, known


def gift_of(session, payment_id: int) -> GiftOf | None:
    """The gift whose payment this is (None for a payment without one: a
    pledge's own money). One query per payment and transaction, however many
    of a payment's listeners ask (matching, receipts, monthly gifts, the
    public cache); the answer is forgotten when the transaction ends."""
    own, known = _gift_cache(session)
    if payment_id not in known:
        row = session.execute(_GIFT_OF, {"payment_id": payment_id}).first()
        known[payment_id] = None if row is None else GiftOf.from_row(row)
        # (the query began the transaction when none was open)
        own.info["fundraiser.gift_of"] = (own.get_transaction(), known)
    return known[payment_id]


def gift_and_pools(session, payment_id: int) -> tuple[GiftOf | None, list, int | None]:
    """`gift_of`, with the appeal's pools in its currency (ledger.PoolRow,
    by id) and what the payment holds matched already, in one query; the
    gift is remembered as `gift_of` remembers it. ([], None) beside a
    payment without a gift."""
    rows = session.execute(_GIFT_AND_POOLS, {"payment_id": payment_id}).all()
    known = _gift_cache(session)[1]  # (after the query, which began the transaction)
    if not rows:
        known[payment_id] = None
        return None, [], None
    first, end = rows[0], _FIRST_POOL_COLUMN + len(_POOL_COLUMNS)
    gift = known[payment_id] = GiftOf.from_row(first)
    pools = [match_ledger.PoolRow._make(row[_FIRST_POOL_COLUMN:end]) for row in rows
             if row[_FIRST_POOL_COLUMN] is not None]
    return gift, pools, int(first.matched_already)


def fix_rate(session, payment_id: int) -> Row | None:
    """The gift succeeded: its rate and converted amount are fixed now, at
    today's rates, once (a later event or rate change never moves them). If
    the table has lost the rate since the gift started, the quote it started
    with stands — a real rate, never a guess. Returns the gift's row (as
    `gift_of` gives it), with the figures as fixed."""
    gift = gift_of(session, payment_id)
    if gift is None:
        return None
    donation = gift.donation
    if donation.rate_fixed_at is not None or donation.currency == gift.currency:
        return donation
    values = {"rate_fixed_at": utcnow()}
    found = rates.quote(session, donation.currency, gift.currency)
    if found is not None:
        values.update(rate=str(found.rate), rate_date=found.rate_date,
                      converted_minor=found.convert(donation.amount_minor))
    session.execute(update(Donation).where(Donation.id == donation.id,
                                           Donation.rate_fixed_at.is_(None))
                    .values(**values).execution_options(synchronize_session=False))
    held = session.identity_map.get(identity_key(Donation, donation.id))
    if held is not None:  # a Donation this session holds reads the fixed row next
        session.expire(held)
    _gift_cache(session)[1].pop(payment_id, None)  # and so does gift_of
    return gift_of(session, payment_id).donation


def net_in_appeal_currency(donation: Donation | Row, net_minor: int,
                           appeal_currency: str | None = None) -> int:
    """A gift's net amount (after refunds) as it counts for its appeal
    (`appeal_currency`: the appeal's, when the caller knows it)."""
    if donation.converted_minor is None \
            or donation.currency == (appeal_currency or donation.appeal.currency):
        return net_minor
    return share_of(donation.converted_minor, donation.amount_minor, net_minor)


class DonorTextError(ValueError):
    """A name or comment the public would see holds control characters."""


def check_donor_text(*names: str, comment: str = "") -> None:
    if any(has_control_characters(n) for n in names) \
            or has_control_characters(comment, multiline=True):
        raise DonorTextError("control characters")


def start_donation(session, appeal: Appeal, *, amount: Money, name: str, email: str,
                   display_name: str = "", anonymous: bool = False, comment: str = "",
                   consent: bool = False, locale: str = "en", source: str = "",
                   limits: Limits = DEFAULT_LIMITS,
                   referral_link_id: int | None = None) -> Donation:
    """Write the gift and its payment in state `created`. Nothing is charged
    yet. The amount is within `limits`; names and comment carry no control
    characters (LimitError, DonorTextError: the form checks both first).
    `referral_link_id`: the share link the donor came through."""
    if not appeal.accepts_gifts():
        raise AppealClosed(appeal.slug)
    found = gift_quote(session, appeal, amount.currency)
    limits.check(amount)
    check_donor_text(name, display_name, email, comment=comment)
    source = without_control_characters(source)
    donation = Donation(
        appeal_id=appeal.id,
        payment=payments.create_payment(session, amount.minor, amount.currency, flush=False),
        amount_minor=amount.minor,
        currency=amount.currency, donor_name=name.strip(), email=email.strip().lower(),
        display_name=display_name.strip(), is_anonymous=anonymous, comment=comment.strip(),
        consent_contact=consent, locale=locale, source=source.strip(),
        referral_link_id=referral_link_id,
    )
    if amount.currency != appeal.currency:
        donation.rate, donation.rate_date = str(found.rate), found.rate_date
        donation.converted_minor = found.convert(amount.minor)
    session.add(donation)
    session.flush()
    return donation


def by_public_id(session, public_id: str) -> Donation | None:
    if not public_id or len(public_id) > 32:
        return None
    return session.scalar(select(Donation).where(Donation.public_id == public_id))


def by_payment_id(session, payment_id: int) -> Donation | None:
    return session.scalar(select(Donation).where(Donation.payment_id == payment_id))


@dataclass(frozen=True)
class Progress:
    currency: str
    goal_minor: int
    raised_minor: int
    matched_minor: int
    donor_count: int
    donation_count: int
    ends_at: datetime | None

    @property
    def total_minor(self) -> int:
        return self.raised_minor + self.matched_minor

    @property
    def percent(self) -> int:
        """Share of the goal reached, 0–100 for the bar (the text says more)."""
        if self.goal_minor <= 0:
            return 0
        return min(100, self.total_minor * 100 // self.goal_minor)

    @property
    def raised_percent(self) -> int:
        return min(100, self.raised_minor * 100 // self.goal_minor) if self.goal_minor else 0

    @property
    def days_left(self) -> int | None:
        if self.ends_at is None:
            return None
        seconds = (self.ends_at - utcnow()).total_seconds()
        return max(0, -int(-seconds // 86400))  # ceil: "1 day left" until the end

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)


def counted_net():
    """A counted gift's net amount in its appeal's currency: its own net, or
    for a gift in another currency the converted amount stored with it, in
    proportion to what a refund left (rounded down, as share_of())."""
    net = Payment.amount_minor - Payment.refunded_minor
    return case(
        (Donation.converted_minor.is_(None), net),
        (Payment.refunded_minor == 0, Donation.converted_minor),
        else_=Donation.converted_minor * net // Payment.amount_minor)


def counted_gifts():
    """Donations whose payment counts towards a goal, with their net amount
    in the appeal's currency."""
    return (
        select(Donation.appeal_id, Donation.email, counted_net().label("net"))
        .join(Payment, Payment.id == Donation.payment_id)
        .where(Payment.status.in_(states.COUNTED))
    )


def progress_for(session, appeal: Appeal, matched_minor: int = 0) -> Progress:
    gifts = counted_gifts().where(Donation.appeal_id == appeal.id).subquery()
    count, donors, raised = session.execute(
        select(func.count(), func.count(func.distinct(gifts.c.email)),
               func.coalesce(func.sum(gifts.c.net), 0))
    ).one()
    return Progress(
        currency=appeal.currency, goal_minor=appeal.goal_minor, raised_minor=int(raised),
        matched_minor=matched_minor, donor_count=int(donors), donation_count=int(count),
        ends_at=appeal.ends_at,
    )


def recent_supporters(session, appeal_id: int, limit: int = 8) -> list[Donation]:
    return list(session.scalars(
        select(Donation).join(Payment, Payment.id == Donation.payment_id)
        .where(Donation.appeal_id == appeal_id, Payment.status.in_(states.COUNTED))
        .order_by(Payment.succeeded_at.desc(), Donation.id.desc()).limit(limit)
    ))


def claim_receipt(session, donation_id: int) -> bool:
    """True exactly once per donation: whoever gets True sends the receipt."""
    result = session.execute(
        update(Donation).where(Donation.id == donation_id, Donation.receipt_sent_at.is_(None))
        .values(receipt_sent_at=utcnow())
    )
    return result.rowcount == 1


def retry_donation(session, donation: Donation) -> Donation:
    """A failed gift is never sent again; a retry is a new gift with the same
    details, so the donor does not type them twice."""
    if donation.payment.status != states.FAILED:
        raise ValueError("only a failed gift can be retried")
    return start_donation(
        session, donation.appeal, amount=donation.amount, name=donation.donor_name,
        email=donation.email, display_name=donation.display_name,
        anonymous=donation.is_anonymous, comment=donation.comment,
        consent=donation.consent_contact, locale=donation.locale, source=donation.source,
        referral_link_id=donation.referral_link_id,
    )


def _check_pledge(amount: Money, display_name: str, limits: Limits) -> None:
    limits.check(amount)
    check_donor_text(display_name)


def start_pledge(session, origin: Donation, amount: Money, display_name: str,
                 locale: str = "en", limits: Limits = DEFAULT_LIMITS):
    """A donor whose gift succeeded pledges to match friends up to `amount`,
    given in full now: a normal gift of that amount (the card step follows)
    that activates the pledge when it succeeds. Returns (gift, pledge)."""
    from ..matching import services as matching

    _check_pledge(amount, display_name, limits)

    if origin.payment.status not in states.COUNTED:
        raise ValueError("only a donor whose gift went through can pledge")
    if matching.funds_a_pledge(session, origin.payment_id):
        raise ValueError("a pledge's own payment cannot start another pledge")
    funding = start_donation(
        session, origin.appeal, amount=amount, name=origin.donor_name, email=origin.email,
        display_name=display_name, anonymous=False, comment="",
        consent=origin.consent_contact, locale=locale, source="", limits=limits,
    )
    pledge = matching.create_pledge(
        session, appeal_id=origin.appeal_id, currency=amount.currency,
        amount_minor=amount.minor, pledger_name=display_name, pledger_email=origin.email,
        origin_payment_id=origin.payment_id, funding_payment_id=funding.payment_id,
    )
    return funding, pledge


def start_card_pledge(session, origin: Donation, amount: Money, display_name: str,
                      limits: Limits = DEFAULT_LIMITS):
    """A pledge charged later from a saved card, for exactly what friends
    unlock. Pending until the card is saved (SetupIntent)."""
    from ..matching import services as matching
    from ..matching.models import CARD_SAVED

    _check_pledge(amount, display_name, limits)
    if origin.payment.status not in states.COUNTED:
        raise ValueError("only a donor whose gift went through can pledge")
    return matching.create_pledge(
        session, appeal_id=origin.appeal_id, currency=amount.currency,
        amount_minor=amount.minor, pledger_name=display_name, pledger_email=origin.email,
        origin_payment_id=origin.payment_id, funding_payment_id=None, mode=CARD_SAVED,
    )
