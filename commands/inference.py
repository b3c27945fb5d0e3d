"""The inference command handler: who may call (entitlement, limits), the inputs against
the version's signature, the engine (through the response cache), what the call cost, and
one usage record per call or batch item.

The hot path stays on the event loop: model views, grants and monthly counts come from
memory, and a thread is used only when the event store or the ledger must be read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from anyio import to_thread

from commands.budgets import BudgetCheck
from commands.inference_ports import EngineResult, InferenceEngine
from commands.inference_targets import ModelView, ModelViews, Release
from commands.inference_types import (
    BatchItem,
    Cost,
    InferenceLimits,
    InferenceResult,
    PaidAccess,
)
from commands.metering_ports import CallStatus, UsageMeter, UsageRecord, month_of
from commands.rate_limits import BucketSpec, Limit, RateLimiterUnavailable, TokenBuckets
from commands.response_cache import ResponseCache
from commands.tensors import (
    InputError,
    NotBatchable,
    decode_inputs,
    encode_outputs,
    input_digest,
    stack,
    unstack,
)
from domain.clock import Clock
from domain.entitlement import Caller, Entitlement, entitle
from domain.errors import DomainError, RateLimited, Unavailable, UpstreamTimedOut
from domain.pricing import next_period_start
from domain.principal import Principal


@dataclass(frozen=True)
class _Admitted:
    view: ModelView
    release: Release
    entitlement: Entitlement
    now: datetime


class InferenceService:
    def __init__(
        self,
        views: ModelViews,
        engine: InferenceEngine,
        meter: UsageMeter,
        limiter: TokenBuckets,
        cache: ResponseCache,
        clock: Clock,
        limits: InferenceLimits,
        paid: PaidAccess,
        budgets: BudgetCheck,
    ) -> None:
        self._views, self._engine, self._meter = views, engine, meter
        self._limiter, self._cache, self._clock, self._limits = limiter, cache, clock, limits
        self.paid_access, self.budgets = paid, budgets  # billing's: purchases, caps

    @property
    def limits(self) -> InferenceLimits:
        return self._limits

    async def admit(self, caller: Principal, model_id: UUID, version: str | None) -> None:
        """Everything but the call itself: visible, deployed, entitled, within limits.
        Raises the error the call would; jobs check this before they are queued."""
        await self._admit(caller, model_id, version, items=1)

    async def infer(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        inputs: Mapping[str, Any],
        request_id: str,
        output_format: str = "json",
    ) -> InferenceResult:
        started = time.perf_counter()
        admitted = await self._admit(caller, model_id, version, items=1)
        release = admitted.release
        arrays = decode_inputs(release.signature, inputs, self._limits.max_input_bytes)
        cache_key = None
        if admitted.view.response_cache != "off":
            cache_key = input_digest(arrays)
            hit = self._cache.get(release.deployment.digest, cache_key)
            if hit is not None:
                free = admitted.view.response_cache == "free"
                return self._answer(
                    admitted, caller, request_id, EngineResult(hit, 0.0, 0.0), started,
                    output_format, cached=True, billed=not free,
                )  # fmt: skip
        outcome = await self._call_engine(admitted, caller, request_id, arrays, 1)
        if cache_key is not None and not outcome.cold_start:
            self._cache.put(release.deployment.digest, cache_key, outcome.outputs)
        return self._answer(admitted, caller, request_id, outcome, started, output_format)

    async def infer_batch(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        items: Sequence[Mapping[str, Any]],
        request_id: str,
        output_format: str = "json",
    ) -> list[BatchItem]:
        """Items stacked into one engine call; an item with bad inputs gets its own error
        and the others still run. One usage record (and cost) per item."""
        started = time.perf_counter()
        if not 1 <= len(items) <= self._limits.max_batch_items:
            raise InputError(f"a batch holds 1 to {self._limits.max_batch_items} items")
        admitted = await self._admit(caller, model_id, version, items=len(items))
        signature = admitted.release.signature
        if not signature.batchable:
            raise NotBatchable("this model has no batch dimension: call it item by item")
        decoded: list[dict[str, np.ndarray] | DomainError] = []
        for item in items:
            try:
                decoded.append(decode_inputs(signature, item, self._limits.max_input_bytes))
            except DomainError as error:
                decoded.append(error)
        good = [d for d in decoded if not isinstance(d, DomainError)]
        answers = iter(await self._run_batch(admitted, caller, request_id, good, started,
                                             output_format))  # fmt: skip
        return [
            BatchItem(error=d) if isinstance(d, DomainError) else BatchItem(result=next(answers))
            for d in decoded
        ]

    async def _run_batch(
        self,
        admitted: _Admitted,
        caller: Principal,
        request_id: str,
        good: list[dict[str, np.ndarray]],
        started: float,
        output_format: str,
    ) -> list[InferenceResult]:
        if not good:
            return []
        stacked, sizes = stack(good)
        if sum(sizes) > self._limits.max_batch_items:
            raise InputError(f"a batch carries at most {self._limits.max_batch_items} rows")
        ids = [f"{request_id}.{i}" for i in range(len(good))]
        outcome = await self._call_engine(admitted, caller, ids, stacked, len(good))
        free_items = len(good) - admitted.entitlement.billable_units
        return [
            self._answer(
                admitted, caller, ids[i],
                EngineResult(outputs, outcome.queue_ms, outcome.compute_ms, outcome.cold_start),
                started, output_format, billed=i >= free_items, units=1,
            )
            for i, outputs in enumerate(unstack(outcome.outputs, sizes))
        ]  # fmt: skip

    async def _admit(
        self, caller: Principal, model_id: UUID, version: str | None, items: int
    ) -> _Admitted:
        view = self._views.cached(model_id)
        if view is None:
            view = await to_thread.run_sync(self._views.load, model_id)
        view.check_callable(caller)
        release = view.release(version)
        now = self._clock.now()
        who = await self._caller(caller, view, now)
        self._check_rate(caller, who)
        entitlement = entitle(
            who,
            view.pricing_at(now),
            view.gated,
            items,
            int((next_period_start(now) - now).total_seconds()),
        )
        await self.budgets.check(caller, now)  # 402 budget_exhausted: this month's cap is spent
        release.check_deployed()  # after access: those without it learn nothing more
        return _Admitted(view, release, entitlement, now)

    def _check_rate(self, caller: Principal, who: Caller) -> None:
        """The caller's plan sets the bucket: paid access (a purchase or a subscription;
        the publisher and admins too) gets the full rate, the free tier a smaller one."""
        plan = "paid" if who.has_paid_access else "free"
        per_minute = self._limits.calls_per_minute
        if plan == "free":
            per_minute = self._limits.free_calls_per_minute
        key = f"infer:{plan}:{caller.api_key_id or caller.user_id}"
        try:
            decision = self._limiter.take_all([Limit(key, BucketSpec(per_minute, per_minute / 60))])
        except RateLimiterUnavailable:
            if not self._limits.rate_fail_open:
                raise
            return  # entitlement, monthly caps and budgets still hold without the buckets
        if not decision.allowed:
            raise RateLimited("too many calls; slow down", retry_after_s=decision.retry_after_s)

    async def _caller(self, caller: Principal, view: ModelView, now: datetime) -> Caller:
        owner, admin = caller.user_id == view.publisher_id, caller.role == "admin"
        if owner or admin:
            return Caller(owner, admin, True, None, True, 0)
        month = month_of(now)
        used = self._meter.peek_calls(caller.user_id, view.model_id, month)
        if used is None:
            used = await to_thread.run_sync(
                self._meter.calls_this_month, caller.user_id, view.model_id, month
            )
        granted, cap = False, None
        if view.gated:
            grant = await self._grant(caller.user_id, view.model_id, now)
            granted = grant is not None and (grant.expires_at is None or now < grant.expires_at)
            cap = grant.monthly_call_cap if grant is not None else None
        paid = self.paid_access.has_paid_access(caller.user_id, view.model_id)
        return Caller(False, False, granted, cap, paid, used)

    async def _grant(self, user_id: UUID, model_id: UUID, now: datetime) -> Any:
        known = self._views.cached_grant(model_id, user_id)
        if known is not None:
            return known[0]
        return await to_thread.run_sync(self._views.load_grant, model_id, user_id, now)

    async def _call_engine(
        self,
        admitted: _Admitted,
        caller: Principal,
        request_ids: str | list[str],
        arrays: dict[str, np.ndarray],
        items: int,
    ) -> EngineResult:
        deployment = admitted.release.deployment
        try:
            return await self._engine.infer(deployment, arrays, self._limits.timeout_s)
        except DomainError as error:
            ids = [request_ids] if isinstance(request_ids, str) else request_ids
            for request_id in ids:
                self._record(admitted, caller, request_id, _status_of(error), 0.0, False,
                             False, 0)  # fmt: skip
            raise

    def _answer(
        self,
        admitted: _Admitted,
        caller: Principal,
        request_id: str,
        outcome: EngineResult,
        started: float,
        output_format: str,
        *,
        cached: bool = False,
        billed: bool = True,
        units: int = 1,
    ) -> InferenceResult:
        entitlement = admitted.entitlement
        charge = billed and entitlement.billable_units > 0 and not outcome.cold_start
        amount = entitlement.price_per_request * units if charge else 0
        self._record(admitted, caller, request_id, CallStatus.SUCCEEDED, outcome.compute_ms,
                     outcome.cold_start, cached, amount, units)  # fmt: skip
        total_ms = (time.perf_counter() - started) * 1000
        return InferenceResult(
            request_id=request_id,
            model_id=admitted.view.model_id,
            version=admitted.release.deployment.version,
            outputs=encode_outputs(outcome.outputs, output_format),
            timings_ms={
                "queue": round(outcome.queue_ms, 3),
                "compute": round(outcome.compute_ms, 3),
                "total": round(total_ms, 3),
            },
            cost=Cost(units, amount, entitlement.currency),
            cached=cached,
            cold_start=outcome.cold_start,
        )

    def _record(
        self,
        admitted: _Admitted,
        caller: Principal,
        request_id: str,
        status: CallStatus,
        compute_ms: float,
        cold_start: bool,
        cached: bool,
        amount: int,
        units: int = 1,
    ) -> None:
        self._meter.record(
            UsageRecord(
                request_id=request_id,
                consumer_id=caller.user_id,
                api_key_id=caller.api_key_id,
                model_id=admitted.view.model_id,
                publisher_id=admitted.view.publisher_id,
                version=admitted.release.deployment.version,
                units=units,
                compute_ms=compute_ms,
                status=status,
                cold_start=cold_start,
                cached=cached,
                cost_amount=amount,
                currency=admitted.entitlement.currency,
                at=admitted.now,
            )
        )


def _status_of(error: DomainError) -> CallStatus:
    if isinstance(error, UpstreamTimedOut):
        return CallStatus.TIMED_OUT
    if isinstance(error, Unavailable):
        return CallStatus.UNAVAILABLE
    return CallStatus.FAILED
