"""Query parameters every listing shares, checked at the edge into typed values.

A cursor becomes a `Cursor` (or 422 `invalid_cursor`), a number an int within the
stores' signed 64 bits (or 422 `invalid_input`), before any handler sees it. A wait
for a position (`wait_for`) depends on the route's own caller, so authentication and
authorization always come first and the wait is counted against that caller.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator

from domain.principal import Principal
from infra.http.deps import container_of
from projections.cursor import MAX_INT64, Cursor
from queries.progress import ReadYourWrites

Limit = Annotated[int, Query(ge=1, le=200)]
Version = Annotated[int, Query(ge=1, le=MAX_INT64)]
Position = Annotated[
    int | None,
    Query(
        alias="wait_for",
        ge=1,
        le=MAX_INT64,
        description="Wait (up to 10 s) until the read models reflect this position, "
        "the `position` a command returned; a position no event has yet is 422 "
        "`position_beyond_head`, and a caller has at most 4 waits pending (else 429)",
    ),
]


def decoded(cursor: str | None) -> Cursor | None:
    """The cursor a client sent; InvalidCursor (422 `invalid_cursor`) if it is not one."""
    return None if cursor is None else Cursor.decode(cursor)


async def page_cursor(
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the previous page; none: the first")
    ] = None,
) -> Cursor | None:
    return decoded(cursor)


PageCursor = Annotated[Cursor | None, Depends(page_cursor)]


def _encoded(value: object) -> object:
    return value.encode() if isinstance(value, Cursor) else value


# A page's `next_cursor` as clients get it: the cursor's text.
NextCursor = Annotated[str | None, BeforeValidator(_encoded)]


def fresh_for(caller: Callable[..., Any]) -> Any:
    """`Depends` that waits for `wait_for` after `caller` (the route's own dependency,
    resolved once) has authenticated the request; its value: whether it waited."""

    async def read_after_writes(
        request: Request, principal: Principal | None, position: int | None = None
    ) -> bool:
        if position is None:
            return False
        waits = container_of(request).get(ReadYourWrites)
        await waits.wait(_caller_key(request, principal), position)
        return True

    # Spelled out: FastAPI cannot resolve a closure's annotations from their text.
    keyword = inspect.Parameter.KEYWORD_ONLY
    read_after_writes.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("principal", keyword, annotation=_principal_of(caller)),
            inspect.Parameter("position", keyword, annotation=Position, default=None),
        ]
    )
    return Depends(read_after_writes)


def _principal_of(caller: Callable[..., Any]) -> Any:
    return Annotated[Principal | None, Depends(caller)]


def _caller_key(request: Request, principal: Principal | None) -> str:
    if principal is not None:
        return f"user:{principal.user_id}"
    return f"address:{request.client.host if request.client else ''}"
