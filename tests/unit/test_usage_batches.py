"""The Usage aggregate's metering batches: each applied once, by its id."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvalidInput
from domain.usage import BATCHES_KEPT, Usage


def started() -> Usage:
    return Usage(consumer_id=uuid4(), model_id=uuid4(), publisher_id=uuid4())


def test_a_batch_adds_its_days_once_and_is_ignored_when_redone() -> None:
    usage = started()
    assert usage.record_batch("b1", {"2026-11-26": (3, 2), "2026-11-27": (1, 0)})
    assert not usage.record_batch("b1", {"2026-11-26": (3, 2), "2026-11-27": (1, 0)})
    assert (usage.calls, usage.successful_calls) == (4, 2)
    assert usage.days == {"2026-11-26": 3, "2026-11-27": 1}
    assert usage.has_used
    # One event for the whole batch, and none for the redone one.
    assert [type(e).__name__ for e in usage.collect_events()] == ["Started", "BatchRecorded"]


def test_replayed_history_remembers_the_batches_it_applied() -> None:
    usage = started()
    usage.record("2026-11-25", 1, 0)  # the old per-call event still applies
    usage.record_batch("b1", {"2026-11-26": (2, 2)})
    events = usage.collect_events()
    replayed: Usage | None = None
    for stored in events:
        replayed = stored.mutate(replayed)  # type: ignore[assignment]
    assert replayed is not None
    assert (replayed.calls, replayed.successful_calls, replayed.batches) == (3, 2, ["b1"])
    assert not replayed.record_batch("b1", {"2026-11-26": (2, 2)})


def test_only_the_latest_batch_ids_are_kept() -> None:
    usage = started()
    for n in range(BATCHES_KEPT + 5):
        usage.record_batch(f"b{n}", {"2026-11-26": (1, 1)})
    assert len(usage.batches) == BATCHES_KEPT
    assert usage.batches[-1] == f"b{BATCHES_KEPT + 4}" and "b0" not in usage.batches


@pytest.mark.parametrize("days", [{}, {"2026-11-26": (0, 0)}, {"2026-11-26": (1, 2)}])
def test_a_batch_without_calls_or_with_more_successes_than_calls_is_refused(
    days: dict[str, tuple[int, int]],
) -> None:
    with pytest.raises(InvalidInput):
        started().record_batch("b", days)
