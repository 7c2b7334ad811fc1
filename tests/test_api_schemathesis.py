"""Fuzz the API from its own OpenAPI document (schemathesis): no 5xx, responses as documented.

Every operation gets generated inputs (valid and invalid) as a client
system holding every scope and as an officer, against the real app on a
real store holding one reviewed application. Bounded: `MAX_EXAMPLES` per
operation and identity keeps the run well under two minutes.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from shencha.api import create_app
from shencha.service.clients import create_client
from shencha.store import Store
from tests.api_support import login, seed

MAX_EXAMPLES = 10


def test_no_server_error_and_documented_answers(store_url):
    seed(store_url)
    key = create_client(Store(store_url), None, "fuzzer",
                        ["submit", "read_reports", "share:yingji", "share:xiaofang", "share:shichang"])[1]
    app = create_app(store_url, run_jobs=False)
    with TestClient(app) as client:
        identities = {"client": f"Bearer {key}", "officer": login(client, "officer")["Authorization"]}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    calls: dict[str, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12  # the contract's routes, the correction routes and the case decision included
    for operation in operations:
        for name, token in identities.items():
            for mode in GenerationMode:  # inputs the schema allows, and inputs it forbids
                _fuzz(operation, mode, token, f"{operation.label} as {name} ({mode.value})", checks, calls)
    total = sum(calls.values())
    print(f"schemathesis: {total} generated calls over {len(calls)} operation/identity/mode runs, 0 failures")
    assert total >= len(operations) * len(identities)


def _fuzz(operation, mode: GenerationMode, token: str, label: str, checks: list, calls: dict[str, int]) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        case.headers = {**(case.headers or {}), "Authorization": token}
        case.call_and_validate(checks=checks)
        calls[label] = calls.get(label, 0) + 1

    fuzz()
