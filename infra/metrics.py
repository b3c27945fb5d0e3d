"""The application's Prometheus metrics and the hooks that feed them.

The metrics live in prometheus-client's default registry, as the library intends: that
registry is the process's, and in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, see
infra/metrics_export.py) each value is a memory-mapped file whatever registry holds it.
Other parts export theirs the same way (the rate limiter's refusals, the breakers'
states) and /metrics shows them all. Names are all `aimarket_`.

commands/ know nothing of Prometheus: the inference path's usage records, the priced
batches and the saga's final states reach these hooks through ports the wiring fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from prometheus_client import Counter, Histogram

from commands.billing_pricing import PricedCall
from commands.metering_ports import CallStatus, UsageMeter, UsageRecord

# Seconds; from a cached answer (sub-millisecond) to a slow model on a busy engine.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "aimarket_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "aimarket_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
INFERENCE_CALLS = Counter(
    "aimarket_inference_calls", "Inference calls and batch items, by model and outcome",
    ["model", "status"],
)  # fmt: skip
INFERENCE_LATENCY = Histogram(
    "aimarket_inference_duration_seconds",
    "The engine's compute time of an answered, uncached call, by model",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
USAGE_RECORDS = Counter(
    "aimarket_usage_records", "Usage records taken by the meter, by status", ["status"]
)
USAGE_BILLED = Counter(
    "aimarket_usage_billed_minor_units",
    "What the inference path priced its calls at (minor units), by currency",
    ["currency"],
)
REVENUE = Counter(
    "aimarket_revenue_minor_units",
    "Usage revenue as billing priced it (free tiers and plans applied), minor units",
    ["currency"],
)
PRICED_CALLS = Counter("aimarket_priced_calls", "Usage records billing has priced")
SAGA_OUTCOMES = Counter(
    "aimarket_purchase_saga_outcomes", "Purchases that reached a final state", ["outcome"]
)

# PurchaseState (final) -> the outcome label
SAGA_OUTCOME_OF = {"completed": "completed", "canceled": "refunded", "payment_failed": "failed"}
for _outcome in SAGA_OUTCOME_OF.values():
    SAGA_OUTCOMES.labels(_outcome)  # exported at 0 from the start, so rate() sees the first
for _status in CallStatus:
    USAGE_RECORDS.labels(_status.value)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# (route, method, status) -> the counter's and the histogram's child: labels() takes a
# lock and builds a tuple each time; a dict hit does not. Bounded as the labels are.
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
# (model, status) -> the inference series' children; bounded by the models called.
_usage_children: dict[tuple[UUID, str], tuple[Any, Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method if method in _METHODS else "other", status)
    children = _http_children.get(key)
    if children is None:
        labels = (key[0], key[1], str(status))
        children = (HTTP_REQUESTS.labels(*labels), HTTP_LATENCY.labels(*labels))
        _http_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_usage(record: UsageRecord) -> None:
    status = record.status.value
    key = (record.model_id, status)
    children = _usage_children.get(key)
    if children is None:  # once per model and outcome, as for the HTTP series above
        model = str(record.model_id)
        children = (INFERENCE_CALLS.labels(model, status), USAGE_RECORDS.labels(status),
                    INFERENCE_LATENCY.labels(model))  # fmt: skip
        _usage_children[key] = children
    children[0].inc(record.units)
    children[1].inc()
    if record.status == CallStatus.SUCCEEDED and not record.cached:
        children[2].observe(record.compute_ms / 1000)
    if record.cost_amount:
        USAGE_BILLED.labels(record.currency).inc(record.cost_amount)


def observe_priced(priced: Sequence[PricedCall]) -> None:
    """After a batch is priced and stored (each record priced once)."""
    PRICED_CALLS.inc(len(priced))
    for call in priced:
        if call.amount:
            REVENUE.labels(call.currency).inc(call.amount)


def observe_saga_outcome(state: str) -> None:
    SAGA_OUTCOMES.labels(SAGA_OUTCOME_OF.get(state, state)).inc()


class ObservedMeter:
    """A UsageMeter that counts each record, then hands it on."""

    def __init__(self, inner: UsageMeter) -> None:
        self.inner = inner

    def record(self, record: UsageRecord) -> None:
        observe_usage(record)
        self.inner.record(record)

    def peek_calls(self, consumer_id: UUID, model_id: UUID, month: str) -> int | None:
        return self.inner.peek_calls(consumer_id, model_id, month)

    def calls_this_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        return self.inner.calls_this_month(consumer_id, model_id, month)
