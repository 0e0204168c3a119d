"""Appeals: writing them and rendering their stories safely."""

from __future__ import annotations

import re
from datetime import datetime

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select

from ..money import Money, check_currency
from ..payments.models import utcnow
from .models import DRAFT, PUBLISHED, Appeal, Cosigner

# Raw HTML in Markdown is off; whatever the renderer still emits is cleaned.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
    "hr", "code", "pre",
}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class AppealError(ValueError):
    pass


def render_markdown(text: str) -> str:
    html = _md.render(text or "")
    return nh3.clean(
        html, tags=_ALLOWED_TAGS, attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
    )


def save_appeal(session, *, slug: str, title: str, goal: Money, story_md: str = "",
                summary: str = "", language: str = "en", thank_you_md: str = "",
                hero_image: str | None = None, hero_alt: str = "", hero_credit: str = "",
                suggested: list[Money] | None = None, ends_at: datetime | None = None,
                status: str = DRAFT, cosigners: list[dict] | None = None) -> Appeal:
    """Create an appeal or update the one with this slug."""
    if not _SLUG.match(slug or "") or len(slug) > 80:
        raise AppealError("slug must be lowercase letters, digits and dashes")
    if not title.strip():
        raise AppealError("title is required")
    check_currency(goal.currency)
    if goal.minor <= 0:
        raise AppealError("goal must be positive")
    for amount in suggested or []:
        if amount.currency != goal.currency or amount.minor <= 0:
            raise AppealError("suggested amounts must be positive, in the goal's currency")
    appeal = session.scalar(select(Appeal).where(Appeal.slug == slug))
    if appeal is None:
        appeal = Appeal(slug=slug)
        session.add(appeal)
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
    if cosigners is not None:
        appeal.cosigners = [
            Cosigner(position=i, name=c["name"], country=c.get("country", ""),
                     url=c.get("url", ""))
            for i, c in enumerate(cosigners)
        ]
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
    if not _SLUG.match(slug or "") or len(slug) > 80:
        return None
    return session.scalar(
        select(Appeal).where(Appeal.slug == slug, Appeal.status != DRAFT)
    )
