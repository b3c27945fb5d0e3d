"""Read handlers of the marketplace catalogue: browse and search, a model's page, its versions.

Browse and search read the `models` search index only (the hit's source is the whole
read document), so a catalogue page is one round trip to the engine. A model's page reads
the `models` read model. Who sees what is `domain.model.is_visible`: deleted models exist
for nobody, private ones only for their publisher and admins; unlisted ones are reachable
by id but never listed. Browse lists public, published models; deprecated ones leave the
catalogue but stay reachable by id. A publisher sees all of their own with `mine`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput, Unauthorized
from domain.model import ModelNotFound, is_visible
from domain.pricing import is_free
from projections.cursor import Cursor
from projections.models import pending_at, pricing_at, rating_average, stat
from projections.ports import Browse, Document, NumberRange, ReadStore, SearchIndex

INDEX = "models"
# Sort name -> index sort keys; the index breaks remaining ties by id.
SORTS: dict[str, tuple[tuple[str, int], ...]] = {
    "popular": (("invocations_7d", -1), ("name_key", 1)),
    "trending": (("trending", -1), ("invocations_7d", -1)),
    "recent": (("published_ts", -1),),
    "rating": (("rating_average", -1), ("rating_count", -1)),
    "name": (("name_key", 1),),
    "relevance": (),
}
FACETS = ("task", "framework", "tag", "license", "price_kind")
USAGE_FIGURES = (
    "invocations_7d", "invocations_prev_7d", "invocations_total", "consumers", "trending",
)  # fmt: skip
SUMMARY_CHARS = 280
_WORD = re.compile(r"[^\W_]")  # a query with no letter or digit matches everything


class InvalidSort(InvalidInput):
    code = "invalid_sort"


class InvalidPriceFilter(InvalidInput):
    code = "invalid_price_filter"


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as far as visibility goes; `user_id` None is anonymous."""

    user_id: UUID | None = None
    is_admin: bool = False

    def owns(self, doc: Document) -> bool:
        return self.user_id is not None and str(self.user_id) == doc.get("publisher_id")


ANONYMOUS = Viewer()


@dataclass(frozen=True)
class BrowseParams:
    q: str = ""
    task: list[str] = field(default_factory=list)  # each list: any of its values
    framework: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    publisher: list[str] = field(default_factory=list)  # publisher ids
    license: list[str] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    price: str | None = None  # free | paid
    price_min: int | None = None  # per-request price, minor units, inclusive
    price_max: int | None = None
    sort: str | None = None  # default: relevance with words in q, else popular
    cursor: Cursor | None = None
    limit: int = 20
    mine: bool = False


class ModelQueries:
    def __init__(self, store: ReadStore, search: SearchIndex, now: Callable[[], datetime]) -> None:
        self._store, self._search, self._now = store, search, now

    def _when(self) -> str:
        # ISO text in UTC: how the aggregate compares a schedule's effective_from.
        return self._now().astimezone(UTC).isoformat()

    def browse(self, params: BrowseParams, viewer: Viewer, refresh: bool = False) -> dict[str, Any]:
        """A page of the catalogue with facet counts; `refresh` first makes every write
        applied so far searchable (read-your-writes on an engine that refreshes lazily)."""
        query = Browse(
            text=params.q,
            filters=_filters(params, viewer),
            ranges=_ranges(params),
            sort=_sort(params),
            facets=FACETS,
            limit=params.limit,
            cursor=params.cursor,
        )
        if refresh:
            self._search.refresh(INDEX)
        result = self._search.browse(INDEX, query)  # a foreign cursor: InvalidCursor
        when = self._when()
        items = [
            {**summary(hit.doc_id, hit.doc, when), "score": hit.score,
             "highlights": hit.highlights}
            for hit in result.hits
        ]  # fmt: skip
        return {
            "items": items,
            "facets": result.facets,
            "total": result.total,
            "next_cursor": result.next_cursor,
        }

    def detail(self, model_id: UUID, viewer: Viewer) -> dict[str, Any]:
        doc = visible_model(self._store, model_id, viewer)
        versions = _versions_for(doc, viewer)
        default = next((v for v in versions if v["version"] == doc["default_version"]), None)
        when = self._when()
        stats = doc.get("stats") or {}
        return {
            **summary(str(model_id), doc, when),
            "description": doc["description"],
            "access_questions": doc["access_questions"],
            "response_cache": doc.get("response_cache", "off"),
            "deprecation_reason": doc.get("deprecation_reason"),
            "versions": versions,
            "signature": default.get("signature") if default else None,
            "pending_pricing": pending_at(doc["price_schedule"], when),
            "rating": _rating(stats, full=True),
            "usage": {name: stat(stats, name) for name in USAGE_FIGURES},
            "created_at": doc["created_at"],
        }

    def versions(self, model_id: UUID, viewer: Viewer) -> list[dict[str, Any]]:
        """Newest first; others than the publisher see published versions only."""
        doc = visible_model(self._store, model_id, viewer)
        return list(reversed(_versions_for(doc, viewer)))


def visible_model(store: ReadStore, model_id: UUID | str, viewer: Viewer) -> Document:
    """The model's document as `viewer` may see it: ModelNotFound when it is deleted (its
    document is tombstoned) or private to someone else."""
    doc = store.get(INDEX, str(model_id))
    if doc is None or not is_visible(
        doc.get("status", ""), doc.get("visibility", ""), viewer.owns(doc), viewer.is_admin
    ):
        raise ModelNotFound(f"no model {model_id}")
    return doc


def _filters(params: BrowseParams, viewer: Viewer) -> dict[str, list[str]]:
    filters = {
        name: values
        for name, values in (
            ("task", params.task), ("framework", params.framework), ("tag", params.tags),
            ("publisher_id", params.publisher), ("license", params.license),
            ("currency", params.currency),
        )
        if values
    }  # fmt: skip
    if params.price is not None:
        if params.price not in ("free", "paid"):
            raise InvalidPriceFilter("price is free or paid")
        filters["price_kind"] = [params.price]
    if params.mine:
        if viewer.user_id is None:
            raise Unauthorized("log in to list your own models", code="missing_credentials")
        # All of the caller's own (deleted ones are gone), whatever their state and
        # visibility; `publisher` cannot widen it.
        filters["publisher_id"] = [str(viewer.user_id)]
    else:
        filters.update(visibility=["public"], status=["published"])
    return filters


def _ranges(params: BrowseParams) -> tuple[NumberRange, ...]:
    low, high = params.price_min, params.price_max
    if low is None and high is None:
        return ()
    if low is not None and high is not None and low > high:
        raise InvalidPriceFilter("price_min is above price_max")
    return (NumberRange("price_per_request", low, high),)


def _sort(params: BrowseParams) -> tuple[tuple[str, int], ...]:
    has_words = bool(_WORD.search(params.q))
    name = params.sort or ("relevance" if has_words else "popular")
    if name not in SORTS:
        raise InvalidSort(f"sort is one of {', '.join(SORTS)}")
    if name == "relevance" and not has_words:
        name = "popular"  # nothing to rank by relevance
    return SORTS[name]


def _versions_for(doc: Document, viewer: Viewer) -> list[dict[str, Any]]:
    mine = viewer.is_admin or viewer.owns(doc)
    if mine:
        return list(doc["versions"])
    # The engine's error text is for the publisher; others see only where it stands.
    return [_public_version(v) for v in doc["versions"] if v["status"] == "published"]


def _public_version(version: dict[str, Any]) -> dict[str, Any]:
    deployment = version.get("deployment")
    if not deployment or deployment.get("error") is None:
        return version
    return {**version, "deployment": {**deployment, "error": None}}


def _rating(stats: dict[str, Any], full: bool = False) -> dict[str, Any]:
    rating: dict[str, Any] = {
        "average": rating_average(stats), "count": stat(stats, "rating_count"),
    }  # fmt: skip
    if full:
        rating["distribution"] = {str(n): stat(stats, f"ratings_{n}") for n in range(1, 6)}
    return rating


def summary(model_id: str, doc: Document, when: str) -> dict[str, Any]:
    """What a catalogue entry shows; the price list is the one in force at `when`."""
    stats = doc.get("stats") or {}
    description = doc.get("description") or ""
    pricing = pricing_at(doc["price_schedule"], when)
    return {
        "id": model_id,
        "slug": doc["slug"],
        "name": doc["name"],
        "summary": description[:SUMMARY_CHARS],
        "publisher": {"id": doc["publisher_id"], "name": doc["publisher_name"]},
        **{k: doc[k] for k in ("task", "framework", "tags", "license", "visibility", "gated")},
        "status": doc["status"],
        "default_version": doc["default_version"],
        "pricing": pricing,
        "price_kind": "free" if is_free(pricing) else "paid",
        "rating": _rating(stats),
        "invocations_7d": stat(stats, "invocations_7d"),
        "trending": stat(stats, "trending"),
        "published_at": doc.get("published_at"),
        "updated_at": doc["updated_at"],
    }
