"""A consumer's own subscriptions: cancel (at the period's end, or now) and change plan.
The provider is asked first, with idempotency keys derived from the subscription's id
and version (a retried command asks again with the same key); then the Subscription
records it. A canceled subscription keeps access until the paid period ends."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from commands.payment_ports import PaymentGateway, PlanPrice
from domain.clock import Clock
from domain.errors import Conflict, InvalidInput, NotFound
from domain.model import Model
from domain.pricing import Money
from domain.principal import Principal
from domain.subscription import Subscription, SubscriptionStatus


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"


class SubscriptionNotActive(Conflict):
    code = "subscription_not_active"


class UnknownPlan(InvalidInput):
    code = "unknown_plan"


class SubscriptionCommands(CommandHandlers):
    def __init__(self, app: EventStore, gateway: PaymentGateway, clock: Clock) -> None:
        self.app, self.gateway, self.clock = app, gateway, clock

    def cancel(self, caller: Principal, subscription_id: UUID, at_period_end: bool) -> Written:
        subscription = self._own(caller, subscription_id)
        if subscription.status == SubscriptionStatus.CANCELED:
            return Written(subscription.id, 0)  # asked again: nothing more to do
        provider_id = self._provider_id(subscription)
        if at_period_end and subscription.cancel_at_period_end:
            return Written(subscription.id, 0)
        key = f"{subscription.id}:v{subscription.version}:cancel:{int(at_period_end)}"
        self.gateway.cancel_subscription(provider_id, at_period_end, idempotency_key=key)
        if at_period_end:
            subscription.request_cancel_at_period_end()
        else:
            subscription.cancel("canceled by the consumer")
        return self.app.write(subscription)

    def change_plan(self, caller: Principal, subscription_id: UUID, plan_name: str) -> Written:
        subscription = self._own(caller, subscription_id)
        if subscription.status == SubscriptionStatus.CANCELED:
            raise SubscriptionNotActive("this subscription is canceled; subscribe again")
        provider_id = self._provider_id(subscription)
        plan = self._plan(subscription.model_id, plan_name)
        if plan == subscription.plan:
            return Written(subscription.id, 0)
        price = PlanPrice(subscription.model_id, plan["name"], _monthly(plan))
        key = f"{subscription.id}:v{subscription.version}:plan:{plan['name']}"
        self.gateway.change_subscription_plan(provider_id, price, idempotency_key=key)
        subscription.change_plan(plan)
        return self.app.write(subscription)

    def _own(self, caller: Principal, subscription_id: UUID) -> Subscription:
        """The caller's subscription; anyone else's is missing, as one that is not."""
        try:
            subscription = self.app.load(Subscription, subscription_id)
        except NotFound:
            subscription = None
        if subscription is None or subscription.consumer_id != caller.user_id:
            raise SubscriptionNotFound(f"no subscription {subscription_id}")
        return subscription

    def _provider_id(self, subscription: Subscription) -> str:
        if subscription.provider_id is None:
            raise SubscriptionNotActive("this subscription's first period is not paid yet")
        return subscription.provider_id

    def _plan(self, model_id: UUID, name: str) -> dict[str, Any]:
        """`name` in the model's price list in force now, as a Subscription keeps it."""
        pricing = self.app.load(Model, model_id).pricing_at(self.clock.now())
        found = next((p for p in pricing.plans if p.name == name), None)
        if found is None:
            names = ", ".join(p.name for p in pricing.plans) or "none"
            raise UnknownPlan(f"this model has no plan {name!r}; its plans: {names}")
        return {
            "name": found.name,
            "monthly_price": found.monthly_price.amount,
            "included_requests": found.included_requests,
            "currency": found.monthly_price.currency,
        }


def _monthly(plan: dict[str, Any]) -> Money:
    return Money(int(plan["monthly_price"]), str(plan["currency"]))
