"""Whether a consumer has paid for a model: a completed one-off purchase (the
PaidPurchases index, one read by id) or a subscription whose paid period lasts now.
Inference (`PaidAccess`) and downloads ask the same."""

from __future__ import annotations

from uuid import UUID

from commands.event_store import EventStore
from domain.clock import Clock
from domain.errors import NotFound
from domain.purchase import PaidPurchases
from domain.subscription import Subscription


class PurchasedAccess:
    def __init__(self, app: EventStore, clock: Clock) -> None:
        self.app, self.clock = app, clock

    def has_paid_access(self, consumer_id: UUID, model_id: UUID) -> bool:
        try:
            paid = self.app.load(PaidPurchases, PaidPurchases.create_id(consumer_id, model_id))
            if paid.any:
                return True
        except NotFound:
            pass
        try:
            held = self.app.load(Subscription, Subscription.create_id(consumer_id, model_id))
        except NotFound:
            return False
        return held.gives_access_at(self.clock.now())
