"""Our own JSON envelope for a domain event: the one public shape of an event.

Shared by the audit endpoints now and the relay and partner feed later; never
expose the library's stored state. Secrets are stored only as hashes, and even
the hashes stay out of envelopes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

ENVELOPE_SCHEMA = "aimarket.event.v1"
REDACTED = "[redacted]"
_EVENT_ID_NAMESPACE = UUID("8f3c6c52-6f57-4c8b-9b51-0f5c2f0c1a7e")
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def event_id(aggregate_id: UUID, version: int) -> str:
    """`uuid5(namespace, "<aggregate id>:<version>")`, spelled out: the relay computes one
    per event, and the uuid module's objects cost more than the hash itself."""
    digest = bytearray(
        hashlib.sha1(_EVENT_ID_NAMESPACE.bytes + f"{aggregate_id}:{version}".encode()).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_type(domain_event: object) -> str:
    """`User.Registered`: the aggregate and the past-tense fact."""
    return type(domain_event).__qualname__


def is_secret(field: str) -> bool:
    return field.endswith("_hash") or field in {"password", "token", "secret"}


def to_jsonable(value: Any) -> Any:
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


def public_fields(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes with secrets masked and private (underscored) names left out."""
    return {
        name: REDACTED if is_secret(name) else to_jsonable(value)
        for name, value in attributes.items()
        if not name.startswith("_")
    }


def envelope(domain_event: Any) -> dict[str, Any]:
    aggregate_id: UUID = domain_event.originator_id
    version: int = domain_event.originator_version
    data = {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE_FIELDS}
    return {
        # Deterministic, so a redelivered event keeps its id and consumers can dedupe.
        "id": event_id(aggregate_id, version),
        "type": event_type(domain_event),
        "aggregate_id": str(aggregate_id),
        "version": version,
        "occurred_at": domain_event.timestamp.isoformat(),
        "schema": ENVELOPE_SCHEMA,
        "data": public_fields(data),
    }
