"""The webhook dispatcher: sends due deliveries, signs each attempt with the account's
current secrets, logs it, and schedules a retry with exponential backoff and full jitter
until the delivery's retry window ends. Embedded: a thread (`start`); cluster: `aimarket
worker webhooks` runs `run_forever` (several may run: the store hands each delivery to one).

The backoff is our own three lines rather than tenacity: a retry here is a time written
into the delivery row, read by whichever dispatcher polls next, not a loop around a call
in one process, which is what tenacity drives."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass

from commands.webhook_ports import DELIVERED, FAILED, PENDING, Attempt, Delivery, Sender, Signer
from commands.webhooks import WebhookService
from domain.clock import Clock

log = logging.getLogger("aimarket.webhooks")


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float  # the first retry's ceiling; doubles per attempt
    cap_s: float  # no single wait longer than this
    hold_s: float = 60.0  # a taken delivery is another dispatcher's again after this
    batch: int = 20


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(policy.cap_s, policy.base_s * 2 ** min(attempt, 30)))


class WebhookDispatcher:
    def __init__(
        self,
        service: WebhookService,
        signer: Signer,
        sender: Sender,
        clock: Clock,
        policy: RetryPolicy,
        poll_s: float = 1.0,
    ) -> None:
        self.service, self.signer, self.sender = service, signer, sender
        self.clock, self.policy, self.poll_s = clock, policy, poll_s
        self.rng = random.Random()
        self._wake = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send what is due now; how many attempts were made."""
        now = self.clock.now().timestamp()
        due = self.service.store.take_due(now, now + self.policy.hold_s, self.policy.batch)
        for delivery in due:
            self._attempt(delivery)
        return len(due)

    def _attempt(self, delivery: Delivery) -> None:
        now = self.clock.now().timestamp()
        secrets = self.service.signing_secrets(delivery.owner_id)
        if not secrets:  # cannot happen for an account with endpoints; never send unsigned
            attempt = Attempt(at=now, outcome="failed", error="the account has no secret")
        else:
            headers = self.signer.headers(secrets, str(delivery.id), now, delivery.payload)
            attempt = self.sender.send(delivery.url, delivery.payload.encode(), headers, now)
        status, next_at = self._next(delivery, attempt, now)
        self.service.store.record(delivery.id, attempt, status, next_at)
        log.info(
            "webhook %s attempt %d: %s %s", delivery.id, len(delivery.attempts) + 1,
            attempt.outcome, attempt.status_code or attempt.error or "",
        )  # fmt: skip

    def _next(self, delivery: Delivery, attempt: Attempt, now: float) -> tuple[str, float]:
        if attempt.outcome == "delivered":
            return DELIVERED, now
        if attempt.outcome == "refused":  # the address is not one we send to: never retried
            return FAILED, now
        retry_at = now + backoff(len(delivery.attempts), self.policy, self.rng)
        return (PENDING, retry_at) if retry_at <= delivery.give_up_at else (FAILED, now)

    def wake(self) -> None:
        self._wake.set()

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:  # a database hiccup: log, wait, poll again
                log.exception("webhook dispatch failed")
                busy = False
            if not busy:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="aimarket-webhooks",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
