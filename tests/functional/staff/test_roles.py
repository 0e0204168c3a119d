"""Every role × every staff endpoint: allowed or 403, and a refused action
changes nothing at all (every row of every table compared)."""

import pytest

from fundraiser.staff.models import (
    EDIT_APPEALS,
    EDIT_RATES,
    EXPORT,
    MANAGE_JOBS,
    MANAGE_USERS,
    OFFLINE_GIFT,
    PERMISSIONS,
    REFUND,
    RESUME_CARD_GIFTS,
    VIEW,
    VIEW_AUDIT,
)
from tests.functional.staff.conftest import ALL_ROLES, StaffClient, snapshot


def matrix(gift, other_user):
    d, a, u = gift.id, gift.appeal_id, other_user.id
    appeal_data = {"title": "Changed", "currency": "USD", "goal": "500", "language": "en",
                   "status": "published", "slug": "test-appeal", "submit": "1"}
    new_appeal = {**appeal_data, "slug": "brand-new", "title": "Brand new"}
    return [
        # endpoint, method, url, data, permission
        ("staff.dashboard", "GET", "/staff/", None, VIEW),
        ("staff.recent_json", "GET", "/staff/api/recent", None, VIEW),
        ("staff.chart", "GET", "/staff/charts/time.svg", None, VIEW),
        ("staff.donations", "GET", "/staff/donations?q=dana", None, VIEW),
        ("staff.donation", "GET", f"/staff/donations/{d}", None, VIEW),
        ("staff.refund", "POST", f"/staff/donations/{d}/refund",
         {"amount": "99999", "reason": "asked"}, REFUND),
        ("staff.void_offline", "POST", f"/staff/donations/{d}/void", {"reason": "error"},
         OFFLINE_GIFT),
        ("staff.donations_csv", "GET", "/staff/donations.csv", None, EXPORT),
        ("staff.donors", "GET", "/staff/donors", None, VIEW),
        ("staff.donor", "GET", "/staff/donors/gifts?email=donor@example.org", None, VIEW),
        ("staff.donors_csv", "GET", "/staff/donors.csv", None, EXPORT),
        ("staff.offline_gift", "GET", "/staff/gifts/new", None, OFFLINE_GIFT),
        ("staff.offline_gift", "POST", "/staff/gifts/new",
         {"appeal": a, "amount": "50", "name": "Cash Giver", "email": "cash@example.org",
          "method": "cash", "received_on": "2026-11-01"}, OFFLINE_GIFT),
        ("staff.audit", "GET", "/staff/audit", None, VIEW_AUDIT),
        ("staff.users", "GET", "/staff/users", None, MANAGE_USERS),
        ("staff.users", "POST", "/staff/users", {"email": "x@example.org", "role": "admin"},
         MANAGE_USERS),
        ("staff.edit_user", "POST", f"/staff/users/{u}",
         {f"u{u}-role": "admin", f"u{u}-is_active": "y"}, MANAGE_USERS),
        ("staff.reset_user", "POST", f"/staff/users/{u}/reset", {}, MANAGE_USERS),
        ("staff.appeal_list", "GET", "/staff/appeals", None, VIEW),
        ("staff.edit_appeal", "GET", "/staff/appeals/new", None, EDIT_APPEALS),
        ("staff.edit_appeal", "POST", "/staff/appeals/new", new_appeal, EDIT_APPEALS),
        ("staff.edit_appeal", "GET", f"/staff/appeals/{a}/edit", None, EDIT_APPEALS),
        ("staff.edit_appeal", "POST", f"/staff/appeals/{a}/edit", appeal_data, EDIT_APPEALS),
        ("staff.pools", "GET", f"/staff/appeals/{a}/pools", None, EDIT_APPEALS),
        ("staff.pledges", "GET", f"/staff/appeals/{a}/pledges", None, VIEW),
        ("staff.send_pledge_link", "POST", f"/staff/appeals/{a}/pledges/999/send-link", {},
         EDIT_APPEALS),
        ("staff.create_pool", "POST", f"/staff/appeals/{a}/pools",
         {"sponsor": "Matcher", "ratio": "1:1", "cap": "1000"}, EDIT_APPEALS),
        # the pool made by the row above (id 1) for roles that may; 404 is fine otherwise
        ("staff.change_pool", "POST", f"/staff/appeals/{a}/pools/1",
         {"p1-sponsor": "Matcher & Co", "p1-ratio": "2:1", "p1-cap": "2000",
          "p1-per_gift_limit": "100", "p1-min_gift": "5", "p1-first_time_only": "y",
          "p1-monthly_rule": "x12"}, EDIT_APPEALS),
        ("staff.translate_appeal", "GET", f"/staff/appeals/{a}/translations", None,
         EDIT_APPEALS),
        ("staff.translate_appeal", "GET", f"/staff/appeals/{a}/translations/he", None,
         EDIT_APPEALS),
        ("staff.translate_appeal", "POST", f"/staff/appeals/{a}/translations/he",
         {"title": "כותרת", "story_md": "סיפור", "submit": "1"}, EDIT_APPEALS),
        ("staff.delete_translation", "POST", f"/staff/appeals/{a}/translations/he/delete", {},
         EDIT_APPEALS),
        ("staff.cosigners", "GET", f"/staff/appeals/{a}/cosigners", None, EDIT_APPEALS),
        ("staff.referral_links", "GET", f"/staff/appeals/{a}/links", None, VIEW),
        ("staff.referral_links_csv", "GET", f"/staff/appeals/{a}/links.csv", None, EXPORT),
        ("staff.add_cosigner", "POST", f"/staff/appeals/{a}/cosigners", {"name": "Org One"},
         EDIT_APPEALS),
        ("staff.add_cosigners_bulk", "POST", f"/staff/appeals/{a}/cosigners/bulk",
         {"lines": "Org Two | Chile\nOrg Three"}, EDIT_APPEALS),
        # co-signer 1 is the one added above, for roles that may; 404 is fine otherwise
        ("staff.edit_cosigner", "GET", f"/staff/appeals/{a}/cosigners/1", None, EDIT_APPEALS),
        ("staff.edit_cosigner", "POST", f"/staff/appeals/{a}/cosigners/1",
         {"name": "Org One B", "position": "2"}, EDIT_APPEALS),
        ("staff.move_cosigner", "POST", f"/staff/appeals/{a}/cosigners/1/move", {"to": "top"},
         EDIT_APPEALS),
        ("staff.remove_cosigner", "POST", f"/staff/appeals/{a}/cosigners/1/delete", {},
         EDIT_APPEALS),
        ("staff.cosign_requests", "GET", f"/staff/appeals/{a}/cosign-requests", None,
         EDIT_APPEALS),
        # no request 1 on this appeal: 404 for roles that may
        ("staff.approve_cosign_request", "POST",
         f"/staff/appeals/{a}/cosign-requests/1/approve", {}, EDIT_APPEALS),
        ("staff.decline_cosign_request", "POST",
         f"/staff/appeals/{a}/cosign-requests/1/decline", {"reason": "spam"}, EDIT_APPEALS),
        ("staff.signature_list", "GET", f"/staff/appeals/{a}/signatures?q=x&page=2", None,
         VIEW),
        ("staff.signatures_csv", "GET", f"/staff/appeals/{a}/signatures.csv", None, EXPORT),
        ("staff.remove_signature", "POST", f"/staff/appeals/{a}/signatures/1/remove", {},
         EDIT_APPEALS),
        ("staff.card_breaker_reset", "POST", f"/staff/appeals/{a}/card-breaker/reset", {},
         RESUME_CARD_GIFTS),
        ("staff.rates_page", "GET", "/staff/rates", None, EDIT_RATES),
        ("staff.set_rate", "POST", "/staff/rates",
         {"rate-currency": "ILS", "rate-rate": "3.7865", "rate-day": "2026-12-04"}, EDIT_RATES),
        ("staff.import_ecb", "POST", "/staff/rates/ecb", {}, EDIT_RATES),
        ("staff.jobs_page", "GET", "/staff/jobs", None, MANAGE_JOBS),
        ("staff.retry_job", "POST", "/staff/jobs/no-such-job/retry", {}, MANAGE_JOBS),
    ]


# Exercised by their own tests (they end the session being tested).
SESSION_ENDPOINTS = {"staff.logout", "staff.logout_everywhere"}
PUBLIC = {"staff.login", "staff.set_password"}


def test_every_staff_view_declares_its_permission_and_is_in_the_matrix(app, card_gift):
    endpoints = {name for name in app.view_functions if name.startswith("staff.")}
    for name in endpoints:
        permission = getattr(app.view_functions[name], "staff_permission", "missing")
        assert permission != "missing", f"{name} has no staff_view() guard"
        assert (permission is None) == (name in PUBLIC), name
    covered = {row[0] for row in matrix(card_gift, card_gift)}
    assert endpoints - covered - SESSION_ENDPOINTS - PUBLIC == set()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_role_matrix(role, app, db, card_gift, make_staff, staff_client):
    other = make_staff("viewer", "someone.else@example.org")
    sc = staff_client(role)
    for _endpoint, method, url, data, permission in matrix(card_gift, other):
        allowed = permission in PERMISSIONS[role]
        before = None if allowed else snapshot(db)
        response = sc.get(url) if method == "GET" else sc.post(url, data)
        if allowed:
            assert response.status_code not in (401, 403), (role, method, url)
            assert response.status_code < 500, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert snapshot(db) == before, f"{role} {method} {url} changed something"


def test_anonymous_visitors_are_sent_to_login_and_change_nothing(app, db, card_gift):
    anon = StaffClient(app)
    for _endpoint, method, url, data, _p in matrix(card_gift, card_gift):
        before = snapshot(db)
        response = anon.get(url) if method == "GET" else anon.post(url, data)
        if url.startswith("/staff/api/"):
            assert response.status_code == 401, url
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/staff/login"), url
        assert snapshot(db) == before, url


def test_a_role_change_takes_effect_at_once(app, db, staff_client, make_staff):
    admin = staff_client("admin", "boss@example.org")
    finance_user = make_staff("finance")
    finance = StaffClient(app, "finance@example.org")
    finance.login()
    assert finance.get("/staff/donations.csv").status_code == 200
    admin.post(f"/staff/users/{finance_user.id}",
               {f"u{finance_user.id}-role": "viewer", f"u{finance_user.id}-is_active": "y"})
    # the change ended the finance user's session; logged in again, they are a viewer
    assert finance.get("/staff/donations.csv").status_code == 302
    finance.login()
    assert finance.get("/staff/donations.csv").status_code == 403


def test_a_refund_without_csrf_token_is_rejected_and_changes_nothing(app, db, card_gift,
                                                                       staff_client):
    finance = staff_client("finance")
    before = snapshot(db)
    response = finance.post(f"/staff/donations/{card_gift.id}/refund",
                            {"amount": "5", "reason": "no token"}, csrf=False)
    assert response.status_code == 400
    wrong = finance.client.post(f"/staff/donations/{card_gift.id}/refund",
                                data={"amount": "5", "reason": "x", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert snapshot(db) == before
