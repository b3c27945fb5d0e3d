"""The Upload aggregate: one resumable, chunked upload of a model version's artifact.

Only the facts are events (started, completed, failed): the parts themselves are bytes in
a staging area, not history. An upload belongs to the person who started it; anyone
else, short of an admin, is told it does not exist.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput, NotFound

MAX_PARTS = 10_000  # bounds the files one upload stages and the status listing
_SHA256 = re.compile(r"[0-9a-f]{64}")


class UploadStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    FAILED = "failed"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class UploadClosed(Conflict):
    code = "upload_closed"


class UploadExpired(Conflict):
    code = "upload_expired"


class PartInProgress(Conflict):
    """The same part is arriving on another connection: one copy of a part at a time."""

    code = "part_in_progress"


class PartOutOfRange(InvalidInput):
    code = "part_out_of_range"


class TooManyParts(InvalidInput):
    code = "too_many_parts"


def parts_for(size: int, part_size: int) -> int:
    return -(-size // part_size)


class Upload(Aggregate):
    @classmethod
    def start(
        cls,
        model_id: UUID,
        owner_id: UUID,
        model_version: str,
        size: int,
        sha256: str,
        part_size: int,
        expires_at: datetime,
    ) -> Upload:
        if size < 1 or part_size < 1:
            raise InvalidInput("size and part_size must be positive byte counts")
        if not _SHA256.fullmatch(sha256):
            raise InvalidInput("sha256 must be 64 lower-case hex digits", code="invalid_sha256")
        if parts_for(size, part_size) > MAX_PARTS:
            raise TooManyParts(f"{size} bytes in parts of {part_size} is over {MAX_PARTS} parts")
        return cls(model_id, owner_id, model_version, size, sha256, part_size, expires_at)

    @event("Started")
    def __init__(
        self,
        model_id: UUID,
        owner_id: UUID,
        model_version: str,
        size: int,
        sha256: str,
        part_size: int,
        expires_at: datetime,
    ) -> None:
        self.model_id = model_id
        self.owner_id = owner_id
        self.model_version = model_version  # `version` is the aggregate's own
        self.size = size
        self.sha256 = sha256
        self.part_size = part_size
        self.expires_at = expires_at
        self.status = UploadStatus.OPEN.value
        self.digest: str | None = None
        self.reason: str | None = None

    @property
    def parts(self) -> int:
        return parts_for(self.size, self.part_size)

    def check_owner(self, user_id: UUID, is_admin: bool = False) -> None:
        """Someone else's upload is missing, never forbidden: its id reveals nothing."""
        if not is_admin and user_id != self.owner_id:
            raise UploadNotFound(f"no upload {self.id}")

    def is_expired(self, now: datetime) -> bool:
        return self.status == UploadStatus.OPEN and now >= self.expires_at

    def _check_not_closed(self) -> None:
        if self.status != UploadStatus.OPEN:
            raise UploadClosed(f"upload {self.id} is {self.status}; start a new one")

    def check_open(self, now: datetime) -> None:
        self._check_not_closed()
        if self.is_expired(now):
            raise UploadExpired(f"upload {self.id} expired at {self.expires_at.isoformat()}")

    def part_length(self, part: int) -> int:
        """How many bytes part `part` (from 1) holds: part_size, except the last."""
        if not 1 <= part <= self.parts:
            raise PartOutOfRange(f"parts are numbered 1 to {self.parts} for this upload")
        if part < self.parts:
            return self.part_size
        return self.size - self.part_size * (self.parts - 1)

    def complete(self, digest: str) -> None:
        self._check_not_closed()
        self._completed(digest)

    @event("Completed")
    def _completed(self, digest: str) -> None:
        self.status = UploadStatus.COMPLETED.value
        self.digest = digest

    def fail(self, reason: str) -> None:
        self._check_not_closed()
        self._failed(reason)

    @event("Failed")
    def _failed(self, reason: str) -> None:
        self.status = UploadStatus.FAILED.value
        self.reason = reason
