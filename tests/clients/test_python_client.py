"""The Python client in clients/python: checked against the service's OpenAPI schema; retries; errors."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
from triage_client import (
    ANSWERS,
    ENDPOINTS,
    AsyncTriageClient,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    TriageClient,
    ValidationFailed,
)

from serving.app import create_app
from serving.settings import load_settings


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The schema the service publishes at /openapi.json (no models needed to build it)."""
    app = create_app(load_settings(data_dir=tmp_path_factory.mktemp("schema")))
    return app.openapi()


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["components"]["schemas"][name]
    return schema


def _fields(typed: Any) -> dict[str, tuple[Any, bool]]:
    """Each key's type and whether it is NotRequired. Read from the hints, not ``__optional_keys__``:
    under ``from __future__ import annotations`` Python 3.11 cannot see NotRequired at class creation."""
    fields = {}
    for key, hint in typing.get_type_hints(typed, include_extras=True).items():
        optional = typing.get_origin(hint) is typing.NotRequired
        fields[key] = (typing.get_args(hint)[0] if optional else hint, optional)
    return fields


def _object_schema(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any] | None:
    schema = _resolve(schema, root)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _object_schema(option, root)
    return schema if "properties" in schema else None


def _check_typed(
    typed: Any, schema: dict[str, Any], root: dict[str, Any], where: str, seen: frozenset[str] = frozenset()
) -> list[str]:
    """Every key the client's TypedDict reads is in the schema (required unless NotRequired); nested too.

    A TypedDict that contains itself (a reason's ``because`` lists reasons) is checked once per path."""
    if typed.__qualname__ in seen:
        return []
    seen = seen | {typed.__qualname__}
    problems = []
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    for key, (hint, optional) in _fields(typed).items():
        if key not in properties:
            problems.append(f"{where}.{key}: the client reads it, the schema has no such field")
            continue
        if not optional and key not in required and "default" not in properties[key]:
            problems.append(f"{where}.{key}: the client counts on it, the schema makes it optional")
        for inner in typing.get_args(hint) or (hint,):
            inner = typing.get_args(inner)[0] if typing.get_origin(inner) is list else inner
            if isinstance(inner, type) and typing.is_typeddict(inner):
                sub = properties[key]
                if sub.get("type") == "array":
                    sub = sub["items"]
                nested = _object_schema(sub, root)
                if nested is not None:
                    problems += _check_typed(inner, nested, root, f"{where}.{key}", seen)
    return problems


def test_every_client_route_exists_in_the_schema(openapi: dict[str, Any]) -> None:
    for name, (method, path) in ENDPOINTS.items():
        assert path in openapi["paths"], f"client.{name} calls {path}, which the service does not serve"
        assert method.lower() in openapi["paths"][path], f"client.{name}: {method} {path} is not served"


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_client_answer_types_match_the_schema(openapi: dict[str, Any], name: str) -> None:
    method, path = ENDPOINTS[name]
    responses = openapi["paths"][path][method.lower()]["responses"]
    ok = next(code for code in responses if code.startswith("2"))
    schema = _resolve(responses[ok]["content"]["application/json"]["schema"], openapi)
    assert _check_typed(ANSWERS[name], schema, openapi, name) == []


def test_drift_is_caught() -> None:
    """The check itself fails on a renamed field (so the tests above can fail)."""

    class Renamed(typing.TypedDict):
        id: int
        renamed: str

    schema = {"properties": {"id": {"type": "integer"}}, "required": ["id"]}
    assert _check_typed(Renamed, schema, {}, "x") == [
        "x.renamed: the client reads it, the schema has no such field"
    ]


def _transport(answers: list[httpx.Response | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


PROBLEM = {"content-type": "application/problem+json"}


def test_retries_429_honouring_retry_after_then_returns() -> None:
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"title": "slow down", "detail": "later"}),
        httpx.Response(200, json={"deliveries": [], "total": 0, "limit": 50, "offset": 0}),
    ]
    with TriageClient(
        "http://svc", api_key="tt_k", backoff=0.01, transport=_transport(answers, seen)
    ) as client:
        assert client.list_deliveries()["total"] == 0
    assert len(seen) == 2 and seen[0].headers["Authorization"] == "Bearer tt_k"


def test_problem_json_becomes_typed_exceptions() -> None:
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [
        httpx.Response(
            404, headers=PROBLEM, json={"title": "Connector not found", "status": 404, "detail": "no x"}
        ),
        httpx.Response(422, json={"detail": [{"loc": ["query", "state"], "msg": "bad", "type": "enum"}]}),
        *[httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow"}) for _ in range(3)],
        *[httpx.Response(502, text="bad gateway") for _ in range(3)],
    ]
    with TriageClient("http://svc", retries=2, backoff=0.001, transport=_transport(answers, seen)) as client:
        with pytest.raises(NotFound) as missing:
            client.get_connector("x")
        assert missing.value.title == "Connector not found" and missing.value.detail == "no x"
        with pytest.raises(ValidationFailed) as invalid:
            client.list_deliveries(state="lost")
        assert invalid.value.errors[0]["loc"] == ["query", "state"] and "query.state" in invalid.value.detail
        with pytest.raises(RateLimited) as limited:
            client.list_deliveries()
        assert limited.value.retry_after == 0.0
        with pytest.raises(ServerError):
            client.list_connectors()
    assert len(seen) == 8


def test_posts_are_not_repeated_after_a_lost_connection() -> None:
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [httpx.ConnectError("refused")]
    client = TriageClient("http://svc", backoff=0.001, transport=_transport(answers, seen))
    with client, pytest.raises(TransportError):
        client.triage("printer broken")
    assert len(seen) == 1, "a POST may have been processed: not retried on a transport error"


def test_pagination_helper_walks_every_page() -> None:
    pages = [
        {"deliveries": [{"id": 3}, {"id": 2}], "total": 3, "limit": 2, "offset": 0},
        {"deliveries": [{"id": 1}], "total": 3, "limit": 2, "offset": 2},
    ]
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [httpx.Response(200, json=p) for p in pages]
    with TriageClient("http://svc", transport=_transport(answers, seen)) as client:
        assert [d["id"] for d in client.iter_deliveries(page_size=2)] == [3, 2, 1]
    assert [r.url.params["offset"] for r in seen] == ["0", "2"]


def test_async_client_has_the_same_behaviour() -> None:
    pages = [{"deliveries": [{"id": 1}], "total": 1, "limit": 50, "offset": 0}]
    answers = [httpx.Response(503, json={"detail": "busy"}), *[httpx.Response(200, json=p) for p in pages]]

    async def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def run() -> list[int]:
        async with AsyncTriageClient(
            "http://svc", backoff=0.001, transport=httpx.MockTransport(handle)
        ) as client:
            return [d["id"] async for d in client.iter_deliveries()]

    assert asyncio.run(run()) == [1]


def test_client_is_its_own_installable_package() -> None:
    root = Path(__file__).resolve().parents[2] / "clients" / "python"
    assert (root / "pyproject.toml").is_file() and (root / "triage_client" / "py.typed").is_file()
