"""Quarter-hour slots: the grain analytics keeps usage and spend at.

Every time zone in use today is offset from UTC by a multiple of 15 minutes, so a local
day is a whole number of slots and summing slots gives any zone's days exactly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from commands.billing_pricing import PricedCall
from queries.analytics_ports import SLOT_S


def slot_of(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp()) // SLOT_S


def spend_slot_rows(priced: Sequence[PricedCall]) -> list[tuple[Any, ...]]:
    """(consumer, model, slot, currency, amount) to add, for the calls that cost something."""
    rows: dict[tuple[str, str, int, str], int] = {}
    for call in priced:
        if call.amount:
            r = call.record
            key = (str(r.consumer_id), str(r.model_id), slot_of(r.at), call.currency)
            rows[key] = rows.get(key, 0) + call.amount
    return [(*key, amount) for key, amount in sorted(rows.items())]
