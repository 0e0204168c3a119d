from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "fundraiser/translations/he/LC_MESSAGES/messages.po"


def test_every_interface_string_has_a_hebrew_translation():
    with open(PO, "rb") as f:
        catalog = read_po(f, locale="he")
    missing = [m.id for m in catalog if m.id and not m.string]
    assert missing == []


def test_hebrew_translations_keep_their_placeholders():
    with open(PO, "rb") as f:
        catalog = read_po(f, locale="he")
    import re

    for m in catalog:
        if m.id and m.string:
            assert sorted(re.findall(r"%\(\w+\)s", m.id)) == \
                sorted(re.findall(r"%\(\w+\)s", m.string)), m.id
