"""Our own JSON envelope for a domain event: the one public shape of an event.

Shared by the audit endpoints, the relay and the partner feed; never expose the
library's stored state. Secrets are stored only as hashes, and even the hashes
stay out of envelopes.

The relay builds one envelope per event at tens of thousands a second, so the
functions here avoid per-call work that can be done once (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

ENVELOPE_SCHEMA = "aimarket.event.v1"
REDACTED = "[redacted]"
_EVENT_ID_NAMESPACE = UUID("8f3c6c52-6f57-4c8b-9b51-0f5c2f0c1a7e")
_NAMESPACE_BYTES = _EVENT_ID_NAMESPACE.bytes
_ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)
# Values that are JSON as they are; `type(v) in` also keeps enums (str/int subclasses) out.
_PLAIN = frozenset({str, int, float, bool, type(None)})
# uuid5's variant nibble: the hash's two top bits replaced by 10.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_sha1 = hashlib.sha1


def event_id(aggregate_id: UUID | str, version: int) -> str:
    """`uuid5(namespace, "<aggregate id>:<version>")`, spelled out on the hex digest: the
    relay computes one per event, and the uuid module's objects cost more than the hash."""
    h = _sha1(_NAMESPACE_BYTES + f"{aggregate_id}:{version}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def event_type(domain_event: object) -> str:
    """`User.Registered`: the aggregate and the past-tense fact."""
    return type(domain_event).__qualname__


def is_secret(field: str) -> bool:
    return field.endswith("_hash") or field in {"password", "token", "secret"}


def to_jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


_SKIP, _MASK, _KEEP = 0, 1, 2


def _field_action(name: str) -> int:
    return _SKIP if name.startswith("_") else _MASK if is_secret(name) else _KEEP


def _envelope_action(name: str) -> int:
    return _SKIP if name in _ENVELOPE_FIELDS else _field_action(name)


class Enveloper:
    """Envelopes, each field's rule looked up by name once per enveloper: the names are
    the code's own, so the memo stays small, and a dict lookup is what the relay's hot
    path can afford (a computed rule or a functools.cache call costs 2-3 times more).
    Whoever envelopes many events keeps one (the relay's encoder, a batch read); the
    plain functions below use a fresh one."""

    def __init__(self) -> None:
        self._field: dict[str, int] = {}
        self._envelope: dict[str, int] = {}

    def public_fields(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return _public(attributes, self._field, _field_action)

    def envelope(self, domain_event: Any) -> dict[str, Any]:
        return self._build(domain_event, domain_event.timestamp.isoformat())

    def envelope_for_json(self, domain_event: Any) -> dict[str, Any]:
        """The envelope with a UTC `occurred_at` left a datetime, for a serialiser that
        writes it exactly as `isoformat()` does (orjson): the relay's hot path."""
        timestamp: datetime = domain_event.timestamp
        at = timestamp if timestamp.tzinfo is UTC else timestamp.isoformat()
        return self._build(domain_event, at)

    def _build(self, domain_event: Any, occurred_at: str | datetime) -> dict[str, Any]:
        aggregate_id = str(domain_event.originator_id)
        version: int = domain_event.originator_version
        return {
            # Deterministic, so a redelivered event keeps its id and consumers can dedupe.
            "id": event_id(aggregate_id, version),
            "type": type(domain_event).__qualname__,
            "aggregate_id": aggregate_id,
            "version": version,
            "occurred_at": occurred_at,
            "schema": ENVELOPE_SCHEMA,
            "data": _public(vars(domain_event), self._envelope, _envelope_action),
        }


def _public(
    attributes: dict[str, Any], actions: dict[str, int], classify: Callable[[str], int]
) -> dict[str, Any]:
    public: dict[str, Any] = {}
    for name, value in attributes.items():
        action = actions.get(name)
        if action is None:
            action = actions[name] = classify(name)
        if action == _KEEP:
            public[name] = value if type(value) in _PLAIN else to_jsonable(value)
        elif action == _MASK:
            public[name] = REDACTED
    return public


def public_fields(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes with secrets masked and private (underscored) names left out."""
    return Enveloper().public_fields(attributes)


def envelope(domain_event: Any) -> dict[str, Any]:
    return Enveloper().envelope(domain_event)


def envelope_for_json(domain_event: Any) -> dict[str, Any]:
    return Enveloper().envelope_for_json(domain_event)
