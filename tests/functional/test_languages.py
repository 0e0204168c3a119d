"""Five languages: every public page reads in French, German, Hebrew and
Arabic with no English left over; the address picks the language (/fr/…),
before the visitor's stored choice and their browser's; links stay in the
language; he and ar pages run right to left; receipts come in the donor's
language, Arabic ones with Arabic letters."""

import html as htmlmod
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests import support
from tests.factories import create_appeal, create_donation
from tests.pdfs import pdf_text

# Rendering every page in every language twice (SQLite and PostgreSQL) says
# nothing more about languages than once.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

TRANSLATIONS = Path(__file__).resolve().parents[2] / "fundraiser" / "translations"
LANGUAGES = ["fr", "de", "he", "ar"]
RTL = {"he", "ar"}
MONTHS = ("January", "February", "March", "April", "June", "July", "August", "September",
          "October", "November", "December")
# Words only: the appeal's own text (title, story) is neutral, so any English
# sentence on the page came from the interface.
SLUG = "qz"


@cache
def english_phrases(language: str) -> tuple[str, ...]:
    """Pieces of English the `language` catalogue translates: whole msgids
    of two or more words, and the literal runs of three or more words
    between the placeholders of the others."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=language)
    found = set()
    for m in catalog:
        if not m.id:
            continue
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in (m.id if isinstance(m.id, tuple) else (m.id,)):
            if msgid in forms:
                continue  # the same in both languages ("Total" in French)
            pieces = re.split(r"%\(\w+\)[a-z]|%%", msgid)
            for piece in pieces:
                piece = " ".join(piece.split()).strip(" .,:;")
                if len(piece.split()) >= (2 if len(pieces) == 1 else 3):
                    found.add(piece)
    return tuple(sorted(found))


def visible_text(page: str) -> str:
    """What a person reads or hears: text, and the labels in attributes."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    labels = re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(htmlmod.unescape(" ".join([text, *labels])).split())


def untranslated(page: str, language: str) -> list[str]:
    text = visible_text(page)
    left = [p for p in english_phrases(language) if p in text]
    left += [m for m in MONTHS if re.search(rf"\b{m}\b", text)]
    return left


def give(db, appeal, locale="en", amount_minor=2500):
    gift = create_donation(db.session, appeal, amount_minor=amount_minor, locale=locale,
                           name="Qz Qx", email="qz@example.org")
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    return gift


@pytest.fixture
def neutral(db):
    appeal = create_appeal(db.session, slug=SLUG, title="Qz", story_md="Qx.",
                           signatures=(True, 500), goal_major=12_345)
    db.session.commit()
    return appeal


PAGES = {
    "index": lambda gift: "/",
    "appeal and gift form": lambda gift: f"/appeals/{SLUG}",
    "thank-you": lambda gift: f"/give/{gift.public_id}/thanks",
    "sign": lambda gift: f"/appeals/{SLUG}/sign",
    "portal request": lambda gift: "/my-gifts",
    "embed": lambda gift: f"/embed/{SLUG}",
    "not found": lambda gift: "/appeals/no-such-appeal",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page", PAGES)
def test_every_public_page_reads_in_the_language_with_no_english_left(
        client, db, neutral, language, page):
    gift = give(db, neutral)
    path = PAGES[page](gift)
    response = client.get(f"/{language}{path}")
    assert response.status_code == (404 if page == "not found" else 200)
    body = response.get_data(as_text=True)
    direction = "rtl" if language in RTL else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in body
    assert untranslated(body, language) == []


def test_the_check_finds_english_on_a_page(client, neutral):
    # The same page in English is all English phrases: the check above can fail.
    body = client.get(f"/en/appeals/{SLUG}").get_data(as_text=True)
    assert len(untranslated(body, "fr")) > 10


def local_links(body: str) -> list[str]:
    return [htmlmod.unescape(u) for u in re.findall(r'(?:href|action|src)="(/[^"/][^"]*)"', body)]


def test_a_french_address_gives_a_french_page_whose_links_stay_french(client, neutral):
    body = client.get(f"/fr/appeals/{SLUG}").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in body
    assert "Je donne" in body or "Donner" in body
    switcher = re.search(r'(?s)<nav[^>]*class="lang-switch".*?</nav>', body).group(0)
    links = local_links(body.replace(switcher, ""))
    assert len(links) > 3
    for link in links:
        if link.startswith(("/static/", "/media/")):
            continue  # one copy of an asset for every language
        assert link.startswith("/fr/"), link
    assert any(link.startswith("/static/css/") for link in links)
    # The gift form posts under /fr/ too, so its errors come back in French.
    assert f'action="/fr/appeals/{SLUG}/give#give"' in body
    token = support.form_token(client, body)
    refused = client.post(f"/fr/appeals/{SLUG}/give", data={
        "csrf_token": token, "amount": "", "other_amount": "", "email": "qz@example.org",
        "name": "Qz", "frequency": "once"})
    assert refused.status_code == 422
    assert "Veuillez choisir ou saisir un montant." in refused.get_data(as_text=True)


def test_the_switcher_links_to_this_page_in_each_language(client, neutral):
    body = client.get(f"/de/appeals/{SLUG}?amount=25").get_data(as_text=True)
    switcher = body.split('class="lang-switch"')[1].split("</nav>")[0]
    for code in ("en", "fr", "he", "ar"):
        assert f'href="/{code}/appeals/{SLUG}?amount=25"' in switcher
    assert 'aria-current="true" lang="de">Deutsch' in switcher


def test_english_is_unprefixed_or_under_en(client, neutral):
    for path in (f"/appeals/{SLUG}", f"/en/appeals/{SLUG}"):
        body = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert '<html lang="en" dir="ltr">' in body


@pytest.mark.parametrize("path", ["/xx/", f"/xx/appeals/{SLUG}", f"/FR/appeals/{SLUG}",
                                  "/fr/api/v1/appeals/" + SLUG, "/fr/static/css/site.css",
                                  "/fr/healthz"])
def test_an_unknown_or_misplaced_prefix_is_just_a_missing_page(client, neutral, path):
    assert client.get(path).status_code == 404


def test_api_and_webhooks_stay_unprefixed(client, neutral):
    assert client.get(f"/api/v1/appeals/{SLUG}").status_code == 200
    assert client.post("/fr/webhooks/stripe", data="{}").status_code == 404
    # The API's links to pages carry no language: its JSON is the same for everyone.
    body = client.get(f"/api/v1/appeals/{SLUG}", headers={"Accept-Language": "fr"}).json
    assert body["url"].endswith(f"/appeals/{SLUG}") and "/fr/" not in body["url"]


def test_address_then_stored_choice_then_accept_language(client, neutral):
    page = f"/appeals/{SLUG}"

    def language(path, **headers):
        body = client.get(path, headers=headers).get_data(as_text=True)
        return re.search(r'<html lang="(\w+)"', body).group(1)

    assert language(page, **{"Accept-Language": "de-CH,de;q=0.9"}) == "de"
    client.get("/lang/he")  # the stored choice
    assert language(page, **{"Accept-Language": "de"}) == "he"
    assert language(f"/ar{page}", **{"Accept-Language": "de"}) == "ar"
    # The address's language is remembered as the choice for pages without one.
    assert language(page, **{"Accept-Language": "de"}) == "ar"
    assert language(f"/en{page}") == "en" and language(page) == "en"


def test_one_cached_appeal_page_per_language_and_prefix(client, neutral):
    client.get("/lang/fr")
    plain = client.get(f"/appeals/{SLUG}").get_data(as_text=True)
    prefixed = client.get(f"/fr/appeals/{SLUG}").get_data(as_text=True)
    assert '<html lang="fr"' in plain and '<html lang="fr"' in prefixed
    assert f'action="/appeals/{SLUG}/give#give"' in plain
    assert f'action="/fr/appeals/{SLUG}/give#give"' in prefixed
    german = client.get(f"/de/appeals/{SLUG}").get_data(as_text=True)
    assert '<html lang="de"' in german and f'action="/de/appeals/{SLUG}/give#give"' in german


def test_share_links_keep_the_page_s_language_from_app_url(client, neutral, app):
    base = app.config["APP_URL"].rstrip("/")
    body = client.get(f"/fr/appeals/{SLUG}").get_data(as_text=True)
    assert f"{base}/fr/appeals/{SLUG}" in body
    assert f"{base}/appeals/{SLUG}" in client.get(
        f"/appeals/{SLUG}").get_data(as_text=True)


@pytest.mark.parametrize("language, words", [("fr", "Je donne"), ("ar", "تبرّع الآن")])
def test_the_widget_works_under_a_language_prefix(client, neutral, app, language, words):
    response = client.get(f"/{language}/embed/{SLUG}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    direction = "rtl" if language in RTL else "ltr"
    assert f'lang="{language}" dir="{direction}"' in body
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers  # a public, cached page
    assert words in body
    # Its button opens the appeal in the same language.
    assert f'{app.config["APP_URL"].rstrip("/")}/{language}/appeals/{SLUG}' in body


@pytest.mark.parametrize("language, amount, words", [
    ("fr", "25,00", ["Reçu de don", "Merci de votre soutien."]),
    ("de", "25,00", ["Spendenquittung", "Danke für Ihre Unterstützung."]),
    ("ar", "25.00", ["إيصال", "التبرع", "دعمك", "شكراً"]),
])
def test_a_receipt_pdf_in_the_donor_s_language(client, db, neutral, language, amount, words):
    gift = give(db, neutral, locale=language)
    response = client.get(f"/{language}/give/{gift.public_id}/receipt.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for word in words:
        assert word in text
    assert amount in text and "Qz Qx" in text
    assert "Donation receipt" not in text and "Thank you" not in text


def test_money_and_dates_follow_the_locale(client, db, neutral):
    german = client.get(f"/de/appeals/{SLUG}").get_data(as_text=True)
    assert Money.from_major(12_345, "USD").format("de", whole=True) in german  # 12.345 $
    french = client.get(f"/fr/appeals/{SLUG}").get_data(as_text=True)
    assert Money.from_major(12_345, "USD").format("fr", whole=True) in french
    assert "12,345" not in german and "12,345" not in french


def test_the_switcher_on_a_missing_page_quotes_what_was_typed(client, neutral):
    body = client.get('/fr/no such/"><script>x</script>').get_data(as_text=True)
    assert 'href="/de/no%20such/%22%3E%3Cscript%3Ex%3C/script%3E"' in body
    assert "<script>x" not in body
