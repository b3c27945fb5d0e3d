"""A consumer's subscriptions, from the `subscriptions` read model."""

from __future__ import annotations

from domain.principal import Principal
from projections.cursor import Cursor
from projections.ports import Page, ReadStore


class SubscriptionQueries:
    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def mine(self, caller: Principal, limit: int, cursor: Cursor | None) -> Page:
        """The caller's subscriptions, newest first, canceled ones included."""
        where = {"consumer_id": str(caller.user_id)}
        return self.store.find(
            "subscriptions", where, sort=[("created_at", -1)], limit=limit, cursor=cursor
        )
