"""Every staff select (and the donor's pledge choice) renders the same
options, labels and selected value whatever shape WTForms wants its
choices in."""

import re
from html import unescape

from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff.models import ROLES
from tests.factories import create_appeal, create_donation


def options(html: bytes, select_id: str) -> list[tuple[str, str, bool]]:
    """[(value, label, selected)] of the <select id=…> in a page."""
    page = html.decode()
    block = re.search(rf'<select[^>]*\bid="{re.escape(select_id)}"[^>]*>(.*?)</select>',
                      page, re.S)
    assert block, f"no select #{select_id}"
    return [(unescape(value), unescape(label.strip()), " selected" in attrs)
            for attrs, value, label in re.findall(
                r'<option((?:\s+\w+(?:="[^"]*")?)*?\s+value="([^"]*)"[^>]*)>(.*?)</option>',
                block.group(1), re.S)]


def radios(html: bytes, name: str) -> list[tuple[str, bool]]:
    page = html.decode()
    found = []
    for tag in re.findall(r'<input[^>]*type="radio"[^>]*>', page):
        if f'name="{name}"' in tag:
            value = re.search(r'value="([^"]*)"', tag).group(1)
            found.append((value, " checked" in tag))
    return found


def test_staff_user_selects_list_the_roles_and_select_each_users_own(db, staff_client,
                                                                      make_staff):
    admin = staff_client("admin")
    editor = make_staff("editor")
    page = admin.get("/staff/users")
    assert page.status_code == 200
    assert options(page.data, "role") == [(r, r, False) for r in ROLES]
    assert options(page.data, f"u{editor.id}-role") == [(r, r, r == "editor") for r in ROLES]


def test_appeal_editor_selects_show_the_appeals_language_and_status(db, staff_client):
    appeal = create_appeal(db.session, slug="hebrew", title="ערעור", language="he",
                           status="closed")
    db.session.commit()
    editor = staff_client("editor")
    languages = [("en", "English"), ("he", "עברית"), ("ar", "العربية"), ("fr", "Français"),
                 ("de", "Deutsch")]
    page = editor.get(f"/staff/appeals/{appeal.id}/edit")
    assert options(page.data, "language") == [(v, label, v == "he") for v, label in languages]
    assert options(page.data, "status") == [
        ("draft", "Draft", False), ("published", "Published", False), ("closed", "Closed", True)]
    new = editor.get("/staff/appeals/new")
    assert options(new.data, "language") == [(v, label, False) for v, label in languages]
    # In Hebrew the labels are translated, the values are not.
    hebrew = editor.get(f"/staff/appeals/{appeal.id}/edit?lang=he")
    status = options(hebrew.data, "status")
    assert [v for v, _label, _sel in status] == ["draft", "published", "closed"]
    assert [sel for _v, _label, sel in status] == [False, False, True]
    assert all(label not in ("Draft", "Published", "Closed") for _v, label, _sel in status)


def test_offline_gift_selects_list_the_appeals_and_methods_and_keep_a_choice(db,
                                                                             staff_client):
    first = create_appeal(db.session, slug="a-first", title="Alpha & co")
    second = create_appeal(db.session, slug="b-second", title="Beta", currency="ILS")
    db.session.commit()
    finance = staff_client("finance")
    page = finance.get("/staff/gifts/new")
    assert options(page.data, "appeal") == [(str(first.id), "Alpha & co (USD)", False),
                                            (str(second.id), "Beta (ILS)", False)]
    assert options(page.data, "method") == [("cheque", "Cheque", False),
                                            ("bank_transfer", "Bank transfer", False),
                                            ("cash", "Cash", False)]
    # A refused form (no amount) comes back with what was chosen still selected.
    again = finance.post("/staff/gifts/new", {"appeal": second.id, "amount": "",
                                              "name": "Ruth", "email": "ruth@example.org",
                                              "method": "cash", "received_on": "2026-01-02"})
    assert again.status_code == 422
    assert [sel for _v, _l, sel in options(again.data, "appeal")] == [False, True]
    assert [sel for _v, _l, sel in options(again.data, "method")] == [False, False, True]


def test_the_donors_pledge_choice_starts_with_nothing_chosen(client, db):
    appeal = create_appeal(db.session, slug="shekels", currency="ILS")
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    thanks = client.get(f"/give/{gift.public_id}/thanks")
    assert radios(thanks.data, "mode") == [("pay_now", False), ("card_saved", False)]
