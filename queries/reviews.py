"""Read handlers for reviews: a model's reviews, newest first, and its rating summary.

The summary is counted at query time from the `reviews` read model: five counts (one
per star), each on (model, hidden, rating), so it never pages through the reviews.
Good enough while the catalogue has no rolled-up rating; hidden reviews never count.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.principal import Principal
from domain.review import MAX_RATING, MIN_RATING
from domain.semver import canonical
from projections.cursor import Cursor
from projections.ports import Document, Page, ReadStore
from queries.access import VisibleModels, find_page, is_admin

COLLECTION = "reviews"
NEWEST_FIRST = [("created_at", -1)]


class ReviewQueries:
    def __init__(self, store: ReadStore, models: VisibleModels) -> None:
        self._store, self._models = store, models

    def for_model(
        self,
        caller: Principal | None,
        model_id: UUID,
        version: str | None,
        limit: int,
        cursor: Cursor | None,
    ) -> tuple[Page, dict[str, Any]]:
        """A page of the model's reviews (hidden ones only for admins) and its summary."""
        self._models.load_visible(model_id, caller)
        where: dict[str, Any] = {"model_id": str(model_id)}
        if version is not None:
            where["version"] = canonical(version)
        listed = dict(where) if is_admin(caller) else {**where, "hidden": False}
        page = find_page(self._store, COLLECTION, listed, NEWEST_FIRST, limit, cursor)
        items = [_public(doc, caller) for doc in page.items]
        return Page(items, page.next_cursor), self.summary(where)

    def summary(self, where: dict[str, Any]) -> dict[str, Any]:
        """Average, count and histogram {1..5} of the visible reviews matching `where`."""
        histogram = {
            str(stars): self._store.count(COLLECTION, {**where, "hidden": False, "rating": stars})
            for stars in range(MIN_RATING, MAX_RATING + 1)
        }
        count = sum(histogram.values())
        total = sum(int(stars) * n for stars, n in histogram.items())
        average = round(total / count, 2) if count else None
        return {"average": average, "count": count, "histogram": histogram}


def _public(doc: Document, caller: Principal | None) -> dict[str, Any]:
    """A review as listed: the reviewer's public name, never an email or a user id."""
    shown = {
        k: doc.get(k)
        for k in (
            "model_id", "version", "rating", "title", "body", "reviewer_name", "reply",
            "edited", "hidden", "created_at", "updated_at",
        )
    }  # fmt: skip
    mine = caller is not None and doc.get("consumer_id") == str(caller.user_id)
    reason = doc.get("hidden_reason") if is_admin(caller) else None
    return {"id": doc["_id"], **shown, "mine": mine, "hidden_reason": reason}
