"""JSON-lines logging. Only named fields are written, so no request body or header
(and so no password, token or key) can reach a log line by accident."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_FIELDS = ("request_id", "method", "route", "status", "latency_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({f: getattr(record, f) for f in _FIELDS if hasattr(record, f)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("aimarket")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
