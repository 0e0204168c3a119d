"""Text that people type and the public (or a spreadsheet) is shown.

One rule for every name, comment and note: no control characters (NUL, ESC,
line breaks in a one-line field) and none of the bidirectional embeddings,
overrides and isolates (U+202A–U+202E, U+2066–U+2069) that reorder the text
around them — 'U+202E' can make one name read as another on the public
ledger. Marks that only set a direction (U+200E, U+200F) stay: Hebrew and
Arabic text needs them."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What a multi-line field (a comment, a story) may keep of the control characters.
_MULTILINE_OK = frozenset("\n\r\t")


def has_control_characters(text: str | None, multiline: bool = False) -> bool:
    """True if `text` holds a character that must not be shown (see above).
    `multiline` lets line breaks and tabs through."""
    for ch in text or "":
        if multiline and ch in _MULTILINE_OK:
            continue
        if ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            return True
    return False


def without_control_characters(text: str | None) -> str:
    """`text` with such characters dropped (for values no one typed, such as
    a share code from a link, where an error message would help no one)."""
    return "".join(ch for ch in text or "" if not has_control_characters(ch))


class NoControlCharacters:
    """WTForms validator: refuse text with control or direction-override
    characters, with a message that says what to do."""

    def __init__(self, multiline: bool = False, message=None):
        self.multiline = multiline
        self.message = message

    def __call__(self, form, field):
        if isinstance(field.data, str) and has_control_characters(field.data, self.multiline):
            raise ValidationError(self.message or _l(
                "This has characters that cannot be shown (such as control characters or "
                "direction overrides). Please type it again."))


def safe_local_path(target: str | None, prefix: str = "/") -> str | None:
    """`target` if it is a path on this site under `prefix`, else None: never
    an open redirect (no scheme, host, '//' or backslash), and nothing a
    Location header cannot carry (a CR or LF there would be a 500)."""
    if not target or not target.startswith(prefix) or target.startswith("//"):
        return None
    if "\\" in target or has_control_characters(target) or any(
            unicodedata.category(ch) in ("Cf", "Zs") and ch != " " for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
