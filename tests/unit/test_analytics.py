"""Analytics' pure parts: the `revenue` projection folds a real ledger's events to the
ledger's own figures, and report windows bucket by day in the zone asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from commands.event_store import EventStore
from domain.errors import DomainError
from domain.ledger import PublisherLedger
from projections.revenue import revenue
from queries.analytics import RatingDay, _ratings
from queries.analytics_sources import _entry
from queries.analytics_window import window
from workers.notifications import read_after

NOW = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)


def test_the_revenue_document_holds_each_charge_and_refund_as_the_ledger_earned_them() -> None:
    app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    publisher, model = uuid4(), uuid4()
    ledger = PublisherLedger(publisher)
    ledger.record_charge("p1", model, 999, "EUR", 2000, NOW)
    ledger.record_charge("p2", model, 1500, "EUR", 2000, NOW + timedelta(hours=1))
    ledger.record_refund("r2", "p2", 700, "EUR", NOW + timedelta(days=2))
    app.save(ledger)
    doc = None
    for _, envelope in read_after(app, 0, 100):
        doc = revenue.apply(doc, envelope) if revenue.wants(envelope) else doc
    assert doc is not None and doc["publisher_id"] == str(publisher)
    entries = [_entry(raw) for raw in doc["entries"]]
    assert [(e.gross, e.refunded, e.fee, e.share) for e in entries] == [
        (999, 0, 199, 800),
        (1500, 0, 300, 1200),
        (0, 700, -140, -560),
    ]
    # The same totals as the ledger's own earnings, refunds included.
    earned = list(ledger.earnings.values())
    assert sum(e.fee for e in entries) == sum(r["fee"] for r in earned)
    assert sum(e.share for e in entries) == sum(r["share"] for r in earned)
    assert entries[2].at == NOW + timedelta(days=2)


def test_a_call_at_2330_utc_is_on_the_next_day_in_berlin() -> None:
    utc = window(None, None, "UTC", NOW)
    berlin = window(None, None, "Europe/Berlin", NOW)
    slot = int(NOW.timestamp()) // 900
    assert (utc.day_of_slot(slot), berlin.day_of_slot(slot)) == ("2026-03-31", "2026-04-01")
    assert berlin.last == date(2026, 4, 1) and (berlin.last - berlin.first).days == 29
    # A local day is whole slots: Berlin's day starts at 22:00 UTC in summer time.
    one = window(date(2026, 4, 1), date(2026, 4, 1), "Europe/Berlin", NOW)
    assert one.first_slot * 900 == int(datetime(2026, 3, 31, 22, tzinfo=UTC).timestamp())
    assert (one.end_slot - one.first_slot) * 900 == 24 * 3600
    assert one.zone == ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("first", "last", "tz", "code"),
    [
        (None, None, "Nowhere/Else", "unknown_time_zone"),
        (None, None, "", "unknown_time_zone"),
        (date(2025, 1, 1), date(2026, 1, 2), "UTC", "range_too_large"),
        (date(2026, 1, 2), date(2026, 1, 1), "UTC", "invalid_range"),
    ],
)
def test_a_bad_window_is_refused_with_its_code(
    first: date | None, last: date | None, tz: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        window(first, last, tz, NOW)
    assert refused.value.code == code


def test_a_whole_year_of_366_days_is_allowed() -> None:
    leap = window(date(2024, 1, 1), date(2024, 12, 31), "UTC", NOW)
    assert (leap.last - leap.first).days + 1 == 366


def test_the_rating_trend_is_per_local_day_with_the_mean_to_date() -> None:
    berlin = window(date(2026, 4, 1), date(2026, 4, 2), "Europe/Berlin", NOW)
    reviews = [
        (NOW - timedelta(days=5), 1),  # before the window: counts toward the mean to date
        (NOW, 5),  # 23:30 UTC: 1 April in Berlin
        (NOW + timedelta(hours=2), 4),
        (NOW + timedelta(days=1), 3),
        (NOW + timedelta(days=9), 1),  # after the window
    ]
    assert _ratings(berlin, reviews) == [
        RatingDay("2026-04-01", 2, 4.5, round(10 / 3, 3)),
        RatingDay("2026-04-02", 1, 3.0, 3.25),
    ]


def test_the_day_of_a_clock_change_is_a_run_of_its_own() -> None:
    berlin = window(date(2026, 3, 27), date(2026, 3, 31), "Europe/Berlin", NOW)
    runs = berlin.runs()
    change = datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin"))
    assert [(r.offset, r.day) for r in runs] == [
        (3600, None),
        (0, (date(2026, 3, 29) - date(1970, 1, 1)).days),
        (7200, None),
    ]
    assert runs[1].lo == int(change.timestamp()) and runs[1].hi - runs[1].lo == 23 * 3600
    assert (runs[0].lo, runs[-1].hi) == (berlin.lo, berlin.hi)
    assert all(a.hi == b.lo for a, b in pairwise(runs))
