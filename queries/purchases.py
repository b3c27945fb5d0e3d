"""Read handlers for purchases, over the `purchases` read model: a consumer's own only
(anyone else's is missing, 404), admins any; and the open ones for the saga's sweep."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.principal import Principal
from projections.cursor import Cursor
from projections.ports import Document, Page, ReadStore
from queries.access import is_admin

COLLECTION = "purchases"
NEWEST_FIRST = [("requested_at", -1)]
OLDEST_CHANGE_FIRST = [("updated_at", 1)]


class PurchaseQueries:
    def __init__(self, store: ReadStore) -> None:
        self._store = store

    def mine(self, caller: Principal, limit: int, cursor: Cursor | None) -> Page:
        where = {"consumer_id": str(caller.user_id)}
        page = self._store.find(COLLECTION, where, sort=NEWEST_FIRST, limit=limit, cursor=cursor)
        return Page([public(d) for d in page.items], page.next_cursor)

    def one(self, caller: Principal, purchase_id: UUID) -> dict[str, Any]:
        doc = self._store.get(COLLECTION, str(purchase_id))
        if doc is None or not (doc["consumer_id"] == str(caller.user_id) or is_admin(caller)):
            raise NotFound(f"no purchase {purchase_id}", code="purchase_not_found")
        return public(doc)

    def open_ids(self, limit: int = 100) -> list[UUID]:
        """Purchases not in a final state, longest unchanged first: what the sweep retries."""
        page = self._store.find(COLLECTION, {"open": True}, sort=OLDEST_CHANGE_FIRST, limit=limit)
        return [UUID(str(d["_id"])) for d in page.items]


def public(doc: Document) -> dict[str, Any]:
    hidden = {"_id", "_version", "publisher_id", "open"}
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k not in hidden}}
