"""The OpenAPI 3.1 document for the public API, served at /api/v1/openapi.json."""

_int = {"type": "integer"}
_str = {"type": "string"}

MATCH_POOL = {
    "type": "object",
    "required": ["id", "sponsor", "ratio", "cap_minor", "allocated_minor", "remaining_minor"],
    "properties": {
        "id": _int, "sponsor": _str, "ratio": {"type": "string", "example": "1:1"},
        "cap_minor": _int, "allocated_minor": _int, "remaining_minor": _int,
        "currency": {"type": "string", "description": "ISO 4217 code"},
        "starts_at": {"type": ["string", "null"], "format": "date-time"},
        "ends_at": {"type": ["string", "null"], "format": "date-time"},
        "open": {"type": "boolean", "description": "Matching gifts right now"},
    },
    "description": "A sponsor's pool, in draw order (ends_at first, then id). "
                   "allocated_minor = sum of the pool's match ledger rows (allocations "
                   "less reversals); remaining_minor = cap_minor - allocated_minor.",
}

PLEDGE = {
    "type": "object",
    "required": ["id", "pledger", "ratio", "pledged_minor", "unlocked_minor",
                 "remaining_minor", "currency", "paid_upfront", "status"],
    "properties": {
        "id": _int, "pledger": _str, "ratio": {"type": "string", "example": "1:1"},
        "pledged_minor": _int,
        "unlocked_minor": {**_int, "description": "Matched by friends' gifts so far"},
        "remaining_minor": _int, "currency": _str,
        "paid_upfront": {"type": "boolean",
                         "description": "The pledger gave the full amount already; it "
                                        "counts in raised_minor, so unlocked_minor is "
                                        "not added to matched_minor again. False: a "
                                        "saved card is charged at the close for exactly "
                                        "unlocked_minor, which counts in matched_minor"},
        "status": {"type": "string", "enum": ["active", "closed"],
                   "description": "closed: the appeal ended and the saved card was charged"},
    },
    "description": "A supporter's promise to match friends who give through their link.",
}

SIGNATURES = {
    "type": "object",
    "required": ["count", "goal"],
    "properties": {
        "count": {**_int, "description": "Confirmed signatures (each email counts once)"},
        "goal": {"type": ["integer", "null"], "minimum": 1,
                 "description": "Signature goal; null when the appeal sets none"},
    },
    "description": "Sign-on: confirmed signatures and the goal (count 0, goal null for an "
                   "appeal that does not ask for signatures).",
}

APPEAL = {
    "type": "object",
    "required": ["slug", "title", "status", "currency", "goal_minor", "raised_minor",
                 "matched_minor", "total_minor", "donor_count", "donation_count",
                 "ends_at", "match_pools", "pledges", "signatures"],
    "properties": {
        "slug": _str, "title": _str,
        "status": {"type": "string", "enum": ["published", "closed"]},
        "currency": {"type": "string", "description": "ISO 4217 code"},
        "goal_minor": {**_int, "description": "Goal in minor units (cents)"},
        "raised_minor": {**_int, "description": "Succeeded gifts less refunds, in the "
                                               "appeal's currency: a gift in another "
                                               "currency counts at the rate stored with it"},
        "matched_minor": {**_int, "description": "Matching money unlocked by gifts from "
                                                "sponsor pools: allocations less reversals"},
        "total_minor": {**_int, "description": "raised_minor + matched_minor"},
        "donor_count": _int, "donation_count": _int,
        "ends_at": {"type": ["string", "null"], "format": "date-time"},
        "url": {"type": "string", "format": "uri"},
        "match_pools": {"type": "array", "items": MATCH_POOL},
        "pledges": {"type": "array", "items": PLEDGE},
        "signatures": SIGNATURES,
        "accepted_currencies": {"type": "array", "items": _str,
                                "description": "ISO 4217 codes donors may give in; the "
                                               "appeal's own first"},
        "second_currency": {
            "type": ["object", "null"],
            "description": "The total in the appeal's second currency at today's rate, "
                           "rounded to three significant figures; null when none is set "
                           "or there is no rate",
            "required": ["currency", "about_minor"],
            "properties": {
                "currency": {"type": "string", "description": "ISO 4217 code"},
                "about_minor": {**_int, "description": "In that currency's minor units, "
                                                      "a whole number of major units; it "
                                                      "moves with total_minor (the appeal "
                                                      "page polls it)"}}},
    },
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Fundraiser public API", "version": "1.0.0",
             "description": "Read-only progress of published appeals. Amounts are integers "
                            "in the currency's minor units."},
    "paths": {
        "/api/v1/appeals": {"get": {
            "summary": "Published appeals",
            "responses": {"200": {"description": "List of appeals", "content": {
                "application/json": {"schema": {"type": "array", "items": {
                    "type": "object", "required": ["slug", "title", "url"],
                    "properties": {"slug": _str, "title": _str,
                                   "url": {"type": "string", "format": "uri"}}}}}}}},
        }},
        "/api/v1/appeals/{slug}": {"get": {
            "summary": "One appeal's progress",
            "parameters": [{"name": "slug", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,80}$"}}],
            "responses": {
                "200": {"description": "Progress",
                        "content": {"application/json": {"schema": APPEAL}}},
                "404": {"description": "No such published appeal"},
            },
        }},
    },
}
