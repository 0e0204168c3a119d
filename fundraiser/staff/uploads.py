"""Hero image uploads: checked by content (Pillow), not by name or type
header; re-encoded (which drops metadata such as GPS position) and resized;
stored under static/uploads/ and served locally."""

from __future__ import annotations

import os
import secrets
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000          # refuse decompression bombs before decoding
MAX_SIZE = (1600, 1600)
ALLOWED = {"JPEG", "PNG", "WEBP"}


class UploadError(ValueError):
    pass


def save_hero_image(stream, static_dir: str) -> str:
    """Returns the path under static/ ("uploads/<random>.jpg")."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise UploadError("too large")
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in ALLOWED:
                raise UploadError("not an image")
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadError("too many pixels")
            probe.verify()
        with Image.open(BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail(MAX_SIZE)
            folder = os.path.join(static_dir, "uploads")
            os.makedirs(folder, exist_ok=True)
            name = f"{secrets.token_hex(12)}.jpg"
            image.save(os.path.join(folder, name), "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError,
            SyntaxError, ValueError) as exc:
        if isinstance(exc, UploadError):
            raise
        raise UploadError("not an image") from exc
    return f"uploads/{name}"
