"""The `models` read model: one document per model, all that the catalogue and the detail
page show, plus the flat fields the `models` search index filters, sorts and ranks on.

A deleted model's document is deleted (the stores keep a tombstone), so it vanishes from
detail, browse and search alike. Prices follow a schedule: the document keeps all of it,
and readers pick the entry in force when they ask (`pricing_at`). The index's price
fields can only reflect the entry in force at the last event's time; the next event (a
stats refresh, say) brings them up to date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.errors import InvalidInput
from domain.model_details import DEFAULT_DETAILS
from domain.pricing import is_free, price_in_force
from domain.semver import SemVer
from projections.base import DocumentProjection, Envelope
from projections.ports import Document

models = DocumentProjection(name="models", aggregate="model")
ModelHandler = Callable[[Document, dict[str, Any], Envelope], Document | None]

DETAIL_FIELDS = (
    "name", "description", "framework", "task", "tags", "license", "visibility", "gated",
    "access_questions", "response_cache",
)  # fmt: skip
# The `models` search index: text fields ranked, keyword fields filtered/faceted/sorted,
# numeric fields ranged/sorted. Every one is a top-level field of the document.
TEXT_FIELDS = ["name", "description", "tags", "publisher_name"]
KEYWORD_FIELDS = [
    "task", "framework", "tag", "publisher_id", "license", "visibility", "status",
    "price_kind", "currency", "name_key",
]  # fmt: skip
NUMERIC_FIELDS = [
    "price_per_request", "invocations_7d", "trending", "rating_average", "rating_count",
    "published_ts",
]  # fmt: skip


def pricing_at(schedule: list[dict[str, Any]], when: str) -> dict[str, Any]:
    """The price list in force at `when` (ISO text): the aggregate's rule, on the document."""
    return price_in_force(((e["effective_from"], e["pricing"]) for e in schedule), when)


def pending_at(schedule: list[dict[str, Any]], when: str) -> dict[str, Any] | None:
    """The next scheduled change after `when`: {effective_from, pricing}, or None."""
    return next((e for e in schedule if e["effective_from"] > when), None)


def stat(stats: dict[str, Any], name: str) -> int:
    """A usage figure; the stats refresher may leave keys out, which count as 0."""
    value = stats.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def rating_average(stats: dict[str, Any]) -> float | None:
    count = stat(stats, "rating_count")
    return round(stat(stats, "rating_sum") / count, 4) if count else None


def _derived(doc: Document, at: str) -> Document:
    """The search fields, recomputed from the document after every event."""
    pricing = pricing_at(doc["price_schedule"], at)
    stats = doc.get("stats") or {}
    return {
        **doc,
        "tag": list(doc["tags"]),
        "name_key": doc["name"].lower(),
        "price_kind": "free" if is_free(pricing) else "paid",
        "currency": pricing["currency"],
        "price_per_request": pricing["price_per_request"],
        "invocations_7d": stat(stats, "invocations_7d"),
        "trending": stat(stats, "trending"),
        "rating_count": stat(stats, "rating_count"),
        "rating_average": rating_average(stats),
    }


def _on_live(event_type: str) -> Callable[[ModelHandler], ModelHandler]:
    """Register a handler for an event on an existing model. The domain lets a validation
    in flight finish after a delete: such an event finds a tombstone (or, read back from a
    store, nothing) and leaves the model deleted."""

    def register(handler: ModelHandler) -> ModelHandler:
        def guarded(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document | None:
            return handler(doc, data, envelope) if "slug" in doc else None

        models.on(event_type)(guarded)
        return handler

    return register


def _touch(doc: Document, envelope: Envelope, **fields: Any) -> Document:
    at = envelope["occurred_at"]
    return _derived({**doc, **fields, "updated_at": at}, at)


@models.on("Model.Created")
def _created(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    details = {**DEFAULT_DETAILS, **data["details"]}  # Created holds them all; be lenient
    at = envelope["occurred_at"]
    new: Document = {
        "publisher_id": str(data["publisher_id"]),
        "publisher_name": data["publisher_name"],
        "slug": data["slug"],
        **{name: details[name] for name in DETAIL_FIELDS},
        "status": "draft",
        "deprecation_reason": None,
        "versions": [],
        "default_version": None,
        "price_schedule": [{"effective_from": "", "pricing": data["pricing"]}],
        "stats": {},
        "created_at": at,
        "published_at": None,
        "published_ts": None,
    }
    return _touch(new, envelope)


@_on_live("Model.DetailsUpdated")
def _details_updated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    known = {*DETAIL_FIELDS, "publisher_name"}
    return _touch(doc, envelope, **{k: v for k, v in data["changes"].items() if k in known})


@_on_live("Model.PricingChanged")
def _pricing_changed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    effective_from = data["effective_from"]
    # As the aggregate does: a later change for the same period replaces the pending one.
    kept = [e for e in doc["price_schedule"] if e["effective_from"] < effective_from]
    schedule = [*kept, {"effective_from": effective_from, "pricing": data["pricing"]}]
    return _touch(doc, envelope, price_schedule=schedule)


def _semver_key(entry: dict[str, Any]) -> Any:
    try:
        return (0, SemVer.parse(entry["version"]))
    except InvalidInput:  # not expected: the aggregate stores canonical versions
        return (1, entry["version"])


def _with_version(
    versions: list[dict[str, Any]], version: str, **fields: Any
) -> list[dict[str, Any]]:
    """`versions` with `version` updated (or added), in semver order."""
    by_version = {v["version"]: v for v in versions}
    by_version[version] = {**by_version.get(version, {}), **fields, "version": version}
    return sorted(by_version.values(), key=_semver_key)


@_on_live("Model.VersionUploaded")
def _version_uploaded(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    # A rejected version number may be uploaded again: the new upload starts afresh.
    versions = [v for v in doc["versions"] if v["version"] != data["version"]]
    versions = _with_version(
        versions, data["version"], status="uploaded", digest=data["digest"],
        size=data["size"], framework=None, signature=None, reasons=[],
        uploaded_at=envelope["occurred_at"], published_at=None,
    )  # fmt: skip
    return _touch(doc, envelope, versions=versions)


@_on_live("Model.VersionValidated")
def _version_validated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    versions = _with_version(
        doc["versions"], data["version"], status="validated",
        framework=data["framework"], signature=data["signature"],
    )  # fmt: skip
    return _touch(doc, envelope, versions=versions)


@_on_live("Model.VersionRejected")
def _version_rejected(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    version, reasons = data["version"], data["reasons"]
    versions = _with_version(doc["versions"], version, status="rejected", reasons=reasons)
    return _touch(doc, envelope, versions=versions)


@_on_live("Model.VersionPublished")
def _version_published(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    at = envelope["occurred_at"]
    versions = _with_version(
        doc["versions"], data["version"], status="published", published_at=at,
        deployment=_deployment("deploying"),
    )  # fmt: skip
    if doc["status"] != "draft":
        return _touch(doc, envelope, versions=versions)
    # The first published version publishes the model.
    published_ts = datetime.fromisoformat(at).timestamp()  # float: keeps the order within a second
    return _touch(
        doc, envelope, versions=versions, status="published", published_at=at,
        published_ts=published_ts,
    )  # fmt: skip


def _deployment(status: str, engine: str | None = None, error: str | None = None) -> Document:
    return {"status": status, "engine": engine, "error": error}


@_on_live("Model.Deployed")
def _deployed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    deployment = _deployment("deployed", data["engine"])
    versions = _with_version(doc["versions"], data["version"], deployment=deployment)
    return _derived({**doc, "versions": versions}, envelope["occurred_at"])


@_on_live("Model.DeploymentFailed")
def _deployment_failed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    deployment = _deployment("failed", data["engine"], data["error"])
    versions = _with_version(doc["versions"], data["version"], deployment=deployment)
    return _derived({**doc, "versions": versions}, envelope["occurred_at"])


@_on_live("Model.Undeployed")
def _undeployed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    versions = _with_version(doc["versions"], data["version"], deployment=_deployment("undeployed"))
    return _derived({**doc, "versions": versions}, envelope["occurred_at"])


@_on_live("Model.DefaultVersionChanged")
def _default_changed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, default_version=data["version"])


@_on_live("Model.Deprecated")
def _deprecated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, status="deprecated", deprecation_reason=data["reason"])


@_on_live("Model.Deleted")
def _deleted(doc: Document, data: dict[str, Any], envelope: Envelope) -> None:
    return None


@_on_live("Model.StatsUpdated")
def _stats_updated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    # Not a change by the publisher: `updated_at` stays; the price fields catch up.
    return _derived({**doc, "stats": dict(data["stats"])}, envelope["occurred_at"])
