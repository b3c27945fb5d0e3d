"""Asking to buy a model: the Purchase is recorded (`Requested`) and the saga does the rest.

The Idempotency-Key names the purchase (uuid5 of consumer and key): the same key answers
the same purchase, whatever state it has reached; the same key with another body is
refused. Everything that can be refused at once is refused here, before anything is
charged: a free model, an unknown plan, one's own model, no card.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore
from commands.models import ModelCommands
from commands.payment_methods import PaymentMethods
from commands.payment_ports import IdempotencyKeyReused
from domain.clock import Clock
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.model import Model
from domain.pricing import Money, Pricing
from domain.principal import Principal
from domain.purchase import Purchase, PurchaseKind
from domain.subscription import Subscription

MAX_KEY = 255


class IdempotencyKeyRequired(DomainError):  # not a subclass of a mapped one: 400
    code = "idempotency_key_required"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class NotForSale(Conflict):
    code = "not_for_sale"


class UnknownPlan(InvalidInput):
    code = "unknown_plan"


class OwnModel(Conflict):
    code = "own_model"


class AlreadySubscribed(Conflict):
    code = "already_subscribed"


class PurchaseNotFound(NotFound):
    code = "purchase_not_found"


class PurchaseCommands(CommandHandlers):
    def __init__(
        self, app: EventStore, models: ModelCommands, methods: PaymentMethods, clock: Clock
    ) -> None:
        self.app, self.models, self.methods, self.clock = app, models, methods, clock

    def request_purchase(
        self, caller: Principal, model_id: UUID, idempotency_key: str | None, plan: str | None
    ) -> tuple[Purchase, int]:
        """Record the purchase (or find the one this key made): it, and the position
        its request reached (0 when it was made before)."""
        key = check_key(idempotency_key)
        existing = self.find(Purchase.create_id(caller.user_id, key))
        if existing is not None:
            if not existing.same_request(model_id, plan):
                raise IdempotencyKeyReused("this Idempotency-Key was used for another purchase")
            return existing, 0
        caller.check_verified()
        model = self.models.load_visible(model_id, caller)
        if model.is_owned_by(caller.user_id):
            raise OwnModel("you publish this model; you need not buy it")
        pricing = model.pricing_at(self.clock.now())
        amount = self._price(caller, model, pricing, plan)
        self.methods.payer(caller.user_id)  # 402 payment_method_required before anything else
        purchase = Purchase(
            consumer_id=caller.user_id,
            idempotency_key=key,
            model_id=model_id,
            publisher_id=model.publisher_id,
            kind=PurchaseKind.SUBSCRIPTION if plan else PurchaseKind.ONE_OFF,
            plan=plan,
            amount=amount.as_dict(),
            pricing=pricing.as_dict(),
            at=self.clock.now().isoformat(),
        )
        try:
            written = self.app.write(purchase)
        except IntegrityError:  # the same key twice at once: the retry finds the first
            raise ConcurrentUpdate("this purchase was just made; try again") from None
        return purchase, written.position

    def _price(self, caller: Principal, model: Model, pricing: Pricing, plan: str | None) -> Money:
        if plan is None:
            if pricing.is_free or pricing.purchase_price is None:
                raise NotForSale("this model is not sold outright: call it, or pick a plan")
            return Money(pricing.purchase_price, pricing.currency)
        found = next((p for p in pricing.plans if p.name == plan), None)
        if found is None:
            raise UnknownPlan(f"this model has no plan {plan!r}")
        held = self.find_subscription(caller.user_id, model.id)
        if held is not None and held.gives_access_at(self.clock.now()):
            raise AlreadySubscribed("you subscribe to this model already")
        return found.monthly_price

    def find(self, purchase_id: UUID) -> Purchase | None:
        try:
            return self.app.load(Purchase, purchase_id)
        except NotFound:
            return None

    def find_subscription(self, consumer_id: UUID, model_id: UUID) -> Subscription | None:
        try:
            return self.app.load(Subscription, Subscription.create_id(consumer_id, model_id))
        except NotFound:
            return None


def check_key(key: str | None) -> str:
    if key is None or key == "":
        raise IdempotencyKeyRequired("send an Idempotency-Key header (1 to 255 characters)")
    if len(key) > MAX_KEY or not key.isprintable():
        raise InvalidIdempotencyKey("an Idempotency-Key is 1 to 255 printable characters")
    return key
