"""The public JSON API against its own OpenAPI document, by schemathesis:
generated requests (valid and invalid slugs, odd headers) must get answers
the document promises — no server error, a documented status code, a body
that matches its schema, the documented content type. (Driven through
`as_strategy()`: schemathesis's pytest plugin does not load under pytest 9.)"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import create_appeal

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_the_public_api_keeps_its_openapi_promises(app, db):
    create_appeal(db.session, slug="clean-rivers", title="Clean rivers", goal_major=5_000)
    create_appeal(db.session, slug="a", title="One letter", currency="JPY")
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/api/v1/appeals", "/api/v1/appeals/{slug}"}

    for operation in operations:
        @given(case=operation.as_strategy())
        @SETTINGS
        def keeps_its_promises(case):
            case.call_and_validate(headers={"Host": "127.0.0.1:5000"})

        keeps_its_promises()
