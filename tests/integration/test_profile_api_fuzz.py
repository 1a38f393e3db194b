"""schemathesis against the profile API's own OpenAPI spec: no request it can generate gets a 5xx.

The app is the real one on real PostgreSQL (tests/conftest.py services, database_factory), with a
customer stored by the sink and an engineer key. schemathesis reads /openapi.json, draws requests
for every /v1/customers operation (path ids, query values, cursors: valid by the spec or not) and
each is sent through the same in-process client. Anything but a 5xx is fine here: 400, 404, 422
are the typed answers. Budget: docs/RELIABILITY.md ("Fuzzing budget").
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable, Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from hopnhat.access import create_key
from hopnhat.http.app import create_app
from hopnhat.settings import Settings
from streams.postgres_sink import PostgresSink
from tests.integration.test_profile_api import ev

pytestmark = pytest.mark.integration
EXAMPLES = max(10, int(os.environ.get("HYPOTHESIS_EXAMPLES", "400")) // 8)  # 50 per operation by default


@pytest.fixture
def api(services: Settings, database_factory: Callable[..., str]) -> Iterator[TestClient]:
    url = database_factory()

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply([ev("f1", 1, phone="+84912345678", email="thao.dang@gmail.com", amount=1_250_000)])
        await sink.close()

    asyncio.run(load())
    key = create_key(database_url=url, role="engineer", name="schemathesis").key
    settings_ = services.model_copy(update={"database_url": url})
    with TestClient(create_app(settings_), headers={"Authorization": f"Bearer {key}"},
                    raise_server_exceptions=False) as client:
        yield client


CUSTOMERS = {"/v1/customers/lookup", "/v1/customers/search", "/v1/customers/{customer_id}",
             "/v1/customers/{customer_id}/timeline", "/v1/customers/{customer_id}/explain"}


def test_no_generated_request_to_the_customers_api_gets_a_server_error(api: TestClient) -> None:
    schema = schemathesis.openapi.from_dict(api.get("/openapi.json").json())
    paths = {path for path in schema.raw_schema["paths"] if path.startswith("/v1/customers")}
    assert paths >= CUSTOMERS  # a new route is fuzzed too; a renamed one fails here
    answered: dict[str, set[int]] = {}
    for path in sorted(paths):
        for method in schema.raw_schema["paths"][path]:
            answered[f"{method.upper()} {path}"] = _fuzz(api, schema[path][method.upper()])
    assert all(answered.values()), answered  # every operation was called
    assert any(200 in codes for codes in answered.values()), answered  # and not only refused


def test_erasure_status_and_export_answer_generated_requests_without_a_server_error(
        isolated_settings: Settings) -> None:
    """The other operations a key reaches (an admin's): JSON bodies for POST /v1/erasures included."""
    assert isolated_settings.database_url
    key = create_key(database_url=isolated_settings.database_url, role="admin", name="schemathesis").key
    with TestClient(create_app(isolated_settings), headers={"Authorization": f"Bearer {key}"},
                    raise_server_exceptions=False) as api:
        schema = schemathesis.openapi.from_dict(api.get("/openapi.json").json())
        answered = {op: _fuzz(api, schema[path][op.split()[0]])
                    for op, path in (("POST /v1/erasures", "/v1/erasures"), ("GET /v1/status", "/v1/status"),
                                     ("GET /v1/exports/profiles", "/v1/exports/profiles"))}
    assert all(answered.values()), answered
    # bodies reached the erasure code (not only FastAPI's 422): random identifiers are refused there as 400
    assert 200 in answered["GET /v1/status"] and answered["POST /v1/erasures"] - {422}, answered
    assert 200 in answered["GET /v1/exports/profiles"], answered


def _fuzz(api: TestClient, operation: object) -> set[int]:
    answered: set[int] = set()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    def fuzz(case: schemathesis.Case) -> None:
        request = case.as_transport_kwargs(base_url="http://testserver")
        headers = {k: v for k, v in (request.get("headers") or {}).items()
                   if k.lower() not in ("authorization", "user-agent")}  # the key is the client's own header
        response = api.request(request["method"], request["url"], params=request.get("params"),
                               json=request.get("json"), headers=headers)  # the spec declares no cookie
        answered.add(response.status_code)
        assert response.status_code < 500, (request, response.status_code, response.text[:300])

    fuzz()
    return answered


def test_values_postgresql_cannot_hold_are_400_not_500(api: TestClient) -> None:
    """What the fuzzing found (a NUL in a query value reached the driver), and the cursor it cannot draw."""
    found = api.get("/v1/customers/lookup", params={"type": "phone", "value": "0912345678"})
    assert found.status_code == 200, found.text
    customer = found.json()["customer_id"]
    for params in ({"type": "zalo", "value": "\x00"}, {"type": "email", "value": "lan\x00@example.vn"}):
        answer = api.get("/v1/customers/lookup", params=params)
        assert (answer.status_code, answer.json()["detail"]) == (400, "value: contains a NUL character")
    assert api.get("/v1/customers/search", params={"name": "Thảo\x00"}).status_code == 400
    nul_cursor = base64.urlsafe_b64encode("2026-11-20T02:01:00+00:00|f\x001".encode()).decode()
    answer = api.get(f"/v1/customers/{customer}/timeline", params={"cursor": nul_cursor})
    assert answer.status_code == 400, answer.text
