"""The time window of an analytics report: dates in a time zone, turned into quarter-hour
slots, and a slot back into its day in that zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import DomainError
from queries.analytics_ports import SLOT_S

MAX_DAYS = 366
DEFAULT_DAYS = 30


class UnknownTimeZone(DomainError):  # not in STATUS_BY_ERROR: a 400, as a bad query is
    code = "unknown_time_zone"


class RangeTooLarge(DomainError):
    code = "range_too_large"


class InvalidRange(DomainError):
    code = "invalid_range"


@dataclass(frozen=True)
class Window:
    first: date
    last: date  # inclusive
    zone: ZoneInfo

    @property
    def first_slot(self) -> int:
        return _slot(self.first, self.zone)

    @property
    def end_slot(self) -> int:
        return _slot(self.last + timedelta(days=1), self.zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)

    def day_of_slot(self, slot: int) -> str:
        return datetime.fromtimestamp(slot * SLOT_S, UTC).astimezone(self.zone).date().isoformat()

    def day_of(self, at: datetime) -> str:
        return at.astimezone(self.zone).date().isoformat()

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


def window(first: date | None, last: date | None, tz: str, now: datetime) -> Window:
    """From `first` to `last` (inclusive) in zone `tz`; by default the last 30 days to
    today there. Refused: an unknown zone, `last` before `first`, over 366 days."""
    zone = zone_named(tz)
    last = last or now.astimezone(zone).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidRange("`to` is before `from`")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeTooLarge(f"at most {MAX_DAYS} days in one report")
    return Window(first, last, zone)


def zone_named(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimeZone(f"no IANA time zone {tz[:64]!r}") from error


def _slot(day: date, zone: ZoneInfo) -> int:
    midnight = datetime.combine(day, time(), zone).astimezone(UTC)
    return int(midnight.timestamp()) // SLOT_S
