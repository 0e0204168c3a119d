"""Images with too many pixels are refused before they are decoded, with a
message that says how big they are and what is accepted (issue 15)."""

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from fundraiser.appeals.models import Appeal, Cosigner
from fundraiser.media.models import StoredImage
from tests.factories import create_appeal
from tests.functional.staff.test_appeal_editor import FORM


def huge_png(width, height) -> io.BytesIO:
    """A valid greyscale PNG of width x height, built row by row so that the
    test itself never holds the bitmap (it compresses to a few hundred KB)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    packer = zlib.compressobj(9)
    row = b"\0" + b"\x80" * width   # filter byte, then one grey byte per pixel
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    body = (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return io.BytesIO(body)


MESSAGE = b"6300 \xc3\x97 6300 pixels"


def test_a_6300_pixel_square_hero_image_is_refused_before_decoding(db, staff_client):
    editor = staff_client("editor")
    bomb = huge_png(6300, 6300)
    assert len(bomb.getvalue()) < 2 * 1024 * 1024   # under the byte limit: pixels decide
    response = editor.post("/staff/appeals/new", {**FORM, "submit": "1",
                                                  "hero": (bomb, "bomb.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert MESSAGE in response.data and b"25 megapixels" in response.data
    db.session.rollback()
    assert db.session.scalar(select(Appeal)) is None
    assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0


def test_a_6300_pixel_square_logo_is_refused_and_the_co_signer_not_added(db, staff_client):
    appeal = create_appeal(db.session, slug="joint")
    db.session.commit()
    editor = staff_client("editor")
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners",
                           {"name": "Bakers United", "logo": (huge_png(6300, 6300), "l.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert MESSAGE in response.data
    db.session.rollback()
    assert db.session.scalar(select(Cosigner)) is None


@pytest.mark.parametrize("size", [(1200, 1200), (5000, 5000)])
def test_pillows_own_bomb_guard_gives_the_same_refusal(db, staff_client, app, size):
    # With a 1 MP limit: 1.44 MP is over it (Pillow's warning, which the app
    # answers itself), 25 MP past twice it (Pillow's DecompressionBombError).
    app.config["IMAGE_MAX_PIXELS"] = 1_000_000
    from fundraiser.media import services as media
    media.configure(1_000_000)
    try:
        editor = staff_client("editor")
        response = editor.post("/staff/appeals/new",
                               {**FORM, "submit": "1", "hero": (huge_png(*size), "b.png")},
                               content_type="multipart/form-data")
    finally:
        media.configure(None)
    assert response.status_code == 422 and b"1 megapixel" in response.data
    db.session.rollback()
    assert db.session.scalar(select(Appeal)) is None


def test_an_image_just_under_the_limit_is_accepted_and_shrunk(db, staff_client):
    editor = staff_client("editor")
    response = editor.post("/staff/appeals/new",
                           {**FORM, "submit": "1", "hero": (huge_png(4000, 3000), "ok.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.data[:2000]
    db.session.rollback()
    stored = db.session.scalar(select(Appeal)).hero_image
    assert (stored.width, stored.height) == (1600, 1200)
    with Image.open(io.BytesIO(stored.data)) as image:
        assert image.format == "JPEG"
