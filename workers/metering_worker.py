"""Runs the usage roll-up (commands/usage_rollup.py) in rounds until stopped.

Embedded profile: a thread of the API process (`Container.start_runner`). Cluster:
`aimarket worker metering`, any number of them (claims never overlap). At start, every
batch left unfinished by a crash is redone first; then a round runs whenever the last
one found a full batch, else after `idle_wait_s`. Failures are logged and retried with
backoff: the rows stay in the ledger until a round rolls them up.
"""

from __future__ import annotations

import logging
import threading

from commands.usage_rollup import UsageRollup

log = logging.getLogger("aimarket.metering")


class RollupRunner:
    def __init__(self, rollup: UsageRollup, idle_wait_s: float = 1.0) -> None:
        self.rollup, self.idle_wait_s = rollup, idle_wait_s
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        redone, backoff = False, 0.1
        while not self.stopping.is_set():
            try:
                if not redone:  # the batches a crashed roll-up left, however recent
                    self.rollup.redo_unfinished(everything=True)
                    redone = True
                rolled = self.rollup.run_once()
                backoff = 0.1
            except Exception:  # the ledger or the event store is away: try again soon
                log.exception("usage roll-up failed; retrying in %.1fs", backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if rolled < self.rollup.batch_size:
                self.stopping.wait(self.idle_wait_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="usage-rollup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
