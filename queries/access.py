"""Read handlers for access requests, over the `access_requests` read model.

Both sides list the same documents: the publisher (and admins) every request of their
model, a consumer only their own. Listing a model's requests checks the model's
visibility first (a by-id read of the model), so someone else's private model stays
missing (404) here as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from domain.clock import Clock
from domain.errors import NotFound
from domain.model import Model
from domain.principal import Principal
from domain.user import Role
from projections.cursor import Cursor
from projections.ports import Document, Page, ReadStore

COLLECTION = "access_requests"
NEWEST_FIRST = [("updated_at", -1)]
Side = Literal["consumer", "publisher"]


class VisibleModels(Protocol):
    def load_visible(self, model_id: UUID, caller: Principal | None) -> Model: ...


def find_page(
    store: ReadStore,
    collection: str,
    where: dict[str, Any],
    sort: list[tuple[str, int]],
    limit: int,
    cursor: Cursor | None,
) -> Page:
    # A cursor of another listing is InvalidCursor (422) from the store's check.
    return store.find(collection, where, sort=sort, limit=limit, cursor=cursor)


def is_admin(caller: Principal | None) -> bool:
    return caller is not None and caller.role == Role.ADMIN.value


class AccessQueries:
    def __init__(self, store: ReadStore, models: VisibleModels, clock: Clock) -> None:
        self._store, self._models, self._clock = store, models, clock

    def for_model(
        self,
        caller: Principal,
        model_id: UUID,
        status: str | None,
        limit: int,
        cursor: Cursor | None,
    ) -> Page:
        """Every request of the model for its publisher and admins; the caller's own else."""
        model = self._models.load_visible(model_id, caller)
        where: dict[str, Any] = {"model_id": str(model_id)}
        if not (is_admin(caller) or model.is_owned_by(caller.user_id)):
            where["consumer_id"] = str(caller.user_id)
        return self._page(where, status, limit, cursor)

    def mine(
        self,
        caller: Principal,
        side: Side,
        status: str | None,
        limit: int,
        cursor: Cursor | None,
    ) -> Page:
        """Requests the caller made (`consumer`), or made to the caller's models (`publisher`)."""
        owner = "consumer_id" if side == "consumer" else "publisher_id"
        return self._page({owner: str(caller.user_id)}, status, limit, cursor)

    def one(self, caller: Principal, request_id: UUID) -> dict[str, Any]:
        doc = self._store.get(COLLECTION, str(request_id))
        mine = doc is not None and str(caller.user_id) in (doc["consumer_id"], doc["publisher_id"])
        if doc is None or not (mine or is_admin(caller)):
            raise NotFound(f"no access request {request_id}", code="access_request_not_found")
        return self._public(doc, self._clock.now())

    def _page(
        self, where: dict[str, Any], status: str | None, limit: int, cursor: Cursor | None
    ) -> Page:
        if status is not None:
            where["status"] = status
        page = find_page(self._store, COLLECTION, where, NEWEST_FIRST, limit, cursor)
        now = self._clock.now()
        return Page([self._public(d, now) for d in page.items], page.next_cursor)

    @staticmethod
    def _public(doc: Document, now: datetime) -> dict[str, Any]:
        """As both sides see it: names, never emails or internal user ids."""
        expires = doc.get("expires_at")
        active = doc["status"] == "approved" and (
            expires is None or now < datetime.fromisoformat(expires)
        )
        hidden = {"_id", "_version", "consumer_id", "publisher_id"}
        return {
            "id": doc["_id"],
            **{k: v for k, v in doc.items() if k not in hidden},
            "active": active,
        }
