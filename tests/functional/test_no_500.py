"""Property-based runs of the public forms, the public API and the webhook:
whatever a visitor sends, the answer is never a server error (in tests an
unhandled exception propagates, so it fails the example outright).

Hypothesis rather than schemathesis: /api/v1/openapi.json describes two
read-only GET paths whose slug must match ^[a-z0-9-]{1,80}$, so a
schema-driven run would only send well-formed slugs; here every path,
query string and form field gets arbitrary text as well as hostile values.

Input classes other helpers are fixing at the same time are left out, each
with a note naming the issue and its owner (issue 15)."""

from __future__ import annotations

import json
import os
import string
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fundraiser.payments import services as payments
from fundraiser.payments.gateway import GatewayEvent
from tests import support
from tests.factories import create_appeal, create_donation

# NO500_EXAMPLES=500 for a longer hunt; the suite's run stays a few seconds a test.
RUN = settings(max_examples=int(os.environ.get("NO500_EXAMPLES", "120")), deadline=None,
               database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])

# Text a visitor can type, minus what t1 is changing under issue 15 (control
# characters in stored names and comments; CR/LF in `next`), so this run
# stays about what is left: the C0/C1 controls and U+2028/9 are filtered out
# of free text and `next`. Put them back when t1's work has landed.
_TYPED = st.characters(blacklist_categories=("Cs", "Cc"),
                       blacklist_characters="\u2028\u2029\u202e")
free_text = st.text(_TYPED, max_size=120)
HOSTILE = ["", " ", "0", "-1", "1e9", "NaN", "inf", "<script>alert(1)</script>",
           "' OR 1=1 --", "../../etc/passwd", "%00", "＝cmd|' /C calc'!A0", "😀" * 40,
           "a" * 5000, "٣٤٥", "１２", "null", "[]", "{}", "true"]
field = st.one_of(free_text, st.sampled_from(HOSTILE))
# Amounts: t1 owns locale parsing ("5,00"), bounds and overflow of stored
# numbers (issue 15, "Amounts read by locale" and "Bounds on every stored
# number"), so amounts here are short and plain: digits, one separator, a
# sign, letters. A huge figure or a locale's decimal comma belongs to t1's tests.
amount = st.one_of(st.from_regex(r"\A-?[0-9]{0,6}([.][0-9]{0,3})?\Z"),
                   st.sampled_from(["", "abc", "25", "0.001", "-5", "١٠", "1 000", "$25"]))



@pytest.fixture
def site(db, client, app):
    """A published appeal with a pool, a succeeded gift (so the pledge form
    is open), and a CSRF token a visitor's page would carry."""
    from fundraiser.matching import services as matching

    appeal = create_appeal(db.session, slug="test-appeal")
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=10_000,
                         sponsor_name="Sponsor")
    gift = create_donation(db.session, appeal)
    db.session.commit()
    payments.ingest_event(db.session, GatewayEvent(
        id="evt_site", type="payment_intent.succeeded", created=0,
        object=support.intent_object("pi_site", "succeeded", 2500, "USD",
                                     gift.payment.reference)))
    db.session.commit()
    token = support.form_token(client, client.get("/appeals/test-appeal"))
    return {"gift": gift.public_id, "csrf": token}


def no_server_error(response):
    assert response.status_code < 500, (response.status_code, response.data[:300])


# A valid gift, then up to three of its fields replaced: bad input that
# reaches the services and the database is where server errors hide.
VALID_GIFT = {"amount": "25", "currency": "USD", "name": "Dana Donor",
              "email": "dana@example.org", "display_name": "", "comment": "",
              "anonymous": "", "consent": "", "source": ""}
gift_field = {
    "amount": amount, "currency": st.one_of(st.sampled_from(["usd", "ILS", "XXX", ""]), field),
    "name": field, "email": st.one_of(st.emails(), field), "display_name": field,
    "comment": field, "anonymous": st.sampled_from(["y", "on", "false", "x" * 300]),
    "consent": st.sampled_from(["y", "1", "no"]), "source": field,
}


@st.composite
def changed(draw, valid, strategies, most=3):
    names = draw(st.lists(st.sampled_from(sorted(strategies)), max_size=most, unique=True))
    return {**valid, **{n: draw(strategies[n]) for n in names}}


@RUN
@given(data=changed(VALID_GIFT, gift_field), csrf_ok=st.booleans())
def test_the_gift_form_never_answers_500(client, site, data, csrf_ok):
    data = {**data, "csrf_token": site["csrf"] if csrf_ok else "forged"}
    no_server_error(client.post("/appeals/test-appeal/give", data=data))


VALID_PLEDGE = {"amount": "50", "display_name": "Dana", "mode": "pay_now", "agree": "y"}
pledge_field = {"amount": amount, "display_name": field,
                "mode": st.one_of(st.sampled_from(["card_saved", ""]), field),
                "agree": st.sampled_from(["", "no", "y" * 100])}


@RUN
@given(data=changed(VALID_PLEDGE, pledge_field))
def test_the_pledge_form_never_answers_500(client, site, data):
    response = client.post(f"/give/{site['gift']}/pledge",
                           data={**data, "csrf_token": site["csrf"]})
    no_server_error(response)


path_text = st.text(_TYPED, min_size=1, max_size=100)
query = st.dictionaries(st.sampled_from(["amount", "ref", "lang", "next", "page", "x",
                                         "cursor", "q"]),
                        st.one_of(free_text, st.sampled_from(HOSTILE)), max_size=4)


@RUN
@given(segment=path_text, params=query,
       route=st.sampled_from(["/api/v1/appeals/{}", "/appeals/{}", "/appeals/{}/matching",
                              "/appeals/{}/match-preview", "/give/{}", "/give/{}/status",
                              "/give/{}/thanks", "/give/{}/match-preview", "/match/{}",
                              "/match/{}/card", "/lang/{}", "/media/{}.png", "/embed/{}",
                              "/appeals/{}/sign", "/appeals/{}/sign/sent",
                              "/sign/confirm/{}"]))
def test_public_paths_and_query_strings_never_answer_500(client, site, segment, params,
                                                         route):
    # `next` carrying CR/LF is t1's (issue 15, "CR or LF in next"): _TYPED
    # leaves control characters out.
    url = route.format(quote(segment, safe="")) + ("?" + urlencode(params) if params else "")
    no_server_error(client.get(url))
    no_server_error(client.get(route.format("test-appeal") + "?" + urlencode(params)))


@RUN
@given(params=query, lang=st.one_of(st.sampled_from(["en", "he", "ar", "", "EN"]), path_text),
       next_=st.one_of(free_text, free_text.map(lambda t: "/" + t), st.sampled_from(
           ["/", "//evil.example", "https://evil.example/", "/appeals/test-appeal",
            "javascript:alert(1)", "/\\evil", "%2F%2Fevil"])))
def test_the_language_switch_never_answers_500(client, site, params, lang, next_):
    response = client.get(f"/lang/{quote(lang, safe='')}?" + urlencode({**params, "next": next_}))
    no_server_error(response)
    if response.status_code in (301, 302, 303):
        target = response.headers["Location"]
        assert not target.startswith(("//", "http://evil", "https://evil", "javascript:"))


@RUN
@given(body=st.one_of(st.binary(max_size=2000), free_text.map(str.encode),
                      st.recursive(st.none() | st.booleans() | st.integers() | free_text,
                                   lambda c: st.lists(c, max_size=4)
                                   | st.dictionaries(free_text, c, max_size=4),
                                   max_leaves=20).map(lambda v: json.dumps(v).encode())),
       signature=st.one_of(st.none(), st.sampled_from(["", "t=1,v1=00", "garbage"]),
                           free_text))
def test_unsigned_webhook_bodies_get_400(client, site, body, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400, (response.status_code, response.data[:300])


json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | free_text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(free_text, c, max_size=3),
    max_leaves=12)
EVENT_KEYS = ["id", "amount", "amount_refunded", "currency", "status", "payment_intent",
              "metadata", "last_payment_error", "object"]


@RUN
@given(type_=st.sampled_from(["charge.refunded", "charge.dispute.created",
                              "charge.dispute.closed", "payment_intent.succeeded",
                              "payment_intent.payment_failed", "customer.created", "x"]),
       obj=st.dictionaries(st.sampled_from(EVENT_KEYS), json_value, max_size=7),
       ours=st.booleans(), event_id=st.text(string.ascii_letters + "_", min_size=1,
                                            max_size=30))
def test_signed_events_of_any_shape_never_answer_500(client, app, site, type_, obj, ours,
                                                     event_id):
    # A signed event whose object lacks or mistypes id, status, amount,
    # currency, metadata, last_payment_error or amount_refunded answers 500 today (KeyError,
    # TypeError in intent_from_event_object / int()): t2's, issue 15 ("a
    # signed payment_intent event without status"), fixed on branch t2 by
    # storing such events as 'malformed'. Until that lands, those fields are
    # given their right types here; everything else stays arbitrary.
    _well_typed(type_, obj)
    if ours:  # aimed at the real gift, so the event reaches the code that applies it
        obj.setdefault("payment_intent", "pi_site")
        if type_.startswith("payment_intent."):
            obj["id"] = "pi_site"
    payload = support.stripe_event(type_, obj, "evt_" + event_id)
    response = support.post_event(client, app, payload)
    no_server_error(response)


def _well_typed(type_: str, obj: dict) -> None:
    for key in ("id", "status", "currency", "payment_intent"):
        if key in obj and not isinstance(obj[key], str):
            obj[key] = "x"
    for key in ("amount", "amount_refunded"):
        if key in obj and (not isinstance(obj[key], int) or isinstance(obj[key], bool)):
            obj[key] = 100
    if "metadata" in obj and not isinstance(obj["metadata"], dict):
        obj["metadata"] = {}
    if isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {k: v for k, v in obj["metadata"].items() if isinstance(v, str)}
    err = obj.get("last_payment_error")
    if err is not None and not (isinstance(err, dict) and all(
            isinstance(err.get(k), str | None) for k in ("code", "message"))):
        obj["last_payment_error"] = {"code": "card_declined", "message": "declined"}
    if type_.startswith("payment_intent."):
        for key, value in (("id", "pi_x"), ("status", "succeeded"), ("amount", 2500),
                           ("currency", "usd")):
            obj.setdefault(key, value)
