"""Personal share links (issue 19): `/r/<code>` counts a visit once per
browser a day and carries the code, so that a signature or gift made after
it in that browser is credited to the link (the first link wins; money is
never changed); a forged or unknown code is ignored. The ladder: after
signing, a gift is asked (unless this person gave already), then sharing;
after giving, sharing, then the friend-match challenge. The QR code is an
inline SVG that draws the link itself."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fundraiser.appeals.models import Cosigner, Signature
from fundraiser.donations.models import Donation
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.referrals import services as referrals
from fundraiser.referrals.models import ReferralLink, ReferralVisit
from fundraiser.referrals.share import qr_svg
from tests import support
from tests.factories import create_appeal, create_donation

CONFIRM_LINK = re.compile(r"(/sign/confirm/[A-Za-z0-9_-]+)")


@pytest.fixture
def petition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    appeal.cosigners.append(Cosigner(name="Friends of the Valley", position=0))
    appeal.cosigners.append(Cosigner(name="River Trust", position=1))
    db.session.commit()
    return appeal


def cosigner_code(db, appeal, index=0) -> str:
    link = referrals.cosigner_link(db.session, appeal.id, appeal.cosigners[index].id)
    db.session.commit()
    return link.code


def csrf(client, url="/appeals/test-appeal/sign") -> str:
    page = client.get(url)
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def sign_and_confirm(app, client, email="noa@example.org", name="Noa Levi"):
    answer = client.post("/appeals/test-appeal/sign", data={
        "csrf_token": csrf(client), "name": name, "email": email, "country": ""})
    assert answer.status_code == 303, answer.text[:500]
    mail = [m for m in app.extensions["mailman"].outbox if email.lower() in m.to][-1]
    path = CONFIRM_LINK.search(mail.body).group(1)
    return client.post(path, data={"csrf_token": csrf(client, path)})


def give(client, amount="25", email="noa@example.org", name="Noa Levi"):
    token = support.form_token(client, client.get("/appeals/test-appeal"))
    answer = client.post("/appeals/test-appeal/give", data={
        "csrf_token": token, "amount": amount, "currency": "USD", "name": name,
        "email": email})
    assert answer.status_code == 303, answer.text[:1000]
    return answer.headers["Location"].rsplit("/", 1)[1]


def succeed(db, public_id):
    donation = db.session.scalar(select(Donation).where(Donation.public_id == public_id))
    payments.transition_to(db.session, donation.payment_id, states.SUCCEEDED)
    db.session.commit()
    return donation


def visits(db, code) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ReferralVisit).join(
        ReferralLink, ReferralLink.id == ReferralVisit.link_id).where(
        ReferralLink.code == code))


def test_a_visit_counts_once_per_browser_a_day_and_opens_the_appeal_in_its_language(
        client, db, petition):
    code = cosigner_code(db, petition)
    first = client.get(f"/r/{code}?lang=he")
    assert first.status_code == 302
    assert first.headers["Location"].endswith("/appeals/test-appeal?lang=he")
    assert first.headers["Cache-Control"] == "no-store"
    assert "ref=" in first.headers.get("Set-Cookie", "")
    assert client.get(first.headers["Location"]).status_code == 200
    # Reloads (and a HEAD from a link preview) are not more visits.
    client.get(f"/r/{code}?lang=he")
    client.get(f"/r/{code}")
    client.head(f"/r/{code}")
    assert visits(db, code) == 1
    # Another browser is another visit; nothing about it is stored but a hash.
    client.get(f"/r/{code}", headers={"User-Agent": "Other browser/1.0"})
    assert visits(db, code) == 2
    stored = db.session.scalars(select(ReferralVisit.visitor)).all()
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in stored)
    # A language the site does not have is dropped, not passed on.
    assert client.get(f"/r/{code}?lang=xx").headers["Location"].endswith(
        "/appeals/test-appeal")


def test_the_first_link_wins(client, db, petition):
    first, second = cosigner_code(db, petition, 0), cosigner_code(db, petition, 1)
    client.get(f"/r/{first}")
    client.get(f"/r/{second}")
    succeed(db, give(client))
    donation = db.session.scalar(select(Donation))
    assert donation.referral_link_id == referrals.by_code(db.session, first).id
    # Both visits counted; only the first link is credited.
    assert (visits(db, first), visits(db, second)) == (1, 1)


@pytest.mark.parametrize("cookie", ["garbage", "InR3ZWx2ZWNoYXJzIg.AAAAAA.forged", "x" * 4000])
def test_a_forged_cookie_or_unknown_code_is_ignored(app, client, db, petition, cookie):
    assert client.get("/r/AAAAAAAAAAAA").status_code == 404
    assert client.get("/r/not-a-code-at-all").status_code == 404
    assert client.get("/r/bad%00code").status_code in (400, 404)  # never a 500
    assert client.get("/r/" + "A" * 300).status_code == 404
    client.set_cookie("ref", cookie)
    assert sign_and_confirm(app, client).status_code == 200
    succeed(db, give(client))
    db.session.rollback()
    assert db.session.scalar(select(Signature)).referral_link_id is None
    assert db.session.scalar(select(Donation)).referral_link_id is None


def test_a_link_to_another_appeal_credits_nothing_here(client, db, petition):
    other = create_appeal(db.session, slug="other-appeal")
    db.session.commit()
    link = referrals.person_link(db.session, other.id, "someone@example.org", donation_id=None)
    db.session.commit()
    client.get(f"/r/{link.code}")
    succeed(db, give(client))
    assert db.session.scalar(select(Donation)).referral_link_id is None


def test_a_draft_appeals_link_is_not_found(client, db):
    appeal = create_appeal(db.session, slug="draft-appeal", status="draft")
    appeal.cosigners.append(Cosigner(name="Org", position=0))
    db.session.commit()
    code = cosigner_code(db, appeal)
    assert client.get(f"/r/{code}").status_code == 404
    assert visits(db, code) == 0


def test_after_signing_the_ladder_asks_a_gift_then_sharing_and_each_can_be_skipped(
        app, client, db, petition):
    page = sign_and_confirm(app, client).text
    ask, share = page.index("Will you also give?"), page.index("Ask your friends to sign")
    assert ask < share
    # The appeal's suggested amounts, each opening the gift form with it chosen.
    for amount in ("10", "25", "50"):
        assert f'/appeals/test-appeal?amount={amount}.00&amp;lang=en#give"' in page
    assert "Another amount" in page
    assert 'href="#share"' in page and "Not now: skip to sharing" in page
    assert "checked" not in page  # nothing is ticked for anyone
    # The signer's own link, in the share box, with plain share links.
    link = db.session.scalar(select(ReferralLink).where(ReferralLink.kind == "signer"))
    assert f"/r/{link.code}?lang=en" in page
    for service in ("mailto:?subject=", "https://wa.me/?text=", "https://t.me/share/url?url=",
                    "https://x.com/intent/post?url=", "https://www.facebook.com/sharer/"):
        assert service in page
    assert "<script src=\"http" not in page and "<svg" in page
    # The amount link opens the gift form with that amount typed in.
    form = client.get("/appeals/test-appeal?amount=25.00&lang=en").text
    assert 'value="25.00"' in form


def test_a_signer_who_already_gave_is_not_asked_again(app, client, db, petition):
    gift = create_donation(db.session, petition, email="noa@example.org")
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    page = sign_and_confirm(app, client, email="NOA@example.org").text
    assert "Will you also give?" not in page
    assert "Ask your friends to sign" in page


def test_a_failed_gift_does_not_count_as_having_given(app, client, db, petition):
    gift = create_donation(db.session, petition, email="noa@example.org")
    payments.transition_to(db.session, gift.payment_id, states.FAILED)
    db.session.commit()
    assert "Will you also give?" in sign_and_confirm(app, client).text


def test_after_giving_sharing_comes_then_the_friend_match_challenge(app, client, db, petition):
    sign_and_confirm(app, client)
    public_id = give(client)
    pending = client.get(f"/give/{public_id}/thanks").text
    assert "Ask your friends to give too" not in pending  # not before the gift went through
    succeed(db, public_id)
    page = client.get(f"/give/{public_id}/thanks").text
    share, match = page.index("Ask your friends to give too"), page.index(
        "Ask your friends, and match them")
    assert share < match
    assert 'href="#pledge"' in page
    # No box is ticked for the donor (the pledge's "how you pay" is a choice
    # between two ways, inside a form that does nothing until sent).
    boxes = re.findall(r"<input[^>]*>", page)
    agree = [b for b in boxes if 'name="agree"' in b]
    assert agree and all("checked" not in b for b in boxes if 'type="checkbox"' in b)
    # One person, one link: signing and giving share the signer's link.
    links = db.session.scalars(select(ReferralLink).where(ReferralLink.kind != "cosigner")).all()
    assert len(links) == 1 and f"/r/{links[0].code}?lang=en" in page
    assert links[0].signature_id is not None and links[0].donation_id is not None


def test_the_thank_you_link_carries_the_page_language(client, db, petition):
    public_id = give(client)
    succeed(db, public_id)
    page = client.get(f"/give/{public_id}/thanks?lang=he").text
    assert re.search(r"/r/[A-Za-z0-9_-]{12}\?lang=he", page)


def _modules(svg: str) -> list[list[bool]]:
    """The dark modules an SVG from segno draws: its one stroked path, read
    back command by command (M/m move, h draws a run one module high)."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"} if root.tag.startswith("{") else {}
    paths = root.findall(".//s:path" if ns else ".//path", ns)
    [dark] = [p for p in paths if p.get("stroke")]
    size = int(float(root.get("viewBox").split()[2])) // 4  # scale=4
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:\s(-?[\d.]+))?", dark.get("d")):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for i in range(int(float(a))):
                grid[int(y)][int(x) + i] = True
            x += float(a)
    return grid


def test_the_qr_code_draws_the_link():
    url = "https://fundraiser.example.org/r/AbCdEf012345?lang=he"
    svg = str(qr_svg(url, "QR code"))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>QR code</title>" in svg
    expected = segno.make(url, error="m")
    border = 2
    grid = _modules(svg)
    drawn = [row[border:len(row) - border] for row in grid[border:len(grid) - border]]
    assert drawn == [[bool(v) for v in row] for row in expected.matrix]
    # A different link draws differently.
    assert drawn != [[bool(v) for v in row]
                     for row in segno.make(url.replace("he", "en"), error="m").matrix]


@settings(max_examples=int(os.environ.get("NO500_EXAMPLES", "60")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(min_size=1, max_size=80), cookie=st.text(max_size=300))
def test_whatever_a_visitor_sends_to_share_links_is_never_a_server_error(
        app, client, db, petition, code, cookie):
    path = quote(code, safe="")
    # A code starting with "/" (%2F) makes "/r//…": Werkzeug answers with its
    # own 308 to the merged path, before any view of ours (seen: code="/0").
    assert client.get(f"/r/{path}?lang={path}").status_code in (302, 308, 400, 404)
    assert client.get(f"/partners/{path}").status_code in (308, 400, 404)
    client.set_cookie("ref", cookie.encode("utf-8", "replace").decode("latin-1"))
    assert client.get("/appeals/test-appeal").status_code == 200
    client.delete_cookie("ref")


def test_erasing_ones_data_unlinks_the_address_but_the_shared_link_still_works(
        app, client, db, petition):
    from fundraiser.donors import services as donors

    sign_and_confirm(app, client)
    link = db.session.scalar(select(ReferralLink).where(ReferralLink.kind == "signer"))
    assert link.email_hash == referrals.email_hash("noa@example.org")
    donors.erase(db.session, "noa@example.org")
    db.session.commit()
    db.session.refresh(link)
    assert link.email_hash is None
    assert referrals.existing_person_link(db.session, petition.id, "noa@example.org") is None
    assert client.get(f"/r/{link.code}").status_code == 302


def test_a_monthly_gift_through_a_link_keeps_its_renewals_on_the_link(
        donor, appeal, client, db, gateway, app):
    from fundraiser.appeals import referral_stats
    from tests.functional.test_monthly_gifts import (
        post_event,
        renew,
        start_monthly,
        the_subscription,
    )

    appeal.cosigners.append(Cosigner(name="Org", position=0))
    db.session.commit()
    code = cosigner_code(db, appeal)
    client.get(f"/r/{code}")
    _gift, answer = start_monthly(donor, client, amount="30")
    assert answer["status"] == "succeeded"
    invoice = renew(gateway, the_subscription(db))
    assert post_event(client, app, "invoice.payment_succeeded", invoice).status_code == 200
    db.session.rollback()
    link = referrals.by_code(db.session, code)
    assert [d.referral_link_id for d in db.session.scalars(select(Donation))] == [link.id] * 2
    mine = referral_stats.link_figures(db.session, link)
    assert (mine.gifts, mine.money_minor) == (2, 6000)


def test_a_link_code_never_starts_like_a_spreadsheet_formula(db, petition, monkeypatch):
    """A code starting with "-" would be quoted in the staff's CSV export
    (formula neutralised) and no longer match its link: such a draw is
    drawn again."""
    draws = iter(["-V_p-bfymnhE", "kV_p-bfymnhE"])
    monkeypatch.setattr(referrals.secrets, "token_urlsafe", lambda _n: next(draws))
    link = referrals.person_link(db.session, petition.id, "ann@example.org")
    assert link.code == "kV_p-bfymnhE"
