"""The Subscription aggregate: one consumer's monthly plan on one model.

Addressed by a uuid5 of (consumer, model), so "may this consumer call this model on a
plan?" is one read by id, never a read model; subscribing again after a cancellation
restarts the same aggregate. The purchase saga starts it (incomplete) and activates it
once the first period is paid; the provider's webhooks move it on (renewed, past due,
canceled). Access lasts while the paid period does, whatever the status says: a
cancellation keeps the period already paid, a failed renewal does not extend it.
Times are ISO 8601 text in UTC, as the price schedule's.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict

SUBSCRIPTION_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/subscription")


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"  # started, first period not paid yet
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed; the provider retries (dunning)
    CANCELED = "canceled"


class SubscriptionNotRestartable(Conflict):
    code = "already_subscribed"


class Subscription(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, model_id: UUID) -> UUID:
        return uuid5(SUBSCRIPTION_NAMESPACE, f"{consumer_id}/{model_id}")

    @event("Started")
    def __init__(
        self,
        consumer_id: UUID,
        model_id: UUID,
        publisher_id: UUID,
        purchase_id: UUID,
        plan: dict[str, Any],  # {name, monthly_price, included_requests, currency}
    ) -> None:
        self.consumer_id, self.model_id, self.publisher_id = consumer_id, model_id, publisher_id
        self._begin(purchase_id, plan)

    def _begin(self, purchase_id: UUID, plan: dict[str, Any]) -> None:
        self.purchase_id = purchase_id
        self.plan = dict(plan)
        self.status = SubscriptionStatus.INCOMPLETE
        self.provider_id: str | None = None
        self.period_start: str | None = None
        self.period_end: str | None = None
        self.cancel_at_period_end = False

    def restart(self, purchase_id: UUID, plan: dict[str, Any]) -> None:
        """Subscribe again once the last subscription is canceled (or never paid)."""
        if self.purchase_id == purchase_id:
            return  # the same purchase redelivered
        if self.status not in (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE):
            raise SubscriptionNotRestartable("you subscribe to this model already")
        self._restarted(purchase_id, plan)

    @event("Restarted")
    def _restarted(self, purchase_id: UUID, plan: dict[str, Any]) -> None:
        self._begin(purchase_id, plan)

    def activate(self, provider_id: str, period_start: datetime, period_end: datetime) -> None:
        if self.status == SubscriptionStatus.ACTIVE and self.provider_id == provider_id:
            return
        self._activated(provider_id, period_start.isoformat(), period_end.isoformat())

    @event("Activated")
    def _activated(self, provider_id: str, period_start: str, period_end: str) -> None:
        self.provider_id, self.period_start, self.period_end = provider_id, period_start, period_end
        self.status = SubscriptionStatus.ACTIVE

    def renew(self, period_start: datetime, period_end: datetime) -> bool:
        """A paid renewal; False when this period (or a later one) is known already, as
        when a webhook comes twice or after a newer one."""
        if self.period_end is not None and period_end.isoformat() <= self.period_end:
            return False
        if self.status == SubscriptionStatus.CANCELED:
            return False
        self._renewed(period_start.isoformat(), period_end.isoformat())
        return True

    @event("Renewed")
    def _renewed(self, period_start: str, period_end: str) -> None:
        self.period_start, self.period_end = period_start, period_end
        self.status = SubscriptionStatus.ACTIVE

    def mark_past_due(self) -> bool:
        if self.status != SubscriptionStatus.ACTIVE:
            return False
        self._past_due()
        return True

    @event("PastDue")
    def _past_due(self) -> None:
        self.status = SubscriptionStatus.PAST_DUE

    def request_cancel_at_period_end(self) -> None:
        if self.status == SubscriptionStatus.CANCELED or self.cancel_at_period_end:
            return
        self._cancel_requested()

    @event("CancelRequested")
    def _cancel_requested(self) -> None:
        self.cancel_at_period_end = True

    def cancel(self, reason: str) -> bool:
        if self.status == SubscriptionStatus.CANCELED:
            return False
        self._canceled(reason)
        return True

    @event("Canceled")
    def _canceled(self, reason: str) -> None:
        self.status = SubscriptionStatus.CANCELED
        self.cancel_reason = reason

    def change_plan(self, plan: dict[str, Any]) -> None:
        if plan == self.plan:
            return
        self._plan_changed(plan)

    @event("PlanChanged")
    def _plan_changed(self, plan: dict[str, Any]) -> None:
        self.plan = dict(plan)

    def gives_access_at(self, now: datetime) -> bool:
        """Calls are covered while a paid period lasts."""
        return (
            self.status != SubscriptionStatus.INCOMPLETE
            and self.period_end is not None
            and now.isoformat() < self.period_end
        )

    @property
    def included_requests(self) -> int:
        return int(self.plan.get("included_requests") or 0)
