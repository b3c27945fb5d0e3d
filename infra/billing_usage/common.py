"""What both billing usage stores share: the rows a priced batch adds to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from commands.billing_pricing import PricedCall, by_day, spend

ACCOUNT = ""  # the spend row of the whole account; a key's row is named by the key id


def day_rows(priced: Sequence[PricedCall]) -> list[tuple[Any, ...]]:
    """(consumer, model, day, currency, calls, billable units, amount) to add."""
    return [
        (str(c), str(m), day, currency, t.calls, t.billable_units, t.amount)
        for (c, m, day, currency), t in sorted(by_day(priced).items())
    ]


def spend_rows(priced: Sequence[PricedCall]) -> list[tuple[Any, ...]]:
    """(consumer, scope, month, currency, amount) to add: the account's and the key's."""
    rows: dict[tuple[str, str, str, str], int] = {}
    for (consumer, key, month, currency), amount in spend(priced).items():
        for scope in (ACCOUNT, *([] if key is None else [str(key)])):
            at = (str(consumer), scope, month, currency)
            rows[at] = rows.get(at, 0) + amount
    return [(*key, amount) for key, amount in sorted(rows.items())]


def month_rows(counts: dict[tuple[UUID, UUID, str], int]) -> list[tuple[Any, ...]]:
    return [(str(c), str(m), month, units) for (c, m, month), units in sorted(counts.items())]


def scope_of(api_key_id: UUID | None) -> str:
    return ACCOUNT if api_key_id is None else str(api_key_id)


def counted_after(
    priced: Sequence[PricedCall], counted: dict[tuple[UUID, UUID, str], int]
) -> dict[tuple[UUID, UUID, str], int]:
    """The month's counted units once the batch is in."""
    after = dict(counted)
    for call in priced:
        r = call.record
        if r.counts_toward_quota:
            key = (r.consumer_id, r.model_id, r.month)
            after[key] += r.units
    return after
