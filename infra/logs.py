"""JSON-lines logging. Only named fields are written, so no request body or header
reaches a log line by accident; and the one redaction filter (infra/redaction.py) masks
any secret that a message, argument, extra field or traceback carries all the same.

Every line written while a request is served carries its request id and trace id (the
middleware binds them for the request's context), so an error logged deep in a handler
can be found beside the request's access line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry import trace

from infra.redaction import RedactionFilter

if TYPE_CHECKING:
    from infra.settings import Settings

_FIELDS = ("method", "route", "status", "latency_ms", "principal_id")
_request_id: ContextVar[str] = ContextVar("aimarket_request_id", default="")
_trace_id: ContextVar[str] = ContextVar("aimarket_trace_id", default="")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def trace_id_from(traceparent: str | None) -> str:
    """The trace id of a W3C `traceparent` header; empty when absent or malformed."""
    match = _TRACEPARENT.fullmatch(traceparent.strip().lower()) if traceparent else None
    if match is None or match.group(1) == "0" * 32:
        return ""
    return match.group(1)


def bind_request(request_id: str, trace_id: str) -> tuple[Token[str], Token[str]]:
    return _request_id.set(request_id), _trace_id.set(trace_id)


def unbind_request(tokens: tuple[Token[str], Token[str]]) -> None:
    _request_id.reset(tokens[0])
    _trace_id.reset(tokens[1])


def current_trace_id() -> str:
    """The trace the current log line belongs to: the current OpenTelemetry span's (sampled
    or not), else the caller's `traceparent` as the middleware bound it."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else _trace_id.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            line["request_id"] = request_id
            line["trace_id"] = getattr(record, "trace_id", None) or current_trace_id()
        line.update({f: getattr(record, f) for f in _FIELDS if hasattr(record, f)})
        if record.exc_info or record.exc_text:
            line["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """JSON lines on stderr for the `aimarket` loggers, through the redaction filter that
    also masks the `secrets` given by value (the configured keys and passwords)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactionFilter(secrets))
    root = logging.getLogger("aimarket")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def secrets_of(settings: Settings) -> list[str]:
    """The secrets the settings hold, by value, for the redaction filter."""
    held = [settings.signing_secret(), *settings.stripe_webhook_secret_list()]
    for secret in (settings.partner_feed_key, settings.stripe_api_key):
        if secret is not None:
            held.append(secret.get_secret_value())
    for url in (settings.database_url, settings.mongo_url, settings.opensearch_url):
        password = urlsplit(url).password if url else None
        if password:
            held.append(password)
    return held
