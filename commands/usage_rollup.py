"""The usage roll-up: ledger rows into the Usage aggregates, each row exactly once.

A round is three steps, each safe to stop after:
1. claim: the ledger gives up to `batch_size` rows no batch holds one new batch id, in one
   transaction (two roll-ups never claim the same row);
2. apply: for each (consumer, model) in the batch, ONE `Usage.BatchRecorded` carrying
   per-day (calls, successful) and the batch id; an aggregate that has applied that id
   already ignores it;
3. finish: the batch is marked done.
A batch claimed and not finished (the roll-up died between 1 and 3) is applied again
with the same rows and the same id, at start and then whenever it is older than
`stale_after_s`; the aggregates that got it the first time ignore it. They remember
their last 50 batch ids, so a redo must come before 50 newer batches reach the same
pair: hence a short `stale_after_s` (a slow round redone meanwhile is harmless).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from commands.metering_ports import CallStatus, ClaimedBatch, UsageLedger, UsageRecord
from commands.usage import UsageCommands
from domain.clock import Clock

log = logging.getLogger("aimarket.metering")


@dataclass(frozen=True)
class PairUsage:
    consumer_id: UUID
    model_id: UUID
    publisher_id: UUID
    days: dict[str, tuple[int, int]]  # day -> (calls, successful)


def by_pair(records: list[UsageRecord]) -> list[PairUsage]:
    """One entry per (consumer, model): calls and successful calls per UTC day."""
    days: dict[tuple[UUID, UUID], dict[str, list[int]]] = defaultdict(dict)
    publishers: dict[tuple[UUID, UUID], UUID] = {}
    for record in records:
        pair = (record.consumer_id, record.model_id)
        publishers[pair] = record.publisher_id
        counts = days[pair].setdefault(record.day, [0, 0])
        counts[0] += 1
        counts[1] += record.status == CallStatus.SUCCEEDED
    return [
        PairUsage(c, m, publishers[(c, m)], {d: (n, s) for d, (n, s) in sorted(found.items())})
        for (c, m), found in sorted(days.items())
    ]


class UsageRollup:
    def __init__(
        self,
        ledger: UsageLedger,
        usage: UsageCommands,
        clock: Clock,
        batch_size: int = 1000,
        stale_after_s: float = 15.0,
    ) -> None:
        self.ledger, self.usage, self.clock = ledger, usage, clock
        self.batch_size, self.stale_after_s = batch_size, stale_after_s

    def claim(self) -> ClaimedBatch | None:
        return self.ledger.claim_batch(self.batch_size, self.clock.now())

    def apply(self, batch: ClaimedBatch) -> int:
        """Write the batch into the Usage aggregates; return how many took it (those
        that had it already do not)."""
        applied = 0
        for pair in by_pair(batch.records):
            written = self.usage.record_batch(
                pair.consumer_id, pair.model_id, pair.publisher_id, batch.batch_id, pair.days
            )
            applied += written is not None
        return applied

    def finish(self, batch: ClaimedBatch) -> None:
        self.ledger.finish_batch(batch.batch_id, self.clock.now())

    def redo_unfinished(self, everything: bool = False) -> int:
        """Apply again the batches left unfinished (`everything`: however recent, as at
        start; else those claimed over `stale_after_s` ago). Returns how many."""
        since = timedelta(seconds=0 if everything else self.stale_after_s)
        batches = self.ledger.unfinished_batches(self.clock.now() - since)
        for batch in batches:
            log.info("redoing usage batch %s (%d records)", batch.batch_id, len(batch.records))
            self.apply(batch)
            self.finish(batch)
        return len(batches)

    def run_once(self) -> int:
        """One round: stale batches, then one new batch. Returns the records rolled up."""
        self.redo_unfinished()
        batch = self.claim()
        if batch is None:
            return 0
        self.apply(batch)
        self.finish(batch)
        return len(batch.records)
