"""The bytes of an upload on their way in: each part straight to its place in the upload's
one file, hashed as the parts arrive (infra/arriving_parts.py).

Everything streams in chunks; nothing holds a whole part, let alone a whole artifact, in
memory. A part's own SHA-256 is computed only when the client sends one to check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from anyio import to_thread

from commands.ports import PartWriter
from domain.errors import Conflict, InvalidInput

CHUNK = 1024 * 1024
T = TypeVar("T")


class SizeMismatch(InvalidInput):
    code = "size_mismatch"


class PartChecksumMismatch(InvalidInput):
    code = "part_checksum_mismatch"


class UploadIncomplete(Conflict):
    code = "upload_incomplete"


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


async def pipe(
    chunks: AsyncIterable[bytes], write: Callable[[list[bytes]], None], finish: Callable[[], T]
) -> T:
    """Hand the body to `write` in a worker thread about CHUNK bytes at a time, one batch
    written while the next arrives: one thread hop a batch rather than one for each of
    the server's (64-256 KiB) chunks, and the event loop goes on reading meanwhile. At
    most two batches are held. The last batch and `finish` share a hop."""
    batch: list[bytes] = []
    size = 0
    writing: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= CHUNK:
                if writing is not None:
                    await asyncio.shield(writing)
                writing = asyncio.ensure_future(to_thread.run_sync(write, batch))
                batch, size = [], 0
        if writing is not None:
            await asyncio.shield(writing)
        return await to_thread.run_sync(_last, write, batch, finish)
    finally:
        if writing is not None and not writing.done():
            # The body broke off, or this task was cancelled: a thread cannot be stopped,
            # so let its batch land before the part is closed (shielded above, it goes on).
            await asyncio.wait([writing])
        if writing is not None and writing.done() and not writing.cancelled():
            writing.exception()  # retrieved: the error that matters is already raised


def _last(write: Callable[[list[bytes]], None], batch: list[bytes], finish: Callable[[], T]) -> T:
    if batch:
        write(batch)
    return finish()


def file_digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    return f"sha256:{digest.hexdigest()}", path.stat().st_size
