"""The clock port: logic asks it for the time, never the wall clock, so tests pick the date."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
