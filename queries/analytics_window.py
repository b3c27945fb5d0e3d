"""The time window of an analytics report: dates in a time zone, turned into quarter-hour
slots, and a slot back into its day in that zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput
from queries.analytics_ports import DAY_S, SLOT_S, DayRun

EPOCH = date(1970, 1, 1)
MAX_DAYS = 366
DEFAULT_DAYS = 30


class UnknownTimeZone(InvalidInput):  # a 422, as other bad query parameters are
    code = "unknown_time_zone"


class RangeTooLarge(InvalidInput):
    code = "range_too_large"


class InvalidRange(InvalidInput):
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

    @property
    def lo(self) -> int:
        return int(self.start.timestamp())

    @property
    def hi(self) -> int:
        return int(self.end.timestamp())

    def runs(self) -> list[DayRun]:
        """The window's days as runs with one UTC offset each (a clock change's day alone)."""
        runs: list[DayRun] = []
        day = self.first
        while day <= self.last:
            lo, hi = _epoch(day, self.zone), _epoch(day + timedelta(days=1), self.zone)
            offset = _offset(lo, self.zone)
            if hi - lo != DAY_S or _offset(hi - 1, self.zone) != offset:
                runs.append(DayRun(lo, hi, day=(day - EPOCH).days))
            elif runs and runs[-1].day is None and runs[-1].offset == offset:
                runs[-1] = DayRun(runs[-1].lo, hi, offset)
            else:
                runs.append(DayRun(lo, hi, offset))
            day += timedelta(days=1)
        return runs

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


def day_named(number: int) -> str:
    """A day number (days since the epoch, in the report's zone) as YYYY-MM-DD."""
    return (EPOCH + timedelta(days=number)).isoformat()


def _slot(day: date, zone: ZoneInfo) -> int:
    return _epoch(day, zone) // SLOT_S


def _epoch(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), zone).timestamp())


def _offset(epoch: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(epoch, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())
