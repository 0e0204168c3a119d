"""Appeals: writing them and rendering their stories safely."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select

from ..donations.models import Donation
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import LimitError, Limits
from ..matching.models import MatchPool
from ..media.models import StoredImage
from ..money import Money
from ..payments.models import utcnow
from ..text import has_control_characters
from .models import (
    DRAFT,
    PUBLISHED,
    RTL_LANGUAGES,
    Appeal,
    AppealCurrency,
    AppealTranslation,
    Cosigner,
)

# Raw HTML in Markdown is off; whatever the renderer still emits is cleaned.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
    "hr", "code", "pre",
}
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 80  # the column's length


def is_slug(slug) -> bool:
    """Could this be an appeal's slug? (Lowercase letters, digits, single
    dashes; at most SLUG_MAX characters.)"""
    return isinstance(slug, str) and len(slug) <= SLUG_MAX and bool(_SLUG.fullmatch(slug))


def page_cache_key(slug: str, locale: str, address_language: str | None) -> str:
    """The public cache's key for the shared appeal page (the view's and the
    fast path's): one copy per locale and per address prefix (/fr/…). Not
    "page:…", the key of copies that held a placeholder token."""
    return f"appeal-page:{slug}:{locale}:{address_language or ''}"


SIGNATURE_GOAL_MAX = 100_000_000


class AppealError(ValueError):
    pass


def render_markdown(text: str) -> str:
    html = _md.render(text or "")
    return nh3.clean(
        html, tags=_ALLOWED_TAGS, attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
    )


def currency_locked(session, appeal: Appeal) -> bool:
    """Once an appeal has a gift or a match pool its currency is fixed: the
    stored amounts are in it, and a new currency would misread every one."""
    if appeal.id is None:
        return False
    return any(session.scalar(select(model.id).where(model.appeal_id == appeal.id).limit(1))
               is not None for model in (Donation, MatchPool))


def save_appeal(session, *, slug: str, title: str, goal: Money, story_md: str = "",
                summary: str = "", language: str = "en", thank_you_md: str = "",
                hero_image: StoredImage | None = None, hero_alt: str = "", hero_credit: str = "",
                suggested: list[Money] | None = None, ends_at: datetime | None = None,
                status: str = DRAFT, cosigners: list[dict] | None = None,
                limits: Limits = DEFAULT_LIMITS,
                signatures: tuple[bool, int | None] | None = None) -> Appeal:
    """Create an appeal or update the one with this slug. The goal and the
    suggested amounts are in a currency the app knows, within its limits."""
    if not is_slug(slug):
        raise AppealError("slug must be lowercase letters, digits and dashes")
    if not title.strip():
        raise AppealError("title is required")
    try:
        limits.check_currency(goal.currency)
    except LimitError as exc:
        raise AppealError("unknown currency") from exc
    if goal.minor <= 0:
        raise AppealError("goal must be positive")
    if goal.minor > limits.largest(goal.currency).minor:
        raise AppealError("goal too large")
    for amount in suggested or []:
        if amount.currency != goal.currency or amount.minor <= 0:
            raise AppealError("suggested amounts must be positive, in the goal's currency")
        if amount.minor > limits.largest(goal.currency).minor:
            raise AppealError("suggested amount too large")
    appeal = session.scalar(select(Appeal).where(Appeal.slug == slug))
    if appeal is None:
        appeal = Appeal(slug=slug)
        session.add(appeal)
    elif appeal.currency != goal.currency and currency_locked(session, appeal):
        raise AppealError("currency locked")
    appeal.title = title.strip()
    appeal.summary = summary.strip()
    appeal.language = language
    appeal.story_md = story_md
    appeal.story_html = render_markdown(story_md)
    appeal.thank_you_md = thank_you_md
    appeal.thank_you_html = render_markdown(thank_you_md)
    appeal.hero_image = hero_image
    appeal.hero_alt = hero_alt
    appeal.hero_credit = hero_credit
    appeal.goal_minor = goal.minor
    appeal.currency = goal.currency
    appeal.suggested_amounts = ",".join(str(m.minor) for m in suggested or [])
    appeal.ends_at = ends_at
    set_status(appeal, status)
    if signatures is not None:
        asks, goal_count = signatures
        if goal_count is not None and not 0 < goal_count <= SIGNATURE_GOAL_MAX:
            raise AppealError("signature goal out of range")
        appeal.asks_signatures, appeal.signature_goal = bool(asks), goal_count
    if cosigners is not None:
        appeal.cosigners = [
            Cosigner(position=i, name=c["name"], country=c.get("country", ""),
                     url=c.get("url", ""), logo=c.get("logo"))
            for i, c in enumerate(cosigners)
        ]
    session.flush()
    return appeal


MAX_OTHER_CURRENCIES = 8


def set_currencies(session, appeal: Appeal, others: list[tuple[str, list[Money]]],
                   second_currency: str | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> Appeal:
    """The other currencies an appeal takes, in order, each with its own
    suggested amounts, and the currency shown beside its total (or None).
    Gifts already made keep their currency and the rate stored with them."""
    if len(others) > MAX_OTHER_CURRENCIES:
        raise AppealError("too many currencies")
    seen = set()
    for code, amounts in others:
        try:
            limits.check_currency(code)
        except LimitError as exc:
            raise AppealError("unknown currency") from exc
        if code == appeal.currency or code in seen:
            raise AppealError("currency listed twice")
        seen.add(code)
        if len(amounts) > 6:
            raise AppealError("too many suggested amounts")
        for amount in amounts:
            if amount.currency != code or amount.minor <= 0:
                raise AppealError("other amounts must be positive, in their currency")
            if amount.minor > limits.largest(code).minor:
                raise AppealError("other amount too large")
    if second_currency is not None:
        try:
            limits.check_currency(second_currency)
        except LimitError as exc:
            raise AppealError("unknown currency") from exc
        if second_currency == appeal.currency:
            second_currency = None
    # Rows kept are changed in place (a delete and insert of the same
    # currency in one flush would meet the unique index in the wrong order).
    existing = {row.currency: row for row in appeal.other_currencies}
    rows = []
    for i, (code, amounts) in enumerate(others):
        row = existing.get(code) or AppealCurrency(currency=code)
        row.position, row.suggested_amounts = i, ",".join(str(m.minor) for m in amounts)
        rows.append(row)
    appeal.other_currencies = rows
    appeal.second_currency = second_currency
    session.flush()
    return appeal


def set_status(appeal: Appeal, status: str) -> None:
    if status not in ("draft", "published", "closed"):
        raise AppealError(f"unknown status {status!r}")
    if status == PUBLISHED and appeal.published_at is None:
        appeal.published_at = utcnow()
    appeal.status = status


def published(session) -> list[Appeal]:
    return list(session.scalars(
        select(Appeal).where(Appeal.status == PUBLISHED)
        .order_by(Appeal.published_at.desc(), Appeal.id.desc())
    ))


def get_public(session, slug: str) -> Appeal | None:
    """A published or closed appeal; drafts are not public."""
    if not is_slug(slug):
        return None
    return session.scalar(
        select(Appeal).where(Appeal.slug == slug, Appeal.status != DRAFT)
    )


# -- translations -------------------------------------------------------------

TITLE_MAX, SUMMARY_MAX, STORY_MAX, THANK_YOU_MAX = 200, 300, 50_000, 10_000


@dataclass(frozen=True)
class AppealText:
    """The words a visitor reads: the appeal's own, or a translation."""

    title: str
    summary: str
    story_html: str
    thank_you_html: str
    language: str
    is_translation: bool = False

    @property
    def is_rtl(self) -> bool:
        return self.language in RTL_LANGUAGES

    @property
    def dir(self) -> str:
        return "rtl" if self.is_rtl else "ltr"


def original_text(appeal: Appeal) -> AppealText:
    return AppealText(appeal.title, appeal.summary, appeal.story_html, appeal.thank_you_html,
                      appeal.language)


def _translated_text(t: AppealTranslation) -> AppealText:
    return AppealText(t.title, t.summary, t.story_html, t.thank_you_html, t.locale, True)


def translation_for(session, appeal_id: int, locale: str) -> AppealTranslation | None:
    return session.scalar(select(AppealTranslation).where(
        AppealTranslation.appeal_id == appeal_id, AppealTranslation.locale == locale))


def texts_for(session, appeals: list[Appeal], locale: str) -> dict[int, AppealText]:
    """{appeal id: text} for a visitor reading in `locale`: the translation
    into that locale where one exists, else the original. One query."""
    wanted = [a.id for a in appeals if a.language != locale]
    found = {}
    if wanted:
        found = {t.appeal_id: t for t in session.scalars(select(AppealTranslation).where(
            AppealTranslation.appeal_id.in_(wanted), AppealTranslation.locale == locale))}
    return {a.id: _translated_text(found[a.id]) if a.id in found else original_text(a)
            for a in appeals}


def text_for(session, appeal: Appeal, locale: str) -> AppealText:
    return texts_for(session, [appeal], locale)[appeal.id]


def save_translation(session, appeal: Appeal, locale: str, *, languages, title: str,
                     summary: str = "", story_md: str = "",
                     thank_you_md: str = "") -> tuple[AppealTranslation, bool]:
    """Create or replace the appeal's translation into `locale` (one of
    `languages`, not the appeal's own). Markdown is rendered and sanitised
    here, like the original's. Returns (translation, created)."""
    if locale not in languages:
        raise AppealError("unknown locale")
    if locale == appeal.language:
        raise AppealError("the appeal is already in this language")
    title, summary = (title or "").strip(), (summary or "").strip()
    story_md, thank_you_md = story_md or "", thank_you_md or ""
    if not title:
        raise AppealError("title is required")
    if (len(title) > TITLE_MAX or len(summary) > SUMMARY_MAX or len(story_md) > STORY_MAX
            or len(thank_you_md) > THANK_YOU_MAX):
        raise AppealError("too long")
    translation = translation_for(session, appeal.id, locale)
    created = translation is None
    if created:
        translation = AppealTranslation(appeal_id=appeal.id, locale=locale)
        session.add(translation)
    translation.title = title
    translation.summary = summary
    translation.story_md = story_md
    translation.story_html = render_markdown(story_md)
    translation.thank_you_md = thank_you_md
    translation.thank_you_html = render_markdown(thank_you_md)
    translation.updated_at = utcnow()
    session.flush()
    return translation, created


def delete_translation(session, appeal: Appeal, locale: str) -> bool:
    """Remove a translation; visitors in that locale read the original again."""
    translation = translation_for(session, appeal.id, locale)
    if translation is None:
        return False
    session.delete(translation)
    session.flush()
    return True


# -- co-signers ---------------------------------------------------------------

COSIGNERS_MAX, NAME_MAX, COUNTRY_MAX, URL_MAX = 500, 200, 80, 500
_KEEP = object()    # "leave the logo as it is"


def check_cosigner(name: str, country: str = "", url: str = "") -> dict:
    """A co-signer's fields, trimmed, or AppealError naming what is wrong.
    Bidirectional-override characters are refused with the control characters:
    in a list of names they could make one name look like another."""
    name, country, url = (name or "").strip(), (country or "").strip(), (url or "").strip()
    if not name:
        raise AppealError("co-signer name is required")
    if any(has_control_characters(x) for x in (name, country, url)):
        raise AppealError("control characters")
    if len(name) > NAME_MAX or len(country) > COUNTRY_MAX or len(url) > URL_MAX:
        raise AppealError("too long")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
            raise AppealError("bad web address")
    return {"name": name, "country": country, "url": url}


def parse_cosigner_lines(text: str) -> list[dict]:
    """"name | country | web address", one co-signer a line; blank lines are
    skipped. AppealError's second argument is the (1-based) line at fault."""
    found = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) > 3:
            raise AppealError("too many parts", number)
        try:
            found.append(check_cosigner(*parts))
        except AppealError as exc:
            raise AppealError(exc.args[0], number) from None
    return found


def _locked_cosigners(session, appeal: Appeal) -> list[Cosigner]:
    """The appeal's co-signers in order, with the appeal row locked so that two
    editors' changes to the order follow one another."""
    session.execute(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())
    session.expire(appeal, ["cosigners"])
    return list(appeal.cosigners)


def _renumber(items: list[Cosigner]) -> None:
    for position, cosigner in enumerate(items):
        cosigner.position = position


def add_cosigners(session, appeal: Appeal, items: list[dict],
                  logo: StoredImage | None = None) -> list[Cosigner]:
    """Append co-signers (checked with check_cosigner) after the last one."""
    current = _locked_cosigners(session, appeal)
    if not items:
        raise AppealError("co-signer name is required")
    if len(current) + len(items) > COSIGNERS_MAX:
        raise AppealError("too many co-signers")
    added = [Cosigner(name=c["name"], country=c["country"], url=c["url"], logo=logo)
             for c in items]
    appeal.cosigners = current + added
    _renumber(appeal.cosigners)
    session.flush()
    return added


def update_cosigner(session, cosigner: Cosigner, fields: dict, logo=_KEEP) -> list[str]:
    """Change a co-signer; ``logo`` is an image, None to remove it, or left out
    to keep it. Returns the names of the fields that changed."""
    changed = [k for k in ("name", "country", "url") if getattr(cosigner, k) != fields[k]]
    for key in changed:
        setattr(cosigner, key, fields[key])
    if logo is not _KEEP and logo is not cosigner.logo:
        cosigner.logo = logo
        changed.append("logo")
    session.flush()
    return changed


def move_cosigner(session, appeal: Appeal, cosigner_id: int, position: int) -> int | None:
    """Put a co-signer at ``position`` (1-based, clamped to the list); its old
    position (1-based), or None when it is not this appeal's."""
    items = _locked_cosigners(session, appeal)
    index = next((i for i, c in enumerate(items) if c.id == cosigner_id), None)
    if index is None:
        return None
    moving = items.pop(index)
    items.insert(min(max(position, 1), len(items) + 1) - 1, moving)
    _renumber(items)
    session.flush()
    return index + 1


def remove_cosigner(session, appeal: Appeal, cosigner_id: int) -> Cosigner | None:
    items = _locked_cosigners(session, appeal)
    gone = next((c for c in items if c.id == cosigner_id), None)
    if gone is None:
        return None
    appeal.cosigners = [c for c in items if c is not gone]
    _renumber(appeal.cosigners)
    session.flush()
    return gone
