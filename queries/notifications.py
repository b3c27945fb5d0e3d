"""The caller's in-app notifications, newest first, with how many are unread; over the
`notifications` read model the notifier writes (commands/notifier.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.principal import Principal
from projections.cursor import Cursor
from projections.ports import Document, ReadStore

COLLECTION = "notifications"
NEWEST_FIRST = [("created_at", -1)]


@dataclass(frozen=True)
class NotificationsPage:
    items: list[dict[str, Any]]
    next_cursor: Cursor | None
    unread: int


class NotificationQueries:
    def __init__(self, store: ReadStore) -> None:
        self._store = store

    def mine(self, caller: Principal, limit: int, cursor: Cursor | None) -> NotificationsPage:
        where = {"user_id": str(caller.user_id)}
        page = self._store.find(COLLECTION, where, sort=NEWEST_FIRST, limit=limit, cursor=cursor)
        unread = self._store.count(COLLECTION, {**where, "read": False})
        return NotificationsPage([public(d) for d in page.items], page.next_cursor, unread)


def public(doc: Document) -> dict[str, Any]:
    hidden = {"_id", "_version", "user_id"}
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k not in hidden}}
