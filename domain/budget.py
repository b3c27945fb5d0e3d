"""The Budget aggregate: a consumer's monthly spending caps (one for the account, one per
API key if set) and the threshold emails already sent this month.

Addressed by a uuid5 of the consumer, so the one budget of a consumer is found by id.
The thresholds sent are facts of the aggregate: two workers that both see 80 % crossed
race on one save and only the winner sends the email (once per threshold per month).
Setting a cap re-arms its thresholds: 50 % of a new cap is news.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.pricing import Money

BUDGET_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/budget")
THRESHOLDS = (50, 80, 100)  # percent of the cap
ACCOUNT = ""  # the scope of the account-wide cap; a key's cap is scoped by the key id


def scope_of(api_key_id: UUID | None) -> str:
    return ACCOUNT if api_key_id is None else str(api_key_id)


def thresholds_reached(spent: int, cap: int) -> list[int]:
    """The thresholds `spent` has reached of `cap` (a cap of 0 is reached at once)."""
    return [t for t in THRESHOLDS if spent * 100 >= cap * t]


class Budget(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID) -> UUID:
        return uuid5(BUDGET_NAMESPACE, str(consumer_id))

    @event("Started")
    def __init__(self, consumer_id: UUID) -> None:
        self.consumer_id = consumer_id
        self.caps: dict[str, dict[str, Any]] = {}  # scope -> Money.as_dict()
        self.notified: dict[str, list[int]] = {}  # "<scope>/<YYYY-MM>" -> thresholds sent

    @event("CapSet")
    def set_cap(self, scope: str, cap: dict[str, Any]) -> None:
        self.caps[scope] = dict(cap)
        for key in [k for k in self.notified if k.rpartition("/")[0] == scope]:
            del self.notified[key]

    @event("ThresholdNotified")
    def note_threshold(self, scope: str, month: str, percent: int) -> None:
        self.notified.setdefault(f"{scope}/{month}", []).append(percent)

    def cap_of(self, scope: str) -> Money | None:
        cap = self.caps.get(scope)
        return None if cap is None else Money(int(cap["amount"]), str(cap["currency"]))

    def to_notify(self, scope: str, month: str, spent: int) -> list[int]:
        """Thresholds `spent` has reached this month whose email has not gone yet."""
        cap = self.cap_of(scope)
        if cap is None:
            return []
        sent = self.notified.get(f"{scope}/{month}", [])
        return [t for t in thresholds_reached(spent, cap.amount) if t not in sent]
