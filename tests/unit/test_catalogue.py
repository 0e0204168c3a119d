"""The .po catalogues are the one place translations live: every catalogue is
complete, nothing is fuzzy, placeholders and markup survive, plurals have
every form the language needs, and no string in the code or templates is
missing from them (someone forgot `make translations`)."""

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


# Python's %(name)s / %(count)d, str.format's {name}, and HTML tags.
PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|%%|\{\w*\}|</?[a-zA-Z][^<>]*>")


def test_there_are_catalogues_beside_english():
    assert [p.parent.parent.name for p in CATALOGUES] == ["ar", "de", "fr", "he"]


def test_every_catalogue_is_a_language_the_app_offers():
    from config import Config

    assert sorted(Config.LANGUAGES) == sorted(["en"] + [p.parent.parent.name
                                                        for p in CATALOGUES])


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
        source = sorted(set(PLACEHOLDER.findall(" ".join(_ids(m)))))
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        if isinstance(m.id, tuple):  # a plural form may spell out its number ("two")
            assert sorted(set(PLACEHOLDER.findall(" ".join(forms)))) == source, m.id
        else:
            assert sorted(set(PLACEHOLDER.findall(forms[0]))) == source, m.id
        for form in forms:  # every form formats: no stray or unknown placeholder
            variables = {name: 1 for name in re.findall(r"%\((\w+)\)", " ".join(_ids(m)))}
            form % variables if variables else None


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_plurals_have_every_form_the_language_needs(path):
    catalog = _read(path)
    for m in catalog:
        if isinstance(m.id, tuple):
            assert len(m.string) == catalog.num_plurals and all(m.string), m.id


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
