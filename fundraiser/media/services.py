"""Checking, re-encoding and storing uploaded images.

An upload is judged by its content (Pillow), never by its name or the type
the browser claims. It is decoded and encoded again, which drops metadata
such as a GPS position, and shrunk to what the pages need:

- a hero image becomes a JPEG of at most 1600 px a side;
- a logo becomes a PNG of at most 400 px a side, keeping its transparency.

SVG is refused: it can carry scripts. The demo's own drawings, which ship
with the code, go in through ``store_svg``.
"""

from __future__ import annotations

import hashlib
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .models import StoredImage

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000          # refuse decompression bombs before decoding
ALLOWED = {"JPEG", "PNG", "WEBP"}
HERO, LOGO = "hero", "logo"
_SIZES = {HERO: (1600, 1600), LOGO: (400, 400)}


class UploadError(ValueError):
    """Codes: "too large", "not an image", "too many pixels"."""


def store_upload(session, stream, kind: str) -> StoredImage:
    """Check, re-encode and store an uploaded file; the image row (flushed)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError("too large")
    if not data:
        raise UploadError("not an image")
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in ALLOWED:
                raise UploadError("not an image")
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadError("too many pixels")
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            encoded, content_type, size = _encode(image, kind)
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError,
            SyntaxError, ValueError) as exc:
        raise UploadError("not an image") from exc
    return _keep(session, encoded, content_type, *size)


def _encode(image: Image.Image, kind: str) -> tuple[bytes, str, tuple[int, int]]:
    out = BytesIO()
    if kind == LOGO:
        image = image.convert("RGBA")
        image.thumbnail(_SIZES[LOGO])
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png", image.size
    image = image.convert("RGB")
    image.thumbnail(_SIZES[HERO])
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), "image/jpeg", image.size


def store_svg(session, data: bytes, width: int, height: int) -> StoredImage:
    """Store one of the app's own SVG drawings (never an upload)."""
    return _keep(session, data, "image/svg+xml", width, height)


def _keep(session, data: bytes, content_type: str, width: int, height: int) -> StoredImage:
    digest = hashlib.sha256(data).hexdigest()
    found = by_digest(session, digest)
    if found is not None:
        return found
    image = StoredImage(digest=digest, content_type=content_type, width=width,
                        height=height, data=data)
    try:
        with session.begin_nested():
            session.add(image)
    except IntegrityError:       # the same bytes stored by another request just now
        return by_digest(session, digest)
    return image


def by_digest(session, digest: str) -> StoredImage | None:
    return session.scalar(select(StoredImage).where(StoredImage.digest == digest))
