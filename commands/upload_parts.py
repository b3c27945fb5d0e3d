"""The bytes of an upload on their way in: each part straight to its place in the upload's
one file, hashed as the parts arrive (infra/arriving_parts.py).

Everything streams in chunks; nothing holds a whole part, let alone a whole artifact, in
memory. A part's own SHA-256 is computed only when the client sends one to check.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from commands.ports import PartWriter
from domain.errors import Conflict, InvalidInput
from domain.upload import UploadClosed

CHUNK = 1024 * 1024


class SizeMismatch(InvalidInput):
    code = "size_mismatch"


class PartChecksumMismatch(InvalidInput):
    code = "part_checksum_mismatch"


class UploadIncomplete(Conflict):
    code = "upload_incomplete"


class UploadCompleting(Conflict):
    code = "upload_completing"


@dataclass(frozen=True)
class PartReceived:
    part: int
    size: int
    sha256: str | None  # only when the client asked for the part to be checked


class PartSlot:
    """One part on its way in: counts the bytes and refuses one too many before it is
    written (nothing lands in the next part's place); hashes them only to check a
    digest the client sent (`expected`, hex)."""

    def __init__(self, writer: PartWriter, part: int, length: int, expected: str | None) -> None:
        self.writer, self.part, self.length, self.expected = writer, part, length, expected
        self.received = 0
        self.hash = hashlib.sha256() if expected is not None else None

    def write_all(self, chunks: list[bytes]) -> None:
        size = sum(map(len, chunks))
        if self.received + size > self.length:
            raise SizeMismatch(f"part {self.part} must be {self.length} bytes; more arrived")
        if self.hash is not None:
            for chunk in chunks:
                self.hash.update(chunk)
        with _upload_state():
            self.writer.write(chunks)
        self.received += size

    def commit(self) -> PartReceived:
        if self.received != self.length:
            raise SizeMismatch(f"part {self.part} must be {self.length} bytes, not {self.received}")
        digest = None
        if self.hash is not None:
            digest = self.hash.hexdigest()
            if not hmac.compare_digest(digest, self.expected or ""):
                raise PartChecksumMismatch(
                    f"part {self.part} does not match its digest; send it again"
                )
        with _upload_state():
            self.writer.commit()
        return PartReceived(self.part, self.received, digest)

    def finish(self) -> PartReceived:
        """Commit, and close whatever happens: one trip to a worker thread for both."""
        try:
            return self.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Let go of the file. A part not committed stays missing."""
        self.writer.close()


@contextlib.contextmanager
def _upload_state() -> Iterator[None]:
    """The staging's signals, as the client's errors."""
    try:
        yield
    except FileNotFoundError:  # completed, failed or swept while this part was arriving
        raise UploadClosed("the upload closed while this part arrived") from None
    except BlockingIOError:
        raise UploadCompleting("the upload is being completed; see GET /v1/uploads/{id}") from None


def file_digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return f"sha256:{digest.hexdigest()}", path.stat().st_size
