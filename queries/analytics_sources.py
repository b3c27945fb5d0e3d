"""The event-fed parts of analytics: the ledgers' charges and refunds (`revenue` read
model) and the reviews (`reviews` read model), read whole document by document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.ledger import PublisherLedger
from projections.ports import ReadStore

PAGE = 200


@dataclass(frozen=True)
class LedgerEntry:
    """One charge (gross > 0) or refund (refunded > 0), as the ledger booked it."""

    at: datetime
    model_id: UUID
    currency: str
    gross: int
    refunded: int
    fee: int  # the platform's, net: negative for a refund
    share: int  # the publisher's, net: negative for a refund


def ledger_entries(store: ReadStore, publisher_id: UUID | None) -> list[LedgerEntry]:
    """One publisher's entries, or every publisher's (None)."""
    if publisher_id is not None:
        doc = store.get("revenue", str(PublisherLedger.create_id(publisher_id)))
        docs = [] if doc is None else [doc]
    else:
        docs = list(all_documents(store, "revenue"))
    return [_entry(raw) for doc in docs for raw in doc.get("entries", [])]


def publisher_reviews(store: ReadStore, publisher_id: UUID) -> list[tuple[datetime, int]]:
    """(written at, rating) of the visible reviews of the publisher's models."""
    found = all_documents(store, "reviews", {"publisher_id": str(publisher_id)})
    return [
        (datetime.fromisoformat(doc["created_at"]), int(doc["rating"]))
        for doc in found
        if not doc.get("hidden")
    ]


def all_documents(
    store: ReadStore, collection: str, where: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    page = store.find(collection, where, limit=PAGE)
    yield from page.items
    while page.next_cursor is not None:
        page = store.find(collection, where, limit=PAGE, cursor=page.next_cursor)
        yield from page.items


def _entry(raw: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        at=datetime.fromisoformat(raw["at"]), model_id=UUID(str(raw["model_id"])),
        currency=str(raw["currency"]), gross=int(raw["gross"]), refunded=int(raw["refunded"]),
        fee=int(raw["fee"]), share=int(raw["share"]),
    )  # fmt: skip
