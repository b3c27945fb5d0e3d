"""The embedded profile's pricer: a thread of the API process pricing the usage ledger's
new rows into the billing usage (infra/billing_usage/sqlite.py), then sending the budget
emails they set off. The cluster prices in `aimarket worker metering` instead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from commands.billing_pricing import PricedCall

log = logging.getLogger("aimarket.billing")


class PricerRunner:
    def __init__(
        self,
        price_pending: Callable[[], Sequence[PricedCall]],
        after: Callable[[Sequence[PricedCall]], object],
        idle_wait_s: float = 0.5,
    ) -> None:
        self.price_pending, self.after, self.idle_wait_s = price_pending, after, idle_wait_s
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        priced = self.price_pending()
        if priced:
            self.after(priced)
        return len(priced)

    def run_forever(self) -> None:
        backoff = self.idle_wait_s
        while not self.stopping.is_set():
            try:
                priced = self.run_once()
                backoff = self.idle_wait_s
            except Exception:  # the store is busy or away: the rows wait in the ledger
                log.exception("usage pricing failed; retrying in %.1fs", backoff)
                priced = 0
                backoff = min(backoff * 2, 30.0)
            if not priced:
                self.stopping.wait(backoff)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="usage-pricer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
