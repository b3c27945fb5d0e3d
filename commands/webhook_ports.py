"""Webhooks (job completions, account events): what endpoints, secrets, deliveries and
attempts are, and the ports the service and the dispatcher need (store, secret box,
signer, sender, URL guard)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from uuid import UUID

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    owner_id: UUID
    url: str
    description: str
    created_at: float


@dataclass(frozen=True)
class Attempt:
    at: float
    outcome: str  # delivered, failed (an answer other than 2xx, or no answer), refused (SSRF)
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Delivery:
    id: UUID  # also the `webhook-id`: the same on every retry, so receivers can dedupe
    owner_id: UUID
    endpoint_id: UUID
    url: str
    event_type: str
    payload: str  # the exact JSON body that is signed and sent
    status: str
    created_at: float
    next_attempt_at: float
    give_up_at: float
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class SecretPair:
    """The account's signing secrets, encrypted: the current one, and the previous one
    while it is still valid after a rotation."""

    current: bytes
    previous: bytes | None = None
    previous_until: float | None = None


class WebhookStore(Protocol):
    def add_endpoint(self, endpoint: Endpoint) -> None: ...

    def endpoints(self, owner_id: UUID) -> list[Endpoint]: ...

    def delete_endpoint(self, owner_id: UUID, endpoint_id: UUID, now: float) -> bool:
        """Remove it (and end its pending deliveries); False if the owner has no such one."""
        ...

    def secrets(self, owner_id: UUID) -> SecretPair | None: ...

    def put_secrets(self, owner_id: UUID, pair: SecretPair) -> None: ...

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        """Add them; one whose id is stored already is left as it is."""
        ...

    def take_due(self, now: float, hold_until: float, limit: int) -> list[Delivery]:
        """Pending deliveries due by `now`, held (next attempt moved to `hold_until`) so
        no other dispatcher takes them meanwhile."""
        ...

    def record(self, delivery_id: UUID, attempt: Attempt, status: str, next_at: float) -> None: ...

    def delivery(self, delivery_id: UUID) -> Delivery | None: ...

    def deliveries(
        self, owner_id: UUID, endpoint_id: UUID | None, after: tuple[float, str] | None, limit: int
    ) -> list[Delivery]:
        """Newest first, after (created_at, id) of the last one given."""
        ...

    def redeliver(self, delivery_id: UUID, now: float) -> None:
        """One more attempt now (pending, due now, no retries after it)."""
        ...


class SecretBox(Protocol):
    """Encrypts signing secrets at rest: they must be usable to sign, so not hashed."""

    def seal(self, secret: str) -> bytes: ...

    def open(self, sealed: bytes) -> str: ...

    def new_secret(self) -> str: ...


class Signer(Protocol):
    def headers(self, secrets: list[str], msg_id: str, at: float, payload: str) -> dict[str, str]:
        """webhook-id, webhook-timestamp and webhook-signature (one `v1,` per secret)."""
        ...


class Sender(Protocol):
    def send(self, url: str, body: bytes, headers: dict[str, str], at: float) -> Attempt: ...


class UrlChecker(Protocol):
    def check(self, url: str) -> object:
        """Raises a DomainError (422 webhook_url_refused) naming why the URL is refused."""
        ...
