"""The one redaction filter: each secret the system holds, put in a log record's message,
its arguments, an extra field and a traceback, reaches no log line; what is not a secret
still does."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
from collections.abc import Iterator

import jwt
import pytest
from cryptography.fernet import Fernet

from infra.logs import JsonFormatter, bind_request, trace_id_from, unbind_request
from infra.redaction import MASK, RedactionFilter

SIGNING_SECRET = secrets.token_urlsafe(48)
DB_PASSWORD = "pg-" + secrets.token_hex(8)
SECRETS = {
    "user password": "correct horse battery staple",
    "access token": jwt.encode({"sub": "u1", "typ": "access"}, SIGNING_SECRET, "HS256"),
    "refresh token": jwt.encode({"sub": "u1", "typ": "refresh", "jti": "x"}, "k" * 32, "HS256"),
    "api key": "aimpk_" + secrets.token_hex(16),
    "webhook secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    "stripe secret key": "sk_test_" + secrets.token_hex(12),
    "stripe live key": "sk_live_" + secrets.token_hex(12),
    "stripe restricted key": "rk_live_" + secrets.token_hex(12),
    "fernet key": Fernet.generate_key().decode(),
    "signing secret": SIGNING_SECRET,
    "database password": DB_PASSWORD,
    "card number": "4242 4242 4242 4242",
    "card number, no spaces": "5555555555554444",
}
# How each secret would appear in a message: some only by their key's name.
IN_TEXT = {
    "user password": "password={}",
    "database password": "postgresql://aimarket:{}@db:5432/aimarket",
}


class KeepingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes JSON lines and keeps each record as the filter left it (extra fields too,
    which the JSON formatter does not write but another formatter might)."""

    def __init__(self, out: io.StringIO) -> None:
        super().__init__(out)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        super().emit(record)


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = KeepingHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactionFilter([SIGNING_SECRET, DB_PASSWORD]))
    logger = logging.getLogger(f"aimarket.test.{secrets.token_hex(4)}")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger, out


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_in_the_message_arguments_extra_or_traceback_is_masked(
    log: tuple[logging.Logger, io.StringIO], name: str
) -> None:
    logger, out = log
    secret = SECRETS[name]
    text = IN_TEXT.get(name, "{}").format(secret)
    logger.info("in the message: " + text.replace("%", "%%"))
    logger.info("in an argument: %s and %r", text, {"password": secret, "note": text})
    logger.info("in extra fields", extra={"detail": text, "password": secret, "token": secret})
    try:
        raise RuntimeError(f"connecting with {text}")
    except RuntimeError:
        logger.exception("in a traceback")
    written = out.getvalue()
    kept = repr([record.__dict__ for record in logger.handlers[0].records])  # type: ignore[attr-defined]
    for seen in (written, kept):
        assert secret not in seen and secret.replace(" ", "") not in seen
    lines = [json.loads(line) for line in written.splitlines()]
    assert len(lines) == 4 and MASK in lines[0]["msg"] and MASK in lines[1]["msg"]
    assert MASK in lines[3]["exc"] and kept.count(MASK) >= 8


def test_what_is_not_secret_is_kept(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    logger.info(
        "purchase %s for %d minor units, card ending 4242, order 1234567890123",
        "3f1c9a6e-8d9b-4f5a-9a53-3a1f1c2d3e4f", 500,
        extra={"route": "/v1/models/{model_id}", "status": 201, "latency_ms": 1.5},
    )  # fmt: skip
    line = json.loads(out.getvalue())
    assert line["msg"] == (
        "purchase 3f1c9a6e-8d9b-4f5a-9a53-3a1f1c2d3e4f for 500 minor units, card ending 4242, "
        "order 1234567890123"
    )
    assert (line["route"], line["status"], line["latency_ms"]) == (
        "/v1/models/{model_id}",
        201,
        1.5,
    )


def test_lines_within_a_request_carry_its_request_and_trace_ids(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = log
    trace = trace_id_from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert trace == "4bf92f3577b34da6a3ce929d0e0e4736"
    tokens = bind_request("req-1", trace)
    try:
        logger.warning("deep in a handler")
    finally:
        unbind_request(tokens)
    logger.warning("outside any request")
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert (inside["request_id"], inside["trace_id"]) == ("req-1", trace)
    assert "request_id" not in outside and "trace_id" not in outside


@pytest.mark.parametrize(
    "header", [None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "00-abc-def-01"]
)
def test_a_missing_or_malformed_traceparent_gives_no_trace_id(header: str | None) -> None:
    assert trace_id_from(header) == ""
