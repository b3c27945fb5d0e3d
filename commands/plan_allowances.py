"""What a consumer's plan includes: the requests of their subscription's plan, in each
month a paid period of it touches. Metering takes them off before pricing calls."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from commands.event_store import EventStore
from domain.errors import NotFound
from domain.pricing import next_period_start
from domain.subscription import Subscription, SubscriptionStatus


class SubscribedAllowances:
    def __init__(self, app: EventStore) -> None:
        self.app = app

    def included_requests(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        try:
            plan = self.app.load(Subscription, Subscription.create_id(consumer_id, model_id))
        except NotFound:
            return 0
        if plan.status == SubscriptionStatus.INCOMPLETE or not plan.period_start:
            return 0
        month_start = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)
        paid_from = datetime.fromisoformat(plan.period_start)
        paid_until = datetime.fromisoformat(plan.period_end or plan.period_start)
        touches = paid_from < next_period_start(month_start) and paid_until > month_start
        return plan.included_requests if touches else 0
