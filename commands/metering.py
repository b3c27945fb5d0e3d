"""The usage meter: takes each call's record without waiting, writes them to the ledger in
batches, and keeps this month's counted calls per (consumer, model) in memory.

`record` only appends to a buffer under a lock; a flusher thread (started with the first
record, stopped by the container) writes the buffer when `batch_size` records wait or
every `flush_interval_s`. A failed write puts the records back for the next try.

Monthly counts are seeded from the ledger the first time they are asked for and then
moved on by `record`, so the free tier and the monthly cap cost no query per call. A
seed expires after `seed_ttl_s`: calls metered by other processes are counted after at
most that long. A request id seen recently is counted once (redelivery); the ledger
keeps it once whatever this process remembers.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from uuid import UUID

from commands.metering_ports import UsageLedger, UsageRecord

log = logging.getLogger("aimarket.metering")

Key = tuple[UUID, UUID, str]  # consumer, model, month


class BufferedUsageMeter:
    def __init__(
        self,
        ledger: UsageLedger,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        seed_ttl_s: float = 60.0,
        remembered_ids: int = 100_000,
    ) -> None:
        self.ledger, self.batch_size, self.flush_interval_s = ledger, batch_size, flush_interval_s
        self.seed_ttl_s, self.remembered_ids = seed_ttl_s, remembered_ids
        self._buffer: list[UsageRecord] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._counts: dict[Key, tuple[int, float]] = {}  # key -> (calls, expires at)
        self._lock = threading.Lock()  # buffer, seen ids, counts: held only briefly
        self._flushing = threading.Lock()  # one write at a time; seeding waits for it
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, record: UsageRecord) -> None:
        record = _unbilled_unless_counted(record)
        key = _key_of(record)
        with self._lock:
            if record.request_id in self._seen:
                return
            self._remember(record.request_id)
            self._buffer.append(record)
            known = self._counts.get(key)
            if known is not None and record.counts_toward_quota:
                self._counts[key] = (known[0] + 1, known[1])
            full = len(self._buffer) >= self.batch_size
            if self._thread is None and not self._stopping.is_set():
                self._start()
        if full:
            self._wake.set()

    def peek_calls(self, consumer_id: UUID, model_id: UUID, month: str) -> int | None:
        with self._lock:
            known = self._counts.get((consumer_id, model_id, month))
        if known is None or known[1] <= time.monotonic():
            return None
        return known[0]

    def calls_this_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        known = self.peek_calls(consumer_id, model_id, month)
        return known if known is not None else self._seed((consumer_id, model_id, month))

    def flush(self) -> int:
        """Write what waits now; return how many records were new to the ledger."""
        with self._flushing:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                return self.ledger.append(batch)
            except BaseException:
                with self._lock:  # keep them, in order, for the next try
                    self._buffer[:0] = batch
                raise

    def close(self) -> None:
        """Stop the flusher and write what is left (the container's closer)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def _seed(self, key: Key) -> int:
        # No write in flight while we read: each record is then either in the ledger or
        # still in the buffer, never in both or neither.
        with self._flushing:
            stored = self.ledger.calls_in_month(*key)
            with self._lock:
                waiting = sum(
                    1 for r in self._buffer if r.counts_toward_quota and _key_of(r) == key
                )
                calls = stored + waiting
                self._counts[key] = (calls, time.monotonic() + self.seed_ttl_s)
        return calls

    def _remember(self, request_id: str) -> None:
        self._seen[request_id] = None
        if len(self._seen) > self.remembered_ids:
            self._seen.popitem(last=False)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="usage-flusher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = self.flush_interval_s
        while not self._stopping.is_set():
            self._wake.wait(timeout=backoff)
            self._wake.clear()
            try:
                self.flush()
                backoff = self.flush_interval_s
            except Exception:  # the ledger is away: the records wait in the buffer
                log.exception("usage records not written (%d waiting)", self.pending())
                backoff = min(max(backoff, 0.1) * 2, 30.0)


def _key_of(record: UsageRecord) -> Key:
    return (record.consumer_id, record.model_id, record.month)


def _unbilled_unless_counted(record: UsageRecord) -> UsageRecord:
    """Failed, timed-out, unavailable and cold-start calls are never billed, whatever
    the caller priced them at."""
    if record.counts_toward_quota or record.cost_amount == 0:
        return record
    return dataclasses.replace(record, cost_amount=0)
