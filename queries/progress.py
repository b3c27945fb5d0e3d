"""Read-your-writes: a query may wait until the projections have caught up with a
position that a command returned, instead of the client sleeping and hoping."""

from __future__ import annotations

import time
from typing import Protocol

from domain.errors import Unavailable

MAX_WAIT_S = 10.0


class ProjectionBehind(Unavailable):
    code = "projection_behind"


class ProjectionProgress(Protocol):
    def reached(self, position: int) -> bool:
        """Has every read model applied every event up to `position`?"""
        ...


def wait_for(progress: ProjectionProgress, position: int | None, timeout_s: float) -> None:
    """Return once `position` is reflected; raise ProjectionBehind after `timeout_s`."""
    if not position:
        return
    deadline = time.monotonic() + min(timeout_s, MAX_WAIT_S)
    pause = 0.002
    while not progress.reached(position):
        if time.monotonic() >= deadline:
            raise ProjectionBehind(
                f"the read models have not reached position {position} yet; retry shortly"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
