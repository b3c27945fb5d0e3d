"""The bytes of an upload on their way in: one part at a time, then all of them in order.

Both stream in chunks; nothing holds a whole part, let alone a whole artifact, in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

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
        self.write_all([chunk])

    def write_all(self, chunks: list[bytes]) -> None:
        self.received += sum(map(len, chunks))
        if self.received > self.expected:
            raise SizeMismatch(f"part {self.part} must be {self.expected} bytes; more arrived")
        for chunk in chunks:
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

    def finish(self) -> PartReceived:
        """Commit, and close whatever happens: one trip to a worker thread for both."""
        try:
            return self.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Drop what was written unless the part was committed."""
        if not self.done:
            self.writer.abort()


def assemble(staging: UploadStaging, upload: Upload, target: Path) -> tuple[int, str]:
    """Write the parts in order to `target`, hashing them: (bytes, hex sha256).

    The kernel copies each part (copy_file_range: no trip through Python) while a second
    thread hashes it, both from the same open file: the bytes hashed are the bytes
    written, since a part file is never changed in place, only replaced whole."""
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out, ThreadPoolExecutor(1, "assemble") as hasher:
        for part in range(1, upload.parts + 1):
            try:
                source = staging.open_part(upload.id, part)
            except FileNotFoundError:
                raise UploadIncomplete(f"part {part} is missing") from None
            with source:
                fd = source.fileno()
                hashed = hasher.submit(_hash, fd, digest)
                try:
                    copied = _copy(fd, out)
                finally:
                    length = hashed.result()  # the thread is done with the file either way
            if copied != length:
                raise UploadIncomplete(f"part {part} changed while it was assembled")
            size += length
    return size, digest.hexdigest()


def _hash(fd: int, digest: Any) -> int:
    """Feed the whole file `fd` to `digest`; its length."""
    buffer = bytearray(CHUNK)
    view, offset = memoryview(buffer), 0
    while n := os.preadv(fd, [buffer], offset):
        digest.update(view[:n])
        offset += n
    return offset


def _copy(fd: int, out: BinaryIO) -> int:
    """Append the whole file `fd` to `out`; how many bytes."""
    out.flush()
    copied = 0
    with contextlib.suppress(OSError):  # not on this file system: in user space, then
        while n := os.copy_file_range(fd, out.fileno(), CHUNK * 64, copied):
            copied += n
    out.seek(0, os.SEEK_END)
    while chunk := os.pread(fd, CHUNK, copied):
        out.write(chunk)
        copied += len(chunk)
    return copied


@contextlib.contextmanager
def writing_to_disk(path: Path) -> Iterator[None]:
    """Write `path` out to disk in another thread while the block runs (validation, which
    only reads it): the blob store's fsync then finds little or nothing left to write."""

    def sync() -> None:
        with contextlib.suppress(OSError):  # the store's own fsync reports real trouble
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    thread = threading.Thread(target=sync, name="artifact-fsync", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def file_digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return f"sha256:{digest.hexdigest()}", path.stat().st_size
