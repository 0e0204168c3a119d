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
import warnings
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, or_, select
from sqlalchemy.exc import IntegrityError

from .models import StoredImage

MAX_BYTES = 2 * 1024 * 1024
# Refused before decoding: a small compressed file can stand for a huge
# bitmap (6,300 x 6,300 pixels took a worker from 261 MB to 768 MB). 25 MP
# is a 5000 x 5000 photograph; pages need at most 1600 px a side.
DEFAULT_MAX_PIXELS = 25_000_000
ALLOWED = {"JPEG", "PNG", "WEBP"}
HERO, LOGO = "hero", "logo"
_SIZES = {HERO: (1600, 1600), LOGO: (400, 400)}
_limit = {"pixels": DEFAULT_MAX_PIXELS}


def configure(max_pixels: int | None) -> None:
    """Set the pixel limit (IMAGE_MAX_PIXELS), for our check and Pillow's
    own decompression-bomb guard alike."""
    _limit["pixels"] = int(max_pixels or DEFAULT_MAX_PIXELS)
    Image.MAX_IMAGE_PIXELS = _limit["pixels"]


class UploadError(ValueError):
    """Codes: "too large", "not an image", "too many pixels" (then `size`
    is the image's (width, height) when known, and `limit` the most pixels
    accepted)."""

    def __init__(self, code: str, size: tuple[int, int] | None = None):
        super().__init__(code)
        self.size = size
        self.limit = _limit["pixels"]


def store_upload(session, stream, kind: str) -> StoredImage:
    """Check, re-encode and store an uploaded file; the image row (flushed)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError("too large")
    if not data:
        raise UploadError("not an image")
    try:
        # Image.open reads the header only; the size is known before any
        # pixel is decoded. Pillow's own warning at the same limit is ours to
        # give, with the size in it (its error, past twice the limit, stays).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(BytesIO(data))
        with probe:
            if probe.format not in ALLOWED:
                raise UploadError("not an image")
            if probe.width * probe.height > _limit["pixels"]:
                raise UploadError("too many pixels", probe.size)
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            encoded, content_type, size = _encode(image, kind)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError("too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError("not an image") from exc
    return _keep(session, encoded, content_type, *size)


def _encode(image: Image.Image, kind: str) -> tuple[bytes, str, tuple[int, int]]:
    mode = "RGBA" if kind == LOGO else "RGB"
    if image.mode in ("1", "P", "PA"):  # a palette is resized by nearest pixel: convert first
        image = image.convert(mode)
    # Shrink before anything else: a JPEG then decodes at a reduced scale
    # (draft), and later copies are small. Both boxes are square, so turning
    # the image upright afterwards fits the same box.
    image.thumbnail(_SIZES[kind])
    image = ImageOps.exif_transpose(image).convert(mode)
    out = BytesIO()
    if kind == LOGO:
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png", image.size
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), "image/jpeg", image.size


def store_svg(session, data: bytes, width: int, height: int) -> StoredImage:
    """Store one of the app's own SVG drawings (never an upload)."""
    return _keep(session, data, "image/svg+xml", width, height)


def _keep(session, data: bytes, content_type: str, width: int, height: int) -> StoredImage:
    digest = hashlib.sha256(data).hexdigest()
    # Shared bytes are locked (KEY SHARE) while the caller's row comes to
    # refer to them: a purge deleting the image just now (delete_unused)
    # either waits for this commit, or finishes first and the bytes are
    # stored anew here — never a row pointing at an image that went.
    found = by_digest(session, digest, lock=True)
    if found is not None:
        return found
    image = StoredImage(digest=digest, content_type=content_type, width=width,
                        height=height, data=data)
    try:
        with session.begin_nested():
            session.add(image)
    except IntegrityError:       # the same bytes stored by another request just now
        return by_digest(session, digest, lock=True)
    return image


def by_digest(session, digest: str, lock: bool = False) -> StoredImage | None:
    query = select(StoredImage).where(StoredImage.digest == digest)
    if lock:
        query = query.with_for_update(key_share=True)
    return session.scalar(query.execution_options(populate_existing=lock))


def delete_unused(session, image_ids) -> int:
    """Delete those of these images that no row refers to any more (a purged
    request's logo); one still used anywhere (images are shared by digest:
    an appeal, a co-signer, another request) stays. Every foreign key to the
    table counts, whichever floor's model holds it. Returns how many went."""
    ids = sorted({i for i in image_ids if i is not None})
    if not ids:
        return 0
    images = StoredImage.__table__
    used = [exists().where(fk.parent == images.c.id)
            for table in images.metadata.sorted_tables
            for fk in table.foreign_keys if fk.column.table is images]
    gone = session.execute(delete(StoredImage)
                           .where(StoredImage.id.in_(ids), ~or_(*used))
                           .execution_options(synchronize_session=False))
    session.flush()
    return gone.rowcount
