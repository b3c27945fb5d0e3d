"""The AccessRequest aggregate: one consumer's access to one gated model, over time.

Addressed by a uuid5 of (consumer, model): there is at most one open request per pair
(strongly consistent, a duplicate is a version conflict), and "may this consumer call
this gated model?" is one read by id, no read model. A request again after a rejection,
a revocation or an expired grant is a new round on the same aggregate, so its whole
history stays in one stream.

Times come from the caller's clock and are stored in the events (`at`): the cool-down
and the expiry are rules about business time, not about when a row was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from math import ceil
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput, RateLimited

ACCESS_REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/access-request")
DEFAULT_COOLDOWN_S = 7 * 24 * 3600  # after a rejection or revocation, before asking again
MAX_ANSWER, MAX_REASON = 2000, 1000


class AccessStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class RequestPending(Conflict):
    code = "request_pending"


class AlreadyGranted(Conflict):
    code = "already_granted"


class RequestNotPending(Conflict):
    code = "request_not_pending"


class NotApproved(Conflict):
    code = "not_approved"


class Cooldown(RateLimited):
    code = "cooldown"


@dataclass(frozen=True)
class AccessGrant:
    """The conditions a live approval sets; the inference path enforces the cap."""

    request_id: UUID
    expires_at: datetime | None
    monthly_call_cap: int | None


def check_answers(questions: list[str], answers: list[str]) -> list[str]:
    """One answer per question, in the questions' order, each 1..MAX_ANSWER characters."""
    if len(answers) != len(questions):
        raise InvalidInput(
            f"answer each of the model's {len(questions)} access questions, in order",
            code="answers_mismatch",
        )
    clean = [a.strip() if isinstance(a, str) else "" for a in answers]
    if any(not a or len(a) > MAX_ANSWER for a in clean):
        raise InvalidInput(f"each answer must be text of 1 to {MAX_ANSWER} characters")
    return clean


def check_reason(reason: str) -> str:
    clean = reason.strip()
    if not clean or len(clean) > MAX_REASON:
        raise InvalidInput(f"give a reason of 1 to {MAX_REASON} characters")
    return clean


class AccessRequest(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, model_id: UUID) -> UUID:
        return uuid5(ACCESS_REQUEST_NAMESPACE, f"{consumer_id}/{model_id}")

    @event("Requested")
    def __init__(
        self,
        consumer_id: UUID,
        model_id: UUID,
        publisher_id: UUID,
        consumer_name: str,
        model_name: str,
        questions: list[str],
        answers: list[str],
        at: datetime,
    ) -> None:
        self.consumer_id = consumer_id
        self.model_id = model_id
        self.publisher_id = publisher_id
        self.consumer_name = consumer_name
        self.model_name = model_name
        self._open_round(questions, answers, at)
        self.rounds = 1

    def _open_round(self, questions: list[str], answers: list[str], at: datetime) -> None:
        self.status = AccessStatus.PENDING.value
        self.questions, self.answers = questions, answers
        self.requested_at = at
        self.expires_at: datetime | None = None
        self.monthly_call_cap: int | None = None
        self.retry_after: datetime | None = None
        self.reason = ""

    # The consumer's side

    def check_can_request_again(self, now: datetime) -> None:
        if self.status == AccessStatus.PENDING:
            raise RequestPending("your request is waiting for the publisher's decision")
        if self.is_granted(now):
            raise AlreadyGranted("you already have access to this model")
        if self.retry_after is not None and now < self.retry_after:
            wait = ceil((self.retry_after - now).total_seconds())
            raise Cooldown(
                f"you may ask again after {self.retry_after.isoformat()}", retry_after_s=wait
            )

    def request_again(
        self, questions: list[str], answers: list[str], consumer_name: str, now: datetime
    ) -> None:
        self.check_can_request_again(now)
        self._rerequested(questions, check_answers(questions, answers), consumer_name, now)

    @event("Rerequested")
    def _rerequested(
        self, questions: list[str], answers: list[str], consumer_name: str, at: datetime
    ) -> None:
        self.consumer_name = consumer_name
        self._open_round(questions, answers, at)
        self.rounds += 1

    # The publisher's side

    def approve(
        self, by: UUID, now: datetime, expires_at: datetime | None, monthly_call_cap: int | None
    ) -> None:
        self._check_pending()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
        if monthly_call_cap is not None and monthly_call_cap < 1:
            raise InvalidInput("monthly_call_cap must be at least 1")
        self._approved(by, now, expires_at, monthly_call_cap)

    @event("Approved")
    def _approved(
        self, by: UUID, at: datetime, expires_at: datetime | None, monthly_call_cap: int | None
    ) -> None:
        self.status = AccessStatus.APPROVED.value
        self.expires_at, self.monthly_call_cap = expires_at, monthly_call_cap

    def reject(self, by: UUID, reason: str, now: datetime, cooldown: timedelta) -> None:
        self._check_pending()
        self._rejected(by, check_reason(reason), now, now + cooldown)

    @event("Rejected")
    def _rejected(self, by: UUID, reason: str, at: datetime, retry_after: datetime) -> None:
        self.status = AccessStatus.REJECTED.value
        self.reason, self.retry_after = reason, retry_after

    def revoke(self, by: UUID, reason: str, now: datetime, cooldown: timedelta) -> None:
        if self.status != AccessStatus.APPROVED:
            raise NotApproved(f"only an approved request can be revoked; this one is {self.status}")
        self._revoked(by, check_reason(reason), now, now + cooldown)

    @event("Revoked")
    def _revoked(self, by: UUID, reason: str, at: datetime, retry_after: datetime) -> None:
        self.status = AccessStatus.REVOKED.value
        self.reason, self.retry_after = reason, retry_after

    def _check_pending(self) -> None:
        if self.status != AccessStatus.PENDING:
            raise RequestNotPending(f"this request is {self.status}, not pending")

    # What the inference and download paths ask

    def is_granted(self, now: datetime) -> bool:
        if self.status != AccessStatus.APPROVED:
            return False
        return self.expires_at is None or now < self.expires_at

    def grant(self, now: datetime) -> AccessGrant | None:
        if not self.is_granted(now):
            return None
        return AccessGrant(self.id, self.expires_at, self.monthly_call_cap)
