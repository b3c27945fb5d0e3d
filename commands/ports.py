"""The ports the write side needs; adapters live in infra/ and are handed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import UUID


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class TokenDenylist(Protocol):
    """Access-token ids (`jti`) refused until they would have expired anyway."""

    def deny(self, jti: str, expires_at: datetime) -> None: ...

    def is_denied(self, jti: str) -> bool: ...


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_s: int) -> int:
        """Count one hit; return 0 when allowed, else seconds until the next is allowed."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class BlobStore(Protocol):
    """Model artifacts, addressed by content: `sha256:<hex>` names the bytes."""

    def put_file(self, path: Path, digest: str) -> bool:
        """Move the file at `path` in as `digest` (the caller has hashed it); False when
        those bytes were stored already, and then `path` is simply removed."""
        ...

    def open(self, digest: str) -> BinaryIO: ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int: ...

    def delete(self, digest: str) -> None: ...


class PartWriter(Protocol):
    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> None:
        """Make the part visible at once, replacing an earlier copy of it."""
        ...

    def abort(self) -> None: ...


class UploadStaging(Protocol):
    """Where the parts of unfinished uploads wait, one file per part."""

    def part_writer(self, upload_id: UUID, part: int) -> PartWriter: ...

    def received(self, upload_id: UUID) -> dict[int, int]:
        """Part number -> bytes, for every part received whole."""
        ...

    def open_part(self, upload_id: UUID, part: int) -> BinaryIO: ...

    def scratch_path(self, upload_id: UUID) -> Path:
        """A fresh file name beside the parts, e.g. for the assembled artifact."""
        ...

    def discard(self, upload_id: UUID) -> None: ...

    def upload_ids(self) -> list[UUID]: ...
