"""Work on an upload's file done while its parts arrive rather than all at completion:
its SHA-256, and writing it out to disk.

A part committed whole extends the run of bytes known from the start of the file; a
thread hashes that run as far as it reaches (parts in order, the usual case, keep it
moving), while the next part is still on the wire. Completion then hashes only what
the thread did not reach.

Parts may be sent again, so a hashed part counts only if it is still the copy that was
hashed: each part's mark (`<n>.ok`) holds a token written by its commit, and a part's
first write removes the mark. The thread reads the token before and after hashing a
part; completion, once the file is sealed (nothing writes any more), checks every
hashed part's token again. Any doubt, and the whole file is hashed as before. The state
lives in this process only: a completion in another process (or after a restart) does
not find it and hashes everything.

Each commit also has another thread write the file out, so the disk works while the
network does and the blob store's fsync at completion finds little left to write.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

_KEPT = 256  # uploads whose running hash is kept; the oldest beyond that are dropped


@dataclass(frozen=True)
class Segment:
    """Part `part`'s bytes, `start` to `end`, as its commit with `token` left them."""

    part: int
    start: int
    end: int
    token: bytes


@dataclass
class _Running:
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    hashed_to: int = 0
    hashed: list[Segment] = field(default_factory=list)
    waiting: dict[int, Segment] = field(default_factory=dict)  # by start
    scheduled: bool = False
    done: bool = False  # sealed, doubtful or dropped: the thread leaves it alone
    broken: bool = False  # the digest is not that of the hashed run
    lock: threading.Lock = field(default_factory=threading.Lock)  # the fields above
    busy: threading.Lock = field(default_factory=threading.Lock)  # a part being hashed


class AheadHasher:
    def __init__(self) -> None:
        self._uploads: OrderedDict[Path, _Running] = OrderedDict()
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="upload-sha256")

    def committed(self, directory: Path, data: Path, segment: Segment) -> None:
        """Part `segment.part` was just marked whole: hash it, and whatever it joins up
        with, in the background."""
        with self._lock:
            running = self._uploads.get(directory)
            if running is None:
                running = self._uploads[directory] = _Running()
                while len(self._uploads) > _KEPT:
                    self._uploads.popitem(last=False)[1].done = True
        with running.lock:
            if running.done or segment.start < running.hashed_to:  # a part sent again
                running.done = True
                return
            running.waiting[segment.start] = segment
            if running.scheduled or segment.start != running.hashed_to:
                return
            running.scheduled = True
        self._thread.submit(self._advance, directory, data, running)

    def _advance(self, directory: Path, data: Path, running: _Running) -> None:
        try:
            with open(data, "rb") as f, _mapped(f.fileno()) as mapped:
                while self._hash_next(directory, running, mapped):
                    pass
        except OSError:  # sealed and stored, or discarded: completion will see to it
            with running.lock:
                running.done, running.scheduled = True, False

    def _hash_next(self, directory: Path, running: _Running, mapped: mmap.mmap | None) -> bool:
        """Hash the part that starts where the hashed run ends; False when there is none
        yet (the next commit schedules the thread again) or the run is given up."""
        with running.lock:
            segment = running.waiting.pop(running.hashed_to, None)
            if running.done or segment is None or mapped is None:
                running.scheduled = False  # under the lock: no commit can slip past
                return False
        # `busy` for the whole part: a completion waits for it rather than hash it again.
        # Commits take only `lock`, so a part's response never waits for another's hash.
        with running.busy:
            with running.lock:
                if running.done:  # a completion came first and took the digest
                    running.scheduled = False
                    return False
            intact = _token(directory, segment.part) == segment.token
            if intact:
                running.digest.update(memoryview(mapped)[segment.start : segment.end])
                intact = _token(directory, segment.part) == segment.token  # not rewritten
            with running.lock:
                if running.done or not intact:
                    # The digest may hold bytes the run does not: nobody may use it.
                    running.done, running.scheduled, running.broken = True, False, True
                    return False
                running.hashed.append(segment)
                running.hashed_to = segment.end
        return True

    def sha256(self, directory: Path, fd: int) -> tuple[int, str]:
        """(size, hex SHA-256) of the sealed file open at `fd`: its hashed start read
        again only if some hashed part is not the copy that was hashed."""
        with self._lock:
            running = self._uploads.pop(directory, None)
        digest, start = hashlib.sha256(), 0
        if running is not None:
            with running.busy, running.lock:
                running.done = True
                if not running.broken and all(
                    _token(directory, s.part) == s.token for s in running.hashed
                ):
                    digest, start = running.digest, running.hashed_to
        size = os.fstat(fd).st_size
        if start > size:
            digest, start = hashlib.sha256(), 0
        with _mapped(fd) as mapped:
            if mapped is not None:
                digest.update(memoryview(mapped)[start:])
        return size, digest.hexdigest()

    def settled(self) -> None:
        """Wait until the hashing asked for so far is done (tests and benchmarks)."""
        self._thread.submit(lambda: None).result()

    def close(self) -> None:
        self._thread.shutdown()

    def forget(self, directory: Path) -> None:
        with self._lock:
            running = self._uploads.pop(directory, None)
        if running is not None:
            running.done = True


class AheadFlusher:
    """Writes an upload's file out to disk while its parts arrive (`fdatasync` after each
    commit, commits meanwhile sharing one), so the disk works while the network does and
    the blob store's fsync at completion finds little left to write."""

    def __init__(self) -> None:
        self._pending: set[Path] = set()
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="upload-flush")

    def committed(self, data: Path) -> None:
        with self._lock:
            if data in self._pending:
                return
            self._pending.add(data)
        self._thread.submit(self._flush, data)

    def settled(self) -> None:
        """Wait until the flushes asked for so far are done (tests)."""
        self._thread.submit(lambda: None).result()

    def close(self) -> None:
        self._thread.shutdown()

    def _flush(self, data: Path) -> None:
        with self._lock:
            self._pending.discard(data)  # before the sync: a commit during it asks again
        with contextlib.suppress(OSError):  # gone: completed or discarded meanwhile
            fd = os.open(data, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)


def new_token() -> bytes:
    return os.urandom(16)


def _token(directory: Path, part: int) -> bytes | None:
    try:
        return (directory / f"{part}.ok").read_bytes()
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _mapped(fd: int) -> Iterator[mmap.mmap | None]:
    """The file mapped read-only (the hash reads the page cache in place), None if empty."""
    if os.fstat(fd).st_size == 0:
        yield None
        return
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped
