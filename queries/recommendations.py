"""Recommendations: "consumers who used X also used Y", blended with content similarity.

Co-occurrence comes from a list of sources (usage now; purchases will be one more), each
counting, among X's most recent consumers, how many also use each other model. Content
similarity is the same task (the catch-all "other" does not count) and shared tags,
read from the `models` read model and, for tags, the `models` search index.

Score = 0.7 * (share of X's consumers who also use Y, the best source) + 0.3 * content,
content = 0.5 * same task + 0.5 * Jaccard overlap of the tags; both parts lie in 0..1.
Only public, published models are recommended; every one says why in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from projections.cursor import Cursor
from projections.ports import Browse, Document, ReadStore, SearchIndex
from queries.models import Viewer, visible_model

MODELS = "models"
CO_WEIGHT, CONTENT_WEIGHT = 0.7, 0.3
CONTENT_CANDIDATES = 100
GENERIC_TASK = "other"  # the default task: sharing it says nothing
LISTED = {"visibility": "public", "status": "published"}


@dataclass(frozen=True)
class CoUse:
    """Of `base` consumers of a model, how many also use each other model."""

    base: int
    counts: dict[str, int] = field(default_factory=dict)


class CoOccurrence(Protocol):
    verb: str  # "used", "bought": what the reason says the consumers did

    def co_occurring(self, model_id: str) -> CoUse: ...


class UsageCoOccurrence:
    """From the `usage` read model: one document per (consumer, model) with calls."""

    verb = "used"

    def __init__(self, store: ReadStore, max_consumers: int = 500, max_docs: int = 5000) -> None:
        self.store, self.max_consumers, self.max_docs = store, max_consumers, max_docs

    def co_occurring(self, model_id: str) -> CoUse:
        # The most recent consumers: a bounded, current sample of a popular model.
        page = self.store.find(
            "usage", {"model_id": model_id}, sort=[("last_used_at", -1)], limit=self.max_consumers
        )
        consumers = [str(d["consumer_id"]) for d in page.items if int(d.get("calls") or 0) > 0]
        counts: dict[str, int] = {}
        docs = 0
        for start in range(0, len(consumers), 100):
            for doc in self._usage_of(consumers[start : start + 100], self.max_docs - docs):
                docs += 1
                other = str(doc["model_id"])
                if other != model_id and int(doc.get("calls") or 0) > 0:
                    counts[other] = counts.get(other, 0) + 1  # one document per consumer
        return CoUse(len(consumers), counts)

    def _usage_of(self, consumers: list[str], budget: int) -> Iterator[Document]:
        """The consumers' usage documents, page by page, stopping after about `budget`."""
        cursor: Cursor | None = None
        while budget > 0:
            page = self.store.find("usage", {"consumer_id": consumers}, limit=500, cursor=cursor)
            yield from page.items
            budget -= len(page.items)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


@dataclass(frozen=True)
class Recommendation:
    model: dict[str, Any]
    score: float
    reason: str


class Recommendations:
    def __init__(
        self, store: ReadStore, search: SearchIndex | None, sources: list[CoOccurrence]
    ) -> None:
        self.store, self.search, self.sources = store, search, sources

    def for_model(
        self,
        model_id: str,
        viewer: Viewer,
        limit: int = 10,
        refresh: bool = False,
    ) -> list[Recommendation]:
        """`refresh` first makes every indexed write searchable (read-your-writes on an
        engine that refreshes lazily)."""
        source = visible_model(self.store, model_id, viewer)
        co_uses = [(s.verb, s.co_occurring(model_id)) for s in self.sources]
        candidates = {m for _, co in co_uses for m in co.counts}
        candidates |= self._similar(source, refresh)
        candidates.discard(model_id)
        docs = self.store.get_many(MODELS, sorted(candidates))
        found = [
            self._score(source, doc, co_uses)
            for doc in docs.values()
            if all(doc.get(k) == v for k, v in LISTED.items())
        ]
        ranked = sorted((r for r in found if r.score > 0), key=_rank)
        return ranked[:limit]

    def _similar(self, source: Document, refresh: bool) -> set[str]:
        """Listed models with the same task, or sharing a tag (via the catalogue index)."""
        found: set[str] = set()
        task, tags = source.get("task"), _tags(source)
        if task and task != GENERIC_TASK:
            page = self.store.find(MODELS, {"task": task, **LISTED}, limit=CONTENT_CANDIDATES)
            found |= {str(d["_id"]) for d in page.items}
        if tags and self.search is not None:
            if refresh:
                self.search.refresh(MODELS)
            filters = {"tag": tags, **{k: [v] for k, v in LISTED.items()}}
            result = self.search.browse(MODELS, Browse(filters=filters, limit=CONTENT_CANDIDATES))
            found |= {hit.doc_id for hit in result.hits}
        return found

    def _score(
        self, source: Document, doc: Document, co_uses: list[tuple[str, CoUse]]
    ) -> Recommendation:
        reasons: list[str] = []
        co = 0.0
        for verb, co_use in co_uses:
            count = co_use.counts.get(str(doc["_id"]), 0)
            if count:
                co = max(co, count / max(co_use.base, 1))
                who = "consumer" if count == 1 else "consumers"
                reasons.append(f"{count} {who} who {verb} {source.get('name')} also {verb} this")
        same_task = doc.get("task") == source.get("task") and doc.get("task") != GENERIC_TASK
        tags, source_tags = _tags(doc), set(_tags(source))
        shared = [t for t in tags if t in source_tags]
        union = set(tags) | source_tags
        content = 0.5 * same_task + 0.5 * (len(shared) / len(union) if union else 0.0)
        if same_task:
            reasons.append(f"also {doc.get('task')}")
        if shared:
            reasons.append(f"shares tags {', '.join(shared)}")
        reason = "; ".join(reasons)
        score = round(CO_WEIGHT * co + CONTENT_WEIGHT * content, 4)
        return Recommendation(_summary(doc), score, reason[:1].upper() + reason[1:])


def _tags(doc: Document) -> list[str]:
    tags = doc.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _summary(doc: Document) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]),
        "name": doc.get("name"),
        "slug": doc.get("slug"),
        "publisher_name": doc.get("publisher_name"),
        "task": doc.get("task"),
        "tags": _tags(doc),
    }


def _rank(item: Recommendation) -> tuple[float, str, str]:
    return (-item.score, str(item.model["name"] or ""), item.model["id"])
