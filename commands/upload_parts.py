"""The bytes of an upload on their way in: one part at a time, then all of them in order.

Both stream in chunks; nothing holds a whole part, let alone a whole artifact, in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from commands.ports import PartWriter, UploadStaging
from domain.errors import Conflict, InvalidInput
from domain.upload import Upload, UploadClosed

CHUNK = 1024 * 1024


class SizeMismatch(InvalidInput):
    code = "size_mismatch"


class UploadIncomplete(Conflict):
    code = "upload_incomplete"


@dataclass(frozen=True)
class PartReceived:
    part: int
    size: int
    sha256: str


class PartSlot:
    """One part on its way in: counts and hashes the bytes, refuses one byte too many."""

    def __init__(self, writer: PartWriter, part: int, expected: int) -> None:
        self.writer, self.part, self.expected = writer, part, expected
        self.received = 0
        self.hash = hashlib.sha256()
        self.done = False

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.expected:
            raise SizeMismatch(f"part {self.part} must be {self.expected} bytes; more arrived")
        self.hash.update(chunk)
        self.writer.write(chunk)

    def commit(self) -> PartReceived:
        if self.received != self.expected:
            raise SizeMismatch(
                f"part {self.part} must be {self.expected} bytes, not {self.received}"
            )
        try:
            self.writer.commit()
        except FileNotFoundError:  # completed or swept while this part was arriving
            raise UploadClosed("the upload closed while this part arrived") from None
        self.done = True
        return PartReceived(self.part, self.received, self.hash.hexdigest())

    def close(self) -> None:
        """Drop what was written unless the part was committed."""
        if not self.done:
            self.writer.abort()


def assemble(staging: UploadStaging, upload: Upload, target: Path) -> tuple[int, str]:
    """Write the parts in order to `target`, hashing as they go: (bytes, hex sha256)."""
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        for part in range(1, upload.parts + 1):
            try:
                source = staging.open_part(upload.id, part)
            except FileNotFoundError:
                raise UploadIncomplete(f"part {part} is missing") from None
            with source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    return size, digest.hexdigest()


def file_digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return f"sha256:{digest.hexdigest()}", size
