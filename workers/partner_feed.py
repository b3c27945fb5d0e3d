"""Partner feed: internal event envelopes become public, PII-free, versioned events.

Pure: no I/O and no Kafka. The worker that consumes `aimarket.events.*` calls `to_public`
for each envelope and produces the result to `aimarket.public.v1.<topic>`.

An allow-list by construction: a public event carries only the fields its `PublicType`
declares, each computed by its own getter, so a field added to an internal event never
reaches partners until someone maps it here. The JSON Schemas and the AsyncAPI document
in docs/events/ are generated from these same declarations (workers/public_schemas.py).

Every id partners see is a keyed pseudonym (HMAC-SHA256 under the feed's secret key):
a user's aggregate id is a uuid5 of their email, and an envelope's id a uuid5 of that,
so publishing either would let anyone holding a list of emails test who has an account.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.api_key import SCOPES
from domain.envelope import ENVELOPE_SCHEMA
from domain.user import Role

PUBLIC_PREFIX = "aimarket.public.v1"
MIN_KEY_BYTES = 32


class InvalidEnvelope(ValueError):
    """Not an envelope this feed understands, or a value outside its declared set."""


@dataclass(frozen=True)
class Source:
    """What a field's getter may read: one internal envelope and the pseudonym key."""

    envelope: Mapping[str, Any]
    key: bytes

    def pseudonym(self, kind: str, internal_id: str) -> str:
        """A stable UUID (version 8: custom) that only the key's holder can link back."""
        message = f"{kind}:{UUID(internal_id)}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()[:16]
        value = int.from_bytes(digest, "big")
        value = (value & ~(0xF << 76)) | (0x8 << 76)  # version 8
        value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
        return str(UUID(int=value))

    def data(self, name: str) -> Any:
        return self.envelope["data"][name]


@dataclass(frozen=True)
class PublicField:
    name: str
    schema: dict[str, Any]  # JSON Schema of the value, published in docs/events/
    get: Callable[[Source], Any]


@dataclass(frozen=True)
class PublicType:
    name: str  # `account.registered`: subject, then the past-tense fact
    topic: str  # `accounts`: the last part of the Kafka topic
    summary: str
    fields: tuple[PublicField, ...]
    key_field: str  # the id of the event's subject: Kafka key, so per-subject order holds

    @property
    def topic_name(self) -> str:
        return f"{PUBLIC_PREFIX}.{self.topic}"

    @property
    def schema_name(self) -> str:
        return f"{PUBLIC_PREFIX}.{self.name}"

    @property
    def schema_file(self) -> str:
        return f"{self.schema_name}.schema.json"


@dataclass(frozen=True)
class PublicEvent:
    topic: str
    key: str
    value: dict[str, Any]


def pseudonymous_id(name: str, kind: str, source: str | None = None) -> PublicField:
    """The pseudonym of the envelope's aggregate id, or of the id in data field `source`."""

    def get(src: Source) -> str:
        internal = src.envelope["aggregate_id"] if source is None else src.data(source)
        return src.pseudonym(kind, str(internal))

    description = f"Pseudonymous {kind.replace('_', ' ')} id, stable across all public events."
    return PublicField(name, {"type": "string", "format": "uuid", "description": description}, get)


def one_of(name: str, allowed: list[str], source: str | None = None) -> PublicField:
    """A value from a closed set: checked, so free text can never ride along in it."""

    def get(src: Source) -> str:
        value = src.data(source or name)
        if value not in allowed:
            raise InvalidEnvelope(f"{name}={value!r} is not one of {allowed}")
        return str(value)

    return PublicField(name, {"type": "string", "enum": allowed}, get)


def subset_of(name: str, allowed: list[str], source: str | None = None) -> PublicField:
    def get(src: Source) -> list[str]:
        values = list(src.data(source or name))
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise InvalidEnvelope(f"{name} has unknown values {unknown}")
        return sorted(set(values))

    items = {"type": "string", "enum": allowed}
    return PublicField(name, {"type": "array", "items": items, "uniqueItems": True}, get)


def optional_timestamp(name: str, source: str | None = None) -> PublicField:
    def get(src: Source) -> str | None:
        value = src.data(source or name)
        return None if value is None else _timestamp(value)

    schema = {"type": ["string", "null"], "format": "date-time"}
    return PublicField(name, schema, get)


def _timestamp(value: str) -> str:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise InvalidEnvelope(f"timestamp {value!r} has no time zone")
    return parsed.isoformat()


ACCOUNTS, API_KEYS = "accounts", "api_keys"
ACCOUNT_ID = pseudonymous_id("account_id", "account")
ROLE = one_of("role", [role.value for role in Role])
KEY_OWNER = pseudonymous_id("account_id", "account", source="owner_id")
API_KEY_ID = pseudonymous_id("api_key_id", "api_key")
KEY_SCOPES = subset_of("scopes", sorted(SCOPES))


def _account(name: str, summary: str, *fields: PublicField) -> PublicType:
    return PublicType(name, ACCOUNTS, summary, (ACCOUNT_ID, *fields), "account_id")


def _api_key(name: str, summary: str, *fields: PublicField) -> PublicType:
    return PublicType(name, API_KEYS, summary, (API_KEY_ID, *fields), "api_key_id")


# Internal event type -> public type. Adding an event: one line here or one in DROPPED.
MAPPINGS: dict[str, PublicType] = {
    "User.Registered": _account("account.registered", "An account was opened.", ROLE),
    "User.EmailVerified": _account("account.verified", "The account's owner was verified."),
    "User.RoleChanged": _account("account.role_changed", "The account's role changed.", ROLE),
    "User.Deactivated": _account(
        "account.deactivated", "The account was closed (an admin may reopen it later)."
    ),
    "User.Reactivated": _account("account.reactivated", "A closed account was reopened."),
    "ApiKey.Created": _api_key(
        "api_key.created",
        "An account created an API key.",
        KEY_OWNER,
        KEY_SCOPES,
        optional_timestamp("expires_at"),
    ),
    # Revoked carries no owner: the key's own created event, earlier on its key, names it.
    "ApiKey.Revoked": _api_key("api_key.revoked", "An API key was revoked."),
}

# Internal event types partners never see, and why: the tests fail on an event in neither.
DROPPED: dict[str, str] = {
    "User.PasswordChanged": "security detail about a person; carries a password hash",
    "User.ApiKeyAdded": "the same fact as api_key.created, seen from the account",
    "ApiKey.Used": "per-person activity trail, high volume; usage has its own reports",
    "LoginSession.Started": "sessions are security internals: token hashes, token ids",
    "LoginSession.Rotated": "sessions are security internals: token hashes, token ids",
    "LoginSession.Revoked": "sessions are security internals: token hashes, token ids",
    "User.Renamed": "a display name is personal data partners do not need",
    # Who administers the platform: an internal index; role changes are public already.
    "AdminRoster.Started": "internal index of the active admins",
    "AdminRoster.Admitted": "internal index of the active admins",
    "AdminRoster.Dismissed": "internal index of the active admins",
}
# The registry's events say nothing about visibility on their own (a version of a private
# model is published like any other), so none leaves until a catalogue feed can tell.
_CATALOGUE_LATER = "private models would leak: no per-event visibility yet"
DROPPED |= {
    f"Model.{name}": _CATALOGUE_LATER
    for name in (
        "Created", "DetailsUpdated", "PricingChanged", "VersionUploaded", "VersionValidated",
        "VersionRejected", "VersionPublished", "DefaultVersionChanged", "Deprecated", "Deleted",
        "StatsUpdated", "Deployed", "DeploymentFailed", "Undeployed",
    )
}  # fmt: skip
DROPPED |= {
    "Usage.Started": "per-person activity; partners get usage as aggregates, not per consumer",
    "Usage.Recorded": "per-person activity; partners get usage as aggregates, not per consumer",
    "Usage.BatchRecorded": "per-person activity; partners get usage as aggregates",
}
DROPPED |= {
    f"Budget.{name}": "one consumer's spending caps and alerts: private"
    for name in ("Started", "CapSet", "ThresholdNotified")
}
_BETWEEN_TWO = "between one consumer and one publisher: answers, reasons, personal names"
DROPPED |= {
    f"AccessRequest.{name}": _BETWEEN_TWO
    for name in ("Requested", "Rerequested", "Approved", "Rejected", "Revoked")
}
DROPPED |= {
    "Review.Written": "free text and a reviewer's name; partners get ratings with the catalogue",
    "Review.Edited": "free text and a reviewer's name; partners get ratings with the catalogue",
    "Review.Replied": "free text; partners get ratings with the catalogue",
    "Review.Hidden": "moderation detail, with an admin's reason",
    "Review.Unhidden": "moderation detail",
}
DROPPED |= {
    f"Upload.{name}": "a publisher's work in progress; the version events tell the outcome"
    for name in ("Started", "Completed", "Failed")
}
DROPPED |= {
    f"PublisherLedger.{name}": "a publisher's earnings and payouts: their own business"
    for name in (
        "Opened", "ChargeRecorded", "RefundRecorded", "AccountConnected", "PayoutStarted",
        "PayoutEnded",
    )
}  # fmt: skip

_PAYMENTS = "one person's payments: amounts, provider ids, who bought what"
DROPPED |= {
    f"Purchase.{name}": _PAYMENTS
    for name in (
        "Requested", "PaymentPending", "PaymentCaptured", "PaymentFailed", "AccessGranted",
        "Completed", "RefundRequested", "Refunded", "Canceled",
    )
}  # fmt: skip
DROPPED |= {
    f"Subscription.{name}": _PAYMENTS
    for name in (
        "Started", "Restarted", "Activated", "Renewed", "PastDue", "CancelRequested",
        "Canceled", "PlanChanged",
    )
}  # fmt: skip
DROPPED |= {
    "BillingAccount.Opened": "a person's customer at the payment provider",
    "BillingAccount.CardAdded": "a person's saved card (brand, last four, expiry)",
    "PaidPurchases.Opened": "an internal index of who bought what",
    "PaidPurchases.PurchaseAdded": "an internal index of who bought what",
}
DROPPED |= {
    f"Invoice.{name}": "one consumer's bill: private" for name in ("Drafted", "Pushed", "Paid")
}
DROPPED["ProviderEvent.Handled"] = "the payment provider's bookkeeping, no public fact"


def public_types() -> list[PublicType]:
    """Each public type once, in declaration order (several internal types may share one)."""
    return list({public.name: public for public in MAPPINGS.values()}.values())


def to_public(envelope: Mapping[str, Any], *, key: bytes) -> PublicEvent | None:
    """The public event for an internal envelope; None for a type partners do not get.

    A type in neither MAPPINGS nor DROPPED is dropped too: leaking is worse than missing,
    and the unit tests refuse such a type before it ships.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the partner feed's pseudonym key needs {MIN_KEY_BYTES}+ bytes")
    if envelope.get("schema") != ENVELOPE_SCHEMA:
        raise InvalidEnvelope(f"unknown envelope schema {envelope.get('schema')!r}")
    public = MAPPINGS.get(str(envelope["type"]))
    if public is None:
        return None
    source = Source(envelope, key)
    data = {field.name: field.get(source) for field in public.fields}
    value = {
        # Keyed on the internal id, so a redelivered envelope gets the same public id.
        "id": source.pseudonym("event", str(envelope["id"])),
        "type": public.name,
        "schema": public.schema_name,
        "occurred_at": _timestamp(str(envelope["occurred_at"])),
        "data": data,
    }
    return PublicEvent(public.topic_name, str(data[public.key_field]), value)
