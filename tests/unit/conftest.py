from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


@pytest.fixture
def seed_texts():
    """The real-world texts in ../shared/seeds (Unicode, long lists); tests
    fall back to a built-in sample where that folder is absent."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return texts or [
        "Ceasefire now — הפסקת אש עכשיו — وقف إطلاق النار الآن\n\nSigned: Ünïcode e.V."]
