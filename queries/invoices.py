"""A consumer's invoices, over the `invoices` read model: their own only."""

from __future__ import annotations

from uuid import UUID

from domain.errors import NotFound
from domain.principal import Principal
from projections.cursor import Cursor
from projections.ports import Document, Page, ReadStore

COLLECTION = "invoices"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


NEWEST_FIRST = [("period", -1), ("currency", 1)]


class InvoiceQueries:
    def __init__(self, store: ReadStore) -> None:
        self._store = store

    def page(self, caller: Principal, limit: int, cursor: Cursor | None) -> Page:
        where = {"consumer_id": str(caller.user_id)}
        return self._store.find(COLLECTION, where, sort=NEWEST_FIRST, limit=limit, cursor=cursor)

    def get(self, caller: Principal, invoice_id: UUID) -> Document:
        found = self._store.get(COLLECTION, str(invoice_id))
        if found is None or found.get("consumer_id") != str(caller.user_id):
            raise InvoiceNotFound("no such invoice")
        return found
