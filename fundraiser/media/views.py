"""Serving stored images. The address carries the digest of the bytes, so a
response never changes and may be cached for a year by browsers and proxies."""

import re

from flask import Blueprint, abort, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..urls import public_url
from .models import StoredImage

bp = Blueprint("media", __name__)
_NAME = re.compile(r"^[0-9a-f]{64}$")
# An SVG opened on its own must not run anything; the image responses need no
# more than their own inline styles.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@bp.get("/media/<digest>.<ext>")
def image(digest, ext):
    if not _NAME.match(digest):
        abort(404)
    row = db.session.scalar(select(StoredImage).where(StoredImage.digest == digest))
    if row is None or row.extension != ext:
        abort(404)
    headers = {"Cache-Control": "public, max-age=31536000, immutable",
               "ETag": f'"{digest}"', "Content-Security-Policy": _CSP}
    if request.if_none_match.contains(digest):
        return "", 304, headers
    return row.data, 200, {**headers, "Content-Type": row.content_type}


def image_url(image: StoredImage | None, external: bool = False) -> str:
    if image is None:
        return ""
    if external:  # from APP_URL, never the request's Host
        return public_url("media.image", digest=image.digest, ext=image.extension)
    return url_for("media.image", digest=image.digest, ext=image.extension)
