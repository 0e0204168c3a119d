"""Fill a .po catalogue from a {msgid: translation} dict in a Python file.

    python scripts/fill_po.py he /path/to/translations.py
Prints the msgids still untranslated, so a new string is never missed."""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

lang, source = sys.argv[1], sys.argv[2]
path = f"fundraiser/translations/{lang}/LC_MESSAGES/messages.po"
table = next(v for k, v in runpy.run_path(source).items() if k.isupper())
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
