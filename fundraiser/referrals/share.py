"""What a share box shows: the link in the language it was shared in, the
share addresses of a few services (plain links: no script of theirs, no
request to them until the person chooses one), and a QR code as inline SVG."""

from __future__ import annotations

from urllib.parse import quote

import segno
from flask_babel import gettext as _
from markupsafe import Markup

from ..urls import public_url


def share_link(code: str, lang: str | None = None) -> str:
    """The one place a share link's language is decided: it opens in the
    language it was shared in (a `lang` parameter on `/r/<code>`)."""
    values = {"code": code}
    if lang:
        values["lang"] = lang
    return public_url("referrals.visit", **values)


def targets(url: str, message: str, subject: str) -> list[tuple[str, str]]:
    """(service name, share address) for each service, in display order."""
    u, m = quote(url, safe=""), quote(message, safe="")
    both = quote(f"{message} {url}", safe="")
    return [
        ("Email", f"mailto:?subject={quote(subject, safe='')}&body={both}"),
        ("WhatsApp", f"https://wa.me/?text={both}"),
        ("Telegram", f"https://t.me/share/url?url={u}&text={m}"),
        ("X", f"https://x.com/intent/post?url={u}&text={m}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
    ]


def qr_svg(url: str, title: str) -> Markup:
    """The link as a QR code: an inline <svg>, made here (segno)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=4, border=2, title=title, svgclass="qr", lineclass=None, dark="#000",
        light="#fff", omitsize=True)  # a viewBox: the page sets its size
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def share_box(code: str, title: str, lang: str) -> dict:
    """Everything the share box template shows for one link."""
    url = share_link(code, lang)
    message = _("I support “%(title)s”. Will you join me?", title=title)
    return {"url": url, "targets": targets(url, message, title),
            "qr": qr_svg(url, _("QR code of your link: %(url)s", url=url))}
