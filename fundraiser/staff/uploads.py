"""An image uploaded through a staff form (an appeal's hero, a co-signer's
logo): checked, stored, or refused with the reason beside the field."""

from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import ngettext

from ..extensions import db
from ..media import services as media


def stored_upload(field, kind):
    """The image uploaded in a file field, checked and stored; None when no
    file was sent. A bad file puts the reason beside the field and raises
    media.UploadError."""
    upload = field.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    try:
        return media.store_upload(db.session, upload.stream, kind)
    except media.UploadError as exc:
        field.errors.append(_upload_message(exc))
        raise


def _upload_message(exc):
    code = str(exc)
    if code == "too many pixels":
        return _too_many_pixels(exc)
    return {
        "too large": _("The image is larger than 2 MB. Please choose a smaller one."),
        "not an image": _("That file is not a JPEG, PNG or WebP image."),
    }.get(code, _("That file is not a JPEG, PNG or WebP image."))


def _too_many_pixels(exc) -> str:
    """The image's size when it was read, and the most accepted."""
    limit = max(1, exc.limit // 1_000_000)
    side = math.isqrt(exc.limit)
    most = ngettext("The most we accept is %(num)d megapixel (for example %(side)d × "
                    "%(side)d).", "The most we accept is %(num)d megapixels (for example "
                    "%(side)d × %(side)d).", limit, side=side)
    if exc.size:
        width, height = exc.size
        first = _("The image is %(width)d × %(height)d pixels.", width=width, height=height)
    else:
        first = _("The image has too many pixels.")
    return " ".join((first, most, _("Please make it smaller and upload it again.")))
