"""Unit tests run at a wall-clock date far from the dates written in them: a test whose
result depends on today's date fails here at once, not on the day the calendar catches up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

FAR_FROM_ANY_DATE_IN_THE_TESTS = datetime(2033, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wall_clock_elsewhere() -> Iterator[None]:
    with time_machine.travel(FAR_FROM_ANY_DATE_IN_THE_TESTS, tick=True):
        yield
