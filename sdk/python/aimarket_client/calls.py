"""Operations written once for the sync and the async client (sans-I/O): an operation is a
generator that yields `Call`s (answered with the response's JSON) and `Sleep`s, and
returns its result. `Client` runs it with httpx.Client, `AsyncClient` with
httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    # Sent again after a broken connection: reads, and writes with an idempotency key.
    safe_to_repeat: bool = False
    authenticated: bool = True  # False: no credentials sent (refresh, login)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Parallel:
    """Calls sent side by side on up to `workers` connections, each made just before it is
    sent (a part's bytes are read then, not all at once). Answered with one outcome per
    call, in order: its JSON, or the AimarketError it ended with."""

    calls: Sequence[Callable[[], Call]]
    workers: int
    on_answer: Callable[[int, Any], None] | None = None  # (index, JSON) as each succeeds


Op = Generator[Call | Sleep | Parallel, Any, T]


def get(path: str, **params: Any) -> Call:
    """A read; parameters that are None are left out."""
    kept = {name: value for name, value in params.items() if value is not None}
    return Call("GET", path, params=kept or None, safe_to_repeat=True)


def post(path: str, body: Any = None, **headers: str) -> Call:
    return Call("POST", path, json=body, headers=headers or None)
