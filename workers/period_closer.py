"""The month-end scheduler: closes each billing month once it has ended, and again while
invoices of it wait to be pushed (no card saved yet, the provider away).

Embedded: a thread of the API process; cluster: `aimarket worker billing`. A month is
closed `grace_s` after it ends, so usage records still on their way (the cluster meters
from Kafka) are in. Closing is idempotent, so two closers, or a closer and an operator's
`aimarket billing close-period`, are harmless.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from commands.invoicing import ClosedPeriod, InvoiceCommands
from commands.metering_ports import month_of
from domain.clock import Clock
from domain.pricing import previous_period

log = logging.getLogger("aimarket.billing")


class PeriodCloser:
    def __init__(
        self,
        invoices: InvoiceCommands,
        clock: Clock,
        grace_s: float = 3600.0,
        check_every_s: float = 300.0,
    ) -> None:
        self.invoices, self.clock = invoices, clock
        self.grace, self.check_every_s = timedelta(seconds=grace_s), check_every_s
        self.closed: str | None = None  # the last month closed with nothing waiting
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self) -> str:
        """The last month that ended at least `grace_s` ago."""
        return previous_period(month_of(self.clock.now() - self.grace))

    def run_once(self) -> ClosedPeriod | None:
        period = self.due()
        if period == self.closed:
            return None
        result = self.invoices.close_period(period)
        if result.waiting == 0:
            self.closed = period
        log.info(
            "closed %s: %d invoices, %d pushed, %d waiting",
            period,
            result.invoices,
            result.pushed,
            result.waiting,
        )
        return result

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception:  # a store or the provider is away: the next check retries
                log.exception("closing the billing period failed")
            self.stopping.wait(self.check_every_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="period-closer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
