"""The access log line over HTTP: request id, the caller's trace id from `traceparent`,
the principal, the route's template, status and latency, one JSON object; and no key or
token of the request in it."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.logs import JsonFormatter
from infra.redaction import RedactionFilter
from tests.inference_support import api_key
from tests.support import verified_account
from tests.tracing_support import in_memory_tracing

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactionFilter())
    logger = logging.getLogger("aimarket.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)


def line_of(out: io.StringIO, request_id: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [line] = [line for line in lines if line.get("request_id") == request_id]
    return line


def test_the_access_line_names_request_trace_principal_route_status_and_latency(
    client: TestClient, outbox: Path, access_lines: io.StringIO
) -> None:
    consumer = verified_account(client, outbox)
    key = api_key(client, consumer, scopes=("models:read",))
    headers = {**key, "x-request-id": "req-access-1",
               "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}  # fmt: skip
    response = client.get("/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    line = line_of(access_lines, "req-access-1")
    assert line["trace_id"] == TRACE and line["principal_id"] == consumer.id
    assert (line["route"], line["method"], line["status"]) == ("/v1/auth/me", "GET", 200)
    assert line["latency_ms"] > 0 and line["logger"] == "aimarket.access"
    assert key["X-API-Key"] not in access_lines.getvalue()


def test_an_anonymous_call_without_traceparent_starts_a_trace_of_its_own_with_no_principal(
    client: TestClient, access_lines: io.StringIO
) -> None:
    # The process's tracer provider, whichever test came first: without one no span has an
    # id, so the outcome would hang on the order the tests ran in.
    in_memory_tracing()
    for request_id in ("req-access-2", "req-access-3"):
        response = client.get("/v1/models/not-a-uuid", headers={"x-request-id": request_id})
        assert response.status_code == 422
    first, second = line_of(access_lines, "req-access-2"), line_of(access_lines, "req-access-3")
    assert re.fullmatch("[0-9a-f]{32}", first["trace_id"]) and first["trace_id"] != TRACE
    assert second["trace_id"] != first["trace_id"]
    assert (first["principal_id"], first["route"]) == ("", "/v1/models/{model_id}")


def test_a_caller_who_leaves_mid_body_is_logged_499_not_as_an_error(
    client: TestClient, outbox: Path, access_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """As a dropped upload part or model call does: the body is read after authentication,
    as a stream, and the caller is gone before its end."""
    key = api_key(client, verified_account(client, outbox), scopes=("inference",))
    path = f"/v1/models/{uuid.uuid4()}/infer"
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80),
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"64"),
                         (b"x-request-id", b"req-gone-1"),
                         (b"x-api-key", key["X-API-Key"].encode())]}  # fmt: skip
    arrivals = iter([{"type": "http.request", "body": b'{"inputs":', "more_body": True},
                     {"type": "http.disconnect"}])  # fmt: skip

    async def receive() -> dict[str, Any]:
        return next(arrivals)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="aimarket.errors"):
        client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr]
    assert sent == []  # nobody is left to answer
    assert line_of(access_lines, "req-gone-1")["status"] == 499
    assert not [r for r in caplog.records if r.name == "aimarket.errors"]
