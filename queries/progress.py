"""Read-your-writes: a query may wait until the projections have caught up with a
position that a command returned, instead of the client sleeping and hoping.

The wait runs after authentication (the route's dependencies see to that) and never
holds a thread: it polls on the event loop, each check a brief read in a worker thread.
A position beyond the event log's head can never be reached, so it is refused at once,
and a caller may have only a few waits pending at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from anyio import to_thread

from domain.errors import InvalidInput, RateLimited, Unavailable

MAX_WAIT_S = 10.0
WAITS_PER_CALLER = 4  # pending at once; an SDK sends one per request it makes
_FIRST_PAUSE_S, _LONGEST_PAUSE_S = 0.005, 0.1


class ProjectionBehind(Unavailable):
    code = "projection_behind"


class PositionBeyondHead(InvalidInput):
    code = "position_beyond_head"


class ProjectionProgress(Protocol):
    def reached(self, position: int) -> bool:
        """Has every read model applied every event up to `position`?"""
        ...


class ReadYourWrites:
    """Waits for positions, on behalf of callers named by a key (a user, an address)."""

    def __init__(
        self,
        progress: ProjectionProgress,
        head: Callable[[], int],
        timeout_s: float = MAX_WAIT_S,
        per_caller: int = WAITS_PER_CALLER,
    ) -> None:
        self._progress, self._head = progress, head
        self._timeout_s, self._per_caller = min(timeout_s, MAX_WAIT_S), per_caller
        self._pending: dict[str, int] = {}  # touched on the event loop only

    def pending(self) -> int:
        """How many waits are pending now, all callers together."""
        return sum(self._pending.values())

    async def wait(self, caller: str, position: int | None) -> None:
        """Return once `position` is reflected; PositionBeyondHead (422) when no event
        has it yet, RateLimited (429) past the caller's pending waits, ProjectionBehind
        (503) after the timeout."""
        if not position or await to_thread.run_sync(self._progress.reached, position):
            return
        head = await to_thread.run_sync(self._head)
        if position > head:
            raise PositionBeyondHead(
                f"position {position} is beyond the event log's head ({head}); "
                "pass a position a command returned"
            )
        if self._pending.get(caller, 0) >= self._per_caller:
            raise RateLimited(
                f"at most {self._per_caller} reads may wait at once; retry shortly",
                retry_after_s=1,
            )
        self._pending[caller] = self._pending.get(caller, 0) + 1
        try:
            await self._poll(position)
        finally:
            self._pending[caller] -= 1
            if not self._pending[caller]:
                del self._pending[caller]

    async def _poll(self, position: int) -> None:
        deadline = time.monotonic() + self._timeout_s
        pause = _FIRST_PAUSE_S
        while not await to_thread.run_sync(self._progress.reached, position):
            if time.monotonic() >= deadline:
                raise ProjectionBehind(
                    f"the read models have not reached position {position} yet; retry shortly"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)
