"""Webhooks of an account: its endpoints, its signing secret (made with the first
endpoint, rotated with a grace period), the deliveries a finished job or an account event
(commands/notifier.py) makes, their log and manual redelivery. The dispatcher
(workers/webhooks.py) sends them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands.job_ports import Job, moment
from commands.webhook_ports import (
    PENDING,
    Delivery,
    Endpoint,
    SecretBox,
    SecretPair,
    UrlChecker,
    WebhookStore,
)
from domain.clock import Clock
from domain.errors import Conflict, NotFound
from domain.principal import Principal
from projections.cursor import Cursor, sort_signature

DELIVERY_SORT = sort_signature([("created_at", -1), ("id", -1)])


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


@dataclass(frozen=True)
class WebhookPolicy:
    max_endpoints: int  # per account
    rotation_grace_s: float  # the previous secret still signs this long after a rotation
    retry_window_s: float  # retries stop this long after a delivery was made


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        guard: UrlChecker,
        clock: Clock,
        policy: WebhookPolicy,
    ) -> None:
        self.store, self.box, self.guard, self.clock, self.policy = store, box, guard, clock, policy
        self.wake: list[Any] = []  # called when deliveries are added (the embedded dispatcher)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def add_endpoint(
        self, caller: Principal, url: str, description: str
    ) -> tuple[Endpoint, str | None]:
        """The new endpoint, and the account's signing secret if this made it (shown once)."""
        self.guard.check(url)
        if len(self.store.endpoints(caller.user_id)) >= self.policy.max_endpoints:
            raise Conflict(
                f"an account has at most {self.policy.max_endpoints} webhook endpoints",
                code="webhook_endpoints_full",
            )
        secret = None
        if self.store.secrets(caller.user_id) is None:
            secret = self.box.new_secret()
            self.store.put_secrets(caller.user_id, SecretPair(self.box.seal(secret)))
        endpoint = Endpoint(uuid.uuid4(), caller.user_id, url, description, self._now())
        self.store.add_endpoint(endpoint)
        return endpoint, secret

    def endpoints(self, caller: Principal) -> list[Endpoint]:
        return self.store.endpoints(caller.user_id)

    def delete_endpoint(self, caller: Principal, endpoint_id: UUID) -> None:
        if not self.store.delete_endpoint(caller.user_id, endpoint_id, self._now()):
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")

    def rotate_secret(self, caller: Principal) -> str:
        """A new secret (shown once); the previous one keeps signing for the grace period,
        so receivers can switch without losing a delivery."""
        old = self.store.secrets(caller.user_id)
        secret = self.box.new_secret()
        until = self._now() + self.policy.rotation_grace_s
        previous = old.current if old else None
        self.store.put_secrets(
            caller.user_id, SecretPair(self.box.seal(secret), previous, until if old else None)
        )
        return secret

    def signing_secrets(self, owner_id: UUID) -> list[str]:
        """The secrets a delivery is signed with now: current first, then the previous one
        while its grace period lasts."""
        pair = self.store.secrets(owner_id)
        if pair is None:
            return []
        found = [self.box.open(pair.current)]
        if pair.previous and pair.previous_until and pair.previous_until > self._now():
            found.append(self.box.open(pair.previous))
        return found

    def deliveries(
        self, caller: Principal, endpoint_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> tuple[list[Delivery], Cursor | None]:
        after = None
        if cursor is not None:
            created, delivery_id = cursor.values_for(DELIVERY_SORT, 2)
            after = (float(created or 0), str(delivery_id))
        found = self.store.deliveries(caller.user_id, endpoint_id, after, limit)
        last = found[-1] if len(found) == limit else None
        next_cursor = Cursor(DELIVERY_SORT, (last.created_at, str(last.id))) if last else None
        return found, next_cursor

    def redeliver(self, caller: Principal, delivery_id: UUID) -> None:
        """One more attempt, now (the log keeps every earlier one)."""
        found = self.store.delivery(delivery_id)
        if found is None or found.owner_id != caller.user_id:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        self.store.redeliver(delivery_id, self._now())
        self._wake()

    def job_finished(self, job: Job) -> None:
        """One delivery per endpoint of the job's owner, if the job asked for a webhook.
        The delivery ids come from (job, endpoint): told again (a redelivered job id after
        a worker died between the result and this), the deliveries are made once."""
        if job.webhook:
            self.deliver(job.owner_id, f"job.{job.status}", job_summary(job),
                         lambda e: uuid.uuid5(e, f"job:{job.id}"))  # fmt: skip

    def account_event(self, owner_id: UUID, event_type: str, data: dict[str, Any],
                      event_id: str) -> None:  # fmt: skip
        """An account event (purchase.completed, payment.failed, ...) to every endpoint of
        the account. The delivery ids come from (event id, endpoint), so an event handed
        over twice makes its deliveries once."""
        self.deliver(owner_id, event_type, data, lambda e: uuid.uuid5(e, event_id))

    def deliver(
        self,
        owner_id: UUID,
        event_type: str,
        data: dict[str, Any],
        delivery_id: Callable[[UUID], UUID] = lambda _endpoint: uuid.uuid4(),
    ) -> None:
        """The one way a delivery is made, for jobs and account events alike: signed,
        retried, logged and SSRF-checked by the dispatcher (workers/webhooks.py)."""
        endpoints = self.store.endpoints(owner_id)
        if not endpoints:
            return
        now = self._now()
        payload = json.dumps(
            {"type": event_type, "timestamp": _iso(now), "data": data}, separators=(",", ":")
        )
        give_up = now + self.policy.retry_window_s
        made = [(delivery_id(e.id), e) for e in endpoints]
        self.store.add_deliveries(
            [Delivery(i, owner_id, e.id, e.url, event_type, payload, PENDING, now, now, give_up)
             for i, e in made]
        )  # fmt: skip
        self._wake()

    def _wake(self) -> None:
        for wake in self.wake:
            wake()


def _iso(at: float | None) -> str | None:
    found = moment(at)
    return found.isoformat() if found else None


def job_summary(job: Job) -> dict[str, Any]:
    """A job as its owner sees it: the API's body and the webhook's `data`."""
    return {
        "id": str(job.id),
        "model_id": str(job.model_id),
        "version": job.version,
        "status": job.status,
        "queued_at": _iso(job.queued_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "expires_at": _iso(job.expires_at),
        "result": job.result,
        "error": job.error,
    }
