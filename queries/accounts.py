"""Read handlers for accounts and API keys, over the `users` and `api_keys` read models."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.errors import NotFound
from projections.cursor import Cursor
from projections.ports import Document, Page, ReadStore, SearchIndex


def public(doc: Document) -> dict[str, Any]:
    """A read document as the API shows it: `_id` becomes `id`, bookkeeping dropped."""
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    return {"id": doc["_id"], **body}


class AccountQueries:
    def __init__(self, store: ReadStore, search: SearchIndex) -> None:
        self._store, self._search = store, search

    def me(self, user_id: UUID) -> dict[str, Any]:
        doc = self._store.get("users", str(user_id))
        if doc is None:
            raise NotFound("account not found; if you just registered, pass wait_for")
        return public(doc)

    def api_keys(
        self, owner_id: UUID, include_revoked: bool, limit: int, cursor: Cursor | None
    ) -> Page:
        where: dict[str, Any] = {"owner_id": str(owner_id)}
        if not include_revoked:
            where["revoked"] = False
        page = self._store.find(
            "api_keys", where, sort=[("created_at", -1)], limit=limit, cursor=cursor
        )
        return Page([public(d) for d in page.items], page.next_cursor)

    def users(self, filters: dict[str, Any], limit: int, cursor: Cursor | None) -> Page:
        page = self._store.find(
            "users", filters, sort=[("created_at", -1)], limit=limit, cursor=cursor
        )
        return Page([public(d) for d in page.items], page.next_cursor)

    def search_users(self, query: str, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Hits best first, each with the account as the `users` read model has it."""
        hits = self._search.search("users", query, filters, limit)
        docs = self._store.get_many("users", [hit.doc_id for hit in hits])  # one round trip
        return [
            {"user": public(docs[hit.doc_id]), "score": hit.score, "highlights": hit.highlights}
            for hit in hits
            if hit.doc_id in docs  # indexed a moment before the read model: skip, not fail
        ]
