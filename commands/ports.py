"""The ports the write side needs; adapters live in infra/ and are handed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import UUID

from domain.errors import Conflict


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    html: str | None = None  # sent as multipart/alternative beside the text when given


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class TokenDenylist(Protocol):
    """Access-token ids (`jti`) refused until they would have expired anyway."""

    def deny(self, jti: str, expires_at: datetime) -> None: ...

    def is_denied(self, jti: str) -> bool: ...


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


class UploadCompleting(Conflict):
    """A completion holds the upload's file: no part may change it meanwhile."""

    code = "upload_completing"


# The staging's refusals, raised by the adapter itself: `UploadClosed` (domain/upload.py)
# once the upload's file is gone (completed, failed or swept), `UploadCompleting` while a
# completion holds it, `PartInProgress` while another copy of the part is arriving.


class PartWriter(Protocol):
    """One part's bytes on their way into the upload's file, at the part's own offset.

    `write` and `commit` raise UploadClosed or UploadCompleting (above)."""

    def write(self, chunks: list[bytes]) -> None:
        """Write `chunks` at the part's next offset. The first write unmarks the part: from
        then until `commit` it is not received whole, even if an earlier copy was."""
        ...

    def commit(self) -> None:
        """Mark the part received whole (after its bytes are written)."""
        ...

    def close(self) -> None: ...


class SealedUpload(Protocol):
    """An upload's file held by one completion: nothing writes to it meanwhile."""

    path: Path

    def sha256(self) -> tuple[int, str]:
        """(size, hex SHA-256) of the sealed bytes (parts hashed as they arrived are
        not read again)."""
        ...

    def reopen(self) -> bool:
        """Give the file back to the upload, for parts and another completion; False when
        it is no longer at `path` (stored away) and so cannot be."""
        ...

    def close(self) -> None:
        """Let go of it (after it was stored away, reopened, or the upload discarded)."""
        ...


class UploadStaging(Protocol):
    """Where unfinished uploads wait: one file per upload, its size from the start, each
    part written at its offset, and a mark for every part received whole."""

    def create(self, upload_id: UUID, size: int, write_out: bool = True) -> None:
        """`write_out` False: the declared bytes are stored already, so the file will be
        dropped once checked and need not go to disk while the parts arrive."""
        ...

    def part_writer(self, upload_id: UUID, part: int, offset: int) -> PartWriter:
        """UploadClosed, UploadCompleting or PartInProgress (above) when the part may not
        be written now."""
        ...

    def received(self, upload_id: UUID) -> list[int]:
        """The parts marked received whole, in order."""
        ...

    def seal(self, upload_id: UUID) -> SealedUpload:
        """Stop every write to the upload's file and hand it over: waits out a write under
        way, UploadCompleting when another completion holds it, UploadClosed when there is
        none."""
        ...

    def restore(self, upload_id: UUID, source: BinaryIO) -> None:
        """The upload's file again, copied from `source` (after it was stored away and
        recording the version failed): parts and completion work as before."""
        ...

    def discard(self, upload_id: UUID) -> None: ...

    def upload_ids(self) -> list[UUID]: ...
