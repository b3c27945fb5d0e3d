"""The API's bodies as small dataclasses, named as in its OpenAPI schemas. Each keeps the
fields a program usually reads; the whole body is in `raw`, so a field the server adds
later is never lost. Times stay ISO 8601 strings, amounts integer minor units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="Body")


@dataclass
class Body:
    # field name -> the Body each of its values (a list's items, or one object) becomes
    NESTED: ClassVar[dict[str, type[Body]]] = {}
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)

    @classmethod
    def of(cls: type[T], data: Mapping[str, Any]) -> T:
        names = {f.name for f in fields(cls)} - {"raw"}
        values = {k: _nested(cls.NESTED.get(k), v) for k, v in data.items() if k in names}
        return cls(**values, raw=dict(data))


def _nested(kind: type[Body] | None, value: Any) -> Any:
    if kind is None or value is None:
        return value
    if isinstance(value, list):
        return [kind.of(item) for item in value]
    return kind.of(value)


@dataclass
class Money(Body):
    amount: int = 0
    currency: str = ""


@dataclass
class UserPublic(Body):
    id: str = ""
    email: str = ""
    display_name: str = ""
    role: str = ""
    verified: bool = False
    status: str = ""


@dataclass
class ApiKeyPublic(Body):
    id: str = ""
    name: str = ""
    prefix: str = ""
    scopes: list[str] = field(default_factory=list)
    created_at: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None
    revoked: bool = False


@dataclass
class ApiKeyCreated(Body):
    """The key itself is in `key`, in this answer only."""

    id: str = ""
    key: str = ""
    name: str = ""
    prefix: str = ""
    scopes: list[str] = field(default_factory=list)
    expires_at: str | None = None


@dataclass
class VersionPublic(Body):
    version: str = ""
    status: str = ""
    digest: str = ""
    size: int = 0
    framework: str | None = None
    signature: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    deployment: dict[str, Any] | None = None


@dataclass
class VersionOut(VersionPublic):
    """A completed upload: `status` validated (with a signature) or rejected."""

    id: str = ""  # the model's
    upload_id: str = ""


@dataclass
class ModelSummary(Body):
    id: str = ""
    slug: str = ""
    name: str = ""
    summary: str = ""
    task: str = ""
    framework: str = ""
    tags: list[str] = field(default_factory=list)
    visibility: str = ""
    status: str = ""
    default_version: str | None = None
    price_kind: str = ""
    pricing: dict[str, Any] = field(default_factory=dict)
    publisher: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelPublic(ModelSummary):
    NESTED: ClassVar[dict[str, type[Body]]] = {"versions": VersionPublic}
    description: str = ""
    versions: list[VersionPublic] = field(default_factory=list)
    signature: dict[str, Any] | None = None


@dataclass
class ModelsPage(Body):
    NESTED: ClassVar[dict[str, type[Body]]] = {"items": ModelSummary}
    items: list[ModelSummary] = field(default_factory=list)
    total: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    next_cursor: str | None = None


@dataclass
class Cost(Body):
    units: int = 0
    amount: int = 0
    currency: str = ""


@dataclass
class InferResponse(Body):
    """`outputs` by name: numpy arrays when numpy is installed, else nested lists."""

    NESTED: ClassVar[dict[str, type[Body]]] = {"cost": Cost}
    request_id: str = ""
    model_id: str = ""
    version: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    cost: Cost = field(default_factory=Cost)
    cached: bool = False
    cold_start: bool = False


@dataclass
class JobPublic(Body):
    id: str = ""
    model_id: str = ""
    version: str | None = None
    status: str = ""
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    expires_at: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "canceled")


@dataclass
class UsageDay(Body):
    NESTED: ClassVar[dict[str, type[Body]]] = {"cost": Money}
    model_id: str = ""
    day: str = ""
    calls: int = 0
    billable_units: int = 0
    cost: Money = field(default_factory=Money)


@dataclass
class UsageReportPublic(Body):
    NESTED: ClassVar[dict[str, type[Body]]] = {"days": UsageDay, "totals": Money}
    first_day: str = ""
    last_day: str = ""
    days: list[UsageDay] = field(default_factory=list)
    totals: list[Money] = field(default_factory=list)


@dataclass
class PaymentMethodPublic(Body):
    id: str = ""
    brand: str = ""
    last4: str = ""
    exp_month: int = 0
    exp_year: int = 0
    default: bool = False


@dataclass
class PurchasePublic(Body):
    NESTED: ClassVar[dict[str, type[Body]]] = {"amount": Money}
    id: str = ""
    model_id: str = ""
    kind: str = ""
    plan: str | None = None
    amount: Money | None = None
    state: str = ""
    failure: dict[str, Any] | None = None
    requested_at: str | None = None
    updated_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "payment_failed", "canceled")
