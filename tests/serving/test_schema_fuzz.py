"""Schemathesis over every published operation with a valid key: no 5xx, no answer outside the schema.

Bounded (a few examples per operation) so that it runs in the normal test run on 2 cores. The key
belongs to its own tenant, so the generated writes and deletes never touch other tests' data.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_keeps_its_published_contract(client: TestClient, make_key: Any) -> None:
    headers = {"Authorization": f"Bearer {make_key('fuzz', name='schemathesis')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        tried += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert tried >= 30, f"only {tried} operations in the schema"
    assert not failures, "\n\n".join(failures)
