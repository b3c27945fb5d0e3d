"""The payment provider's webhook events, applied to our subscriptions.

Stripe delivers each event at least once, in any order, for days: the signature is
checked first (commands/provider_signature.py), then each event id is handled once (a
`ProviderEvent` marker saved with the changes it caused), unknown types are acknowledged
and ignored, and every change is guarded by what the Subscription already knows (a
renewal for a period no newer than the known one changes nothing; a canceled
subscription stays canceled). The renewal's charge goes to the `ChargeRecorder` (the
publishers' ledger) with the invoice id as transaction id, idempotent there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore
from commands.payment_ports import ChargeRecorder
from commands.provider_signature import verify_signature
from domain.clock import Clock
from domain.errors import DomainError, NotFound
from domain.pricing import Money
from domain.provider_event import ProviderEvent
from domain.subscription import Subscription

PROVIDER = "stripe"
Handler = Callable[["ProviderEvents", Subscription, dict[str, Any]], str]


class MalformedEvent(DomainError):  # 400
    code = "malformed_json"


@dataclass(frozen=True)
class WebhookSecrets:
    secrets: Sequence[str]
    tolerance_s: int = 300


class ProviderEvents(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        clock: Clock,
        secrets: WebhookSecrets,
        charges: ChargeRecorder,
    ) -> None:
        self.app, self.clock, self.secrets = app, clock, secrets
        self.charges = charges
        # A usage invoice (period close) collected: invoicing books it (wired at the root).
        self.usage_invoice_paid: Callable[[UUID, datetime], None] = lambda _id, _at: None

    def receive(self, body: bytes, signature: str | None) -> str:
        """Verify, then apply one webhook delivery; its outcome (`handled`, `duplicate`,
        `ignored`, `stale`) for the log and the response."""
        verify_signature(
            body, signature, self.secrets.secrets, self.clock.now(), self.secrets.tolerance_s
        )
        event = _parse(body)
        marker_id = ProviderEvent.create_id(PROVIDER, event["id"])
        if self._known(marker_id):
            return "duplicate"
        usage_invoice = _usage_invoice_id(event)
        if usage_invoice is not None:
            return self._usage_invoice_paid(event, usage_invoice)
        handler = HANDLERS.get(event["type"])
        subscription = self._subscription_of(event) if handler is not None else None
        if handler is None or subscription is None:
            return "ignored"  # nothing of ours changes: no marker to keep either
        try:
            outcome = handler(self, subscription, event["data"]["object"])
        except (KeyError, TypeError, ValueError):
            raise MalformedEvent(f"a {event['type']} event without the fields it needs") from None
        marker = ProviderEvent(PROVIDER, event["id"], event["type"], outcome)
        try:
            self.app.write(marker, subscription)
        except IntegrityError:  # the same event, delivered twice at once: the other won
            return "duplicate"
        return outcome

    def _usage_invoice_paid(self, event: dict[str, Any], invoice_id: UUID) -> str:
        try:
            self.usage_invoice_paid(invoice_id, self.clock.now())  # idempotent by itself
        except NotFound:
            return "ignored"  # not one of ours
        try:
            self.app.write(ProviderEvent(PROVIDER, event["id"], event["type"], "handled"))
        except IntegrityError:
            return "duplicate"
        return "handled"

    def _known(self, marker_id: UUID) -> bool:
        try:
            self.app.load(ProviderEvent, marker_id)
        except NotFound:
            return False
        return True

    def _subscription_of(self, event: dict[str, Any]) -> Subscription | None:
        """Ours, from the metadata the purchase saga gave the provider's subscription;
        None for an event about something else, or about an earlier provider subscription
        of a restarted one."""
        try:
            metadata, provider_id = _metadata_and_id(event["data"]["object"])
            key = UUID(str(metadata["consumer_id"])), UUID(str(metadata["model_id"]))
            subscription = self.app.load(Subscription, Subscription.create_id(*key))
        except (KeyError, ValueError, TypeError, AttributeError, NotFound):
            return None
        if subscription.provider_id not in (None, provider_id):
            return None
        return subscription

    # The handled types

    def _invoice_paid(self, subscription: Subscription, invoice: dict[str, Any]) -> str:
        if invoice.get("billing_reason") == "subscription_create":
            return "ignored"  # the first period: the purchase saga charged and recorded it
        start, end = _invoice_period(invoice)
        renewed = subscription.renew(start, end)
        paid = Money(int(invoice.get("amount_paid") or 0), str(invoice["currency"]).upper())
        if paid.amount > 0:  # a paid invoice is income even when it arrives late
            self.charges.record_charge(
                invoice["id"],
                subscription.publisher_id,
                subscription.model_id,
                paid,
                self.clock.now(),
            )
        return "handled" if renewed else "stale"

    def _invoice_failed(self, subscription: Subscription, invoice: dict[str, Any]) -> str:
        _, end = _invoice_period(invoice)
        if subscription.period_end is not None and end.isoformat() <= subscription.period_end:
            return "stale"  # a failure for a period since paid
        return "handled" if subscription.mark_past_due() else "stale"

    def _subscription_updated(self, subscription: Subscription, sub: dict[str, Any]) -> str:
        if sub.get("status") == "canceled":
            return self._subscription_deleted(subscription, sub)
        if sub.get("cancel_at_period_end"):
            subscription.request_cancel_at_period_end()
        if sub.get("status") in ("past_due", "unpaid"):
            subscription.mark_past_due()
        return "handled" if subscription.pending_events else "stale"

    def _subscription_deleted(self, subscription: Subscription, sub: dict[str, Any]) -> str:
        return "handled" if subscription.cancel("ended by the payment provider") else "stale"


HANDLERS: dict[str, Handler] = {
    "invoice.paid": ProviderEvents._invoice_paid,
    "invoice.payment_failed": ProviderEvents._invoice_failed,
    "customer.subscription.updated": ProviderEvents._subscription_updated,
    "customer.subscription.deleted": ProviderEvents._subscription_deleted,
}


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
        if not (isinstance(event["id"], str) and isinstance(event["type"], str)):
            raise TypeError
        if not isinstance(event["data"]["object"], dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise MalformedEvent("the body is not a Stripe event") from None
    return event  # type: ignore[no-any-return]


def _usage_invoice_id(event: dict[str, Any]) -> UUID | None:
    """Our invoice's id when the event is a usage invoice (period close) paid: its lines
    carry the id in their metadata; a subscription's invoice has none."""
    invoice = event["data"]["object"]
    if event["type"] != "invoice.paid" or invoice.get("subscription"):
        return None
    lines = (invoice.get("lines") or {}).get("data") or []
    try:
        return UUID(str(lines[0]["metadata"]["invoice_id"]))
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def _metadata_and_id(found: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A subscription's metadata and id, or an invoice's subscription's (Stripe's API
    since 2025-03 keeps them under `parent.subscription_details`)."""
    if found.get("object") == "subscription":
        return dict(found.get("metadata") or {}), found.get("id")
    details = (found.get("parent") or {}).get("subscription_details") or {}
    details = details or found.get("subscription_details") or {}
    provider_id = found.get("subscription") or details.get("subscription")
    return dict(details.get("metadata") or {}), provider_id


def _invoice_period(invoice: dict[str, Any]) -> tuple[datetime, datetime]:
    """The period an invoice pays for: its subscription line's, else its own."""
    lines = (invoice.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") or {}) if lines else {}
    start = period.get("start", invoice["period_start"])
    end = period.get("end", invoice["period_end"])
    return datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC)
