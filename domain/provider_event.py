"""A payment provider's webhook event, once handled: addressed by a uuid5 of the provider's
event id, so a second delivery of the same event is a version conflict in the event
store (saved with the changes it caused, in one transaction), never a second renewal."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

PROVIDER_EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/provider-event")


class ProviderEvent(Aggregate):
    @staticmethod
    def create_id(provider: str, event_id: str) -> UUID:
        return uuid5(PROVIDER_EVENT_NAMESPACE, f"{provider}/{event_id}")

    @event("Handled")
    def __init__(self, provider: str, event_id: str, kind: str, outcome: str) -> None:
        self.provider, self.event_id, self.kind, self.outcome = provider, event_id, kind, outcome
