"""Fill a .po catalogue from the {msgid: translation} dicts in translations_src/.

    python scripts/fill_po.py he        (reads translations_src/he_*.py)

Each feature keeps its own dict file, so two branches never fight over the
.po; after `make messages`, this script rebuilds the catalogue from all of
them and prints any msgid still untranslated."""

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
lang = sys.argv[1]
table = {}
for source in sorted((ROOT / "translations_src").glob(f"{lang}_*.py")):
    for name, value in runpy.run_path(str(source)).items():
        if name.isupper() and isinstance(value, dict):
            table.update(value)
path = ROOT / "fundraiser" / "translations" / lang / "LC_MESSAGES" / "messages.po"
with open(path, "rb") as f:
    catalog = read_po(f, locale=lang)
missing = []
for message in catalog:
    if not message.id:
        continue
    if message.id in table:
        message.string = table[message.id]
        message.flags.discard("fuzzy")
    elif not message.string:
        missing.append(message.id)
with open(path, "wb") as f:
    write_po(f, catalog, width=100, omit_header=False)
for m in missing:
    print("untranslated:", m)
sys.exit(1 if missing else 0)
