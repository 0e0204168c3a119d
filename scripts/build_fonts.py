"""Build the PDF fonts shipped in fundraiser/fonts/ (run by hand; the output
is committed). Noto Sans cut down to Latin, punctuation and currency signs,
merged with Noto Sans Hebrew, so one font per weight covers an English or a
Hebrew receipt: no fallback between fonts in the middle of a line.

    apt-get install -y fonts-noto-core
    .venv/bin/python scripts/build_fonts.py

Both are under the SIL Open Font License 1.1 (fundraiser/fonts/OFL.txt);
Noto has no reserved font name, so a subset may keep it."""

from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

NOTO = Path("/usr/share/fonts/truetype/noto")
OUT = Path(__file__).resolve().parent.parent / "fundraiser" / "fonts"
LATIN = [*range(0x20, 0x250),        # Basic Latin … Latin Extended-B
         *range(0x2000, 0x2070),     # general punctuation (dashes, quotes, LRM/RLM)
         *range(0x20A0, 0x20C1),     # currency signs
         0x2116, 0x2122, 0x2212]


def build(weight: str) -> Path:
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    latin = TTFont(NOTO / f"NotoSans-{weight}.ttf")
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=LATIN)
    subsetter.subset(latin)
    cut = OUT / f".latin-{weight}.ttf"
    latin.save(cut)
    merged = Merger().merge([str(cut), str(NOTO / f"NotoSansHebrew-{weight}.ttf")])
    cut.unlink()
    target = OUT / f"NotoSansHebrewLatin-{weight}.ttf"
    merged.save(target)
    return target


if __name__ == "__main__":
    for weight in ("Regular", "Bold"):
        print(build(weight))
