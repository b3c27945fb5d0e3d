"""Two writers on one aggregate: the one that loses the race runs its command again.

A command is load → call the aggregate → save. When the save finds that an aggregate it
changed was changed by someone else since it was loaded (`ConcurrentUpdate`), the whole
command runs again on fresh state, a few times with jittered back-off; only when the
attempts are spent does the caller get 409 `concurrent_update`. Every public method of a
`CommandHandlers` subclass is retried this way, so no handler or route writes it again.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from commands.tracing import span
from domain.errors import Conflict

ATTEMPTS = 5
BACKOFF_S = 0.005  # doubled per attempt, jittered: spreads writers that collided

F = TypeVar("F", bound=Callable[..., Any])

# Set while a command runs, so a command calling another is retried once, as a whole.
_in_command: ContextVar[bool] = ContextVar("in_command", default=False)


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"


def retried_on_conflict(command: F, name: str | None = None) -> F:
    span_name = name or command.__qualname__

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _in_command.get():
            return command(*args, **kwargs)
        token = _in_command.set(True)
        try:
            with span(span_name):  # one span per command: its attempts and inner commands
                return _attempts(command, args, kwargs)
        finally:
            _in_command.reset(token)

    return run  # type: ignore[return-value]


def _attempts(command: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return command(*args, **kwargs)
        except ConcurrentUpdate:
            if attempt == ATTEMPTS:
                raise
        time.sleep(random.uniform(0, BACKOFF_S * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def no_writes(method: F) -> F:
    """Marks a public method of a `CommandHandlers` that reads only memory (a cache on the
    hot path of every call): no retries and no span of its own."""
    method.__no_writes__ = True  # type: ignore[attr-defined]
    return method


class CommandHandlers:
    """Base of the write side's services: each public method is one retried command."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            if inspect.iscoroutinefunction(member):
                continue  # the retry and the span would cover only making the coroutine
            if not getattr(member, "__no_writes__", False):
                setattr(cls, name, retried_on_conflict(member, f"{cls.__name__}.{name}"))
