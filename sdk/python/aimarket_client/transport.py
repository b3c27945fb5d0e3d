"""Runs operations (aimarket_client.calls) over httpx: blocking, or on an event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from typing import Any, TypeVar

import httpx

from aimarket_client.calls import Call, Op, Parallel, Sleep
from aimarket_client.errors import AimarketError, ConnectionFailed, error_from
from aimarket_client.session import AGAIN, REFRESH, Session, refresh_call

T = TypeVar("T")


def _broken(call: Call, error: httpx.TransportError) -> ConnectionFailed:
    return ConnectionFailed(f"{call.method} {call.path}: {error!r}")


class SyncTransport:
    def __init__(self, http: httpx.Client, session: Session) -> None:
        self.http = http
        self.session = session

    def run(self, op: Op[T]) -> T:
        """Drive `op` to its result, answering each step it yields. An error of a call is
        thrown into the operation, which may handle it."""
        answer: Any = None
        failure: AimarketError | None = None
        try:
            while True:
                step = op.throw(failure) if failure else op.send(answer)
                answer, failure = None, None
                try:
                    answer = self._step(step)
                except AimarketError as error:
                    failure = error
        except StopIteration as done:
            result: T = done.value
            return result

    def _step(self, step: Call | Sleep | Parallel) -> Any:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Parallel):
            with ThreadPoolExecutor(step.workers, thread_name_prefix="aimarket") as pool:
                return list(pool.map(self._outcome, [step] * len(step.calls), count()))
        return self.send(step)

    def _outcome(self, step: Parallel, index: int) -> Any:
        try:
            answer = self.send(step.calls[index]())
        except AimarketError as error:
            return error
        if step.on_answer is not None:
            step.on_answer(index, answer)
        return answer

    def send(self, call: Call) -> Any:
        """One call's JSON answer, sent again while the session says it is worth it."""
        attempt, refreshed = 0, False
        while True:
            try:
                response = self.http.request(call.method, call.path, **self.session.request(call))
            except httpx.TransportError as broken:
                error: AimarketError = _broken(call, broken)
            else:
                if response.is_success:
                    return self.session.answered(response)
                error = error_from(response)
            move = self.session.after_failure(call, error, attempt, refreshed)
            if move is None:
                raise error
            if move == REFRESH:
                self._refresh()
                refreshed = True
            elif move != AGAIN:
                time.sleep(float(move))
                attempt += 1

    def _refresh(self) -> None:
        credentials = self.session.credentials
        credentials.refreshed(self.send(refresh_call(credentials)))


class AsyncTransport:
    def __init__(self, http: httpx.AsyncClient, session: Session) -> None:
        self.http = http
        self.session = session

    async def run(self, op: Op[T]) -> T:
        answer: Any = None
        failure: AimarketError | None = None
        try:
            while True:
                step = op.throw(failure) if failure else op.send(answer)
                answer, failure = None, None
                try:
                    answer = await self._step(step)
                except AimarketError as error:
                    failure = error
        except StopIteration as done:
            result: T = done.value
            return result

    async def _step(self, step: Call | Sleep | Parallel) -> Any:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Parallel):
            room = asyncio.Semaphore(step.workers)

            async def outcome(index: int, make: Callable[[], Call]) -> Any:
                async with room:
                    try:  # reading and hashing a part happen off the loop
                        answer = await self.send(await asyncio.to_thread(make))
                    except AimarketError as error:
                        return error
                if step.on_answer is not None:
                    step.on_answer(index, answer)
                return answer

            calls = enumerate(step.calls)
            return list(await asyncio.gather(*(outcome(i, make) for i, make in calls)))
        return await self.send(step)

    async def send(self, call: Call) -> Any:
        attempt, refreshed = 0, False
        while True:
            try:
                kwargs = self.session.request(call)
                response = await self.http.request(call.method, call.path, **kwargs)
            except httpx.TransportError as broken:
                error: AimarketError = _broken(call, broken)
            else:
                if response.is_success:
                    return self.session.answered(response)
                error = error_from(response)
            move = self.session.after_failure(call, error, attempt, refreshed)
            if move is None:
                raise error
            if move == REFRESH:
                await self._refresh()
                refreshed = True
            elif move != AGAIN:
                await asyncio.sleep(float(move))
                attempt += 1

    async def _refresh(self) -> None:
        credentials = self.session.credentials
        credentials.refreshed(await self.send(refresh_call(credentials)))
