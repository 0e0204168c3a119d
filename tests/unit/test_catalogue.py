"""The .po catalogues are the one place translations live: every catalogue is
complete, nothing is fuzzy, placeholders survive, and no string in the code or
templates is missing from them (someone forgot `make translations`)."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "fundraiser" / "translations"
CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "_l": None, "N_": None, "ngettext_lazy": (1, 2), "pgettext": ((1, "c"), 2)}


def _read(path):
    with open(path, "rb") as f:
        return read_po(f, locale=path.parent.parent.name)


def _ids(message):
    return message.id if isinstance(message.id, tuple) else (message.id,)


def test_there_are_catalogues_beside_english():
    assert [p.parent.parent.name for p in CATALOGUES] == ["he"]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_every_entry_is_translated_and_none_is_fuzzy(path):
    catalog = _read(path)
    untranslated = [m.id for m in catalog if m.id and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_translations_keep_their_placeholders(path):
    for m in _read(path):
        if not m.id or not m.string:
            continue
        source = " ".join(_ids(m))
        target = " ".join(m.string) if isinstance(m.string, tuple) else m.string
        assert sorted(set(re.findall(r"%\(\w+\)s", source))) == \
            sorted(set(re.findall(r"%\(\w+\)s", target))), m.id


def test_every_string_in_the_code_is_in_every_catalogue():
    method_map = [("fundraiser/**.py", "python"), ("templates/**.html", "jinja2"),
                  ("templates/**.txt", "jinja2")]
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS,
            directory_filter=lambda d: not Path(d).name.startswith(".")
            and Path(d).name not in {"tests", "node_modules", "bench"}):
        found.add(message[0] if isinstance(message, tuple) else message)
    assert found, "extraction found no strings: the method map is wrong"
    for path in CATALOGUES:
        known = {_ids(m)[0] for m in _read(path) if m.id}
        missing = sorted(found - known)
        assert missing == [], f"{path.parent.parent.name}: run `make translations`"
