"""The staging area of uploads: each upload's one file, written part by part.

An upload waits in `<staging>/<upload id>/`: `upload.bin`, made at its full size when the
upload starts, gets each part written straight at its offset (no part files to join
later), and `<n>.ok` marks part n received whole. A part's first write removes its mark
and its commit puts it back, so a part sent again is missing while it is rewritten, never
half-old. One copy of a part arrives at a time: its writer holds an exclusive `flock` on
`<n>.lock` from start to end.

Completion seals the file: it takes an exclusive `flock` and renames it to
`upload.sealed`. A part writer holds a shared lock for each write and first checks that
`upload.bin` is still its file, so once sealed nothing can change the bytes being hashed
and stored, not even a writer that opened the file earlier. (On NFS, Linux carries
`flock` across hosts as a whole-file byte-range lock.)

The SHA-256 is computed, and the file written out, as parts arrive (infra/arriving_parts.py):
each mark holds a token of its commit, by which completion knows a hashed part was not
sent again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from commands.ports import UploadCompleting
from domain.upload import PartInProgress, UploadClosed
from infra.arriving_parts import AheadFlusher, AheadHasher, Segment, new_token

_MARK = re.compile(r"([1-9][0-9]*)\.ok")
DATA, SEALED = "upload.bin", "upload.sealed"
STORED_ALREADY = "stored-already"  # the upload's bytes are a blob already: no write-out
_IOV_MAX = 1024  # buffers per pwritev
SEAL_WAIT_S = 5.0  # for part writes under way to let go of the file


class FilePartWriter:
    def __init__(
        self, directory: Path, part: int, offset: int, hasher: AheadHasher, flusher: AheadFlusher
    ) -> None:
        self.directory, self.part, self.start = directory, part, offset
        self.hasher, self.flusher = hasher, flusher
        self.write_out = not (directory / STORED_ALREADY).exists()
        self.data, self.mark = directory / DATA, directory / f"{part}.ok"
        self.fd = self.lock = -1
        try:
            self.fd = os.open(self.data, os.O_WRONLY | os.O_CLOEXEC)
            self.lock = _only_writer(directory / f"{part}.lock", part)
        except FileNotFoundError:
            self.close()
            if (directory / SEALED).exists():
                raise UploadCompleting(f"upload {directory.name} is being completed") from None
            raise _no_file(directory) from None
        except BaseException:
            self.close()
            raise
        self.offset, self.started = offset, False

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        """While the block runs, the file is the upload's and no completion can take it."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # sealed
            raise UploadCompleting(
                "the upload is being completed; see GET /v1/uploads/{id}"
            ) from None
        try:
            if not _same_file(self.data, self.fd):  # sealed and stored, or discarded
                raise _closed_meanwhile()
            if not self.started:  # from now until commit, this part is not whole
                self.mark.unlink(missing_ok=True)
                self.started = True
            yield
        except FileNotFoundError:  # its directory discarded meanwhile
            raise _closed_meanwhile() from None
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def write(self, chunks: list[bytes]) -> None:
        with self._holding():
            self.offset = _pwrite(self.fd, chunks, self.offset)

    def commit(self) -> None:
        token = new_token()
        with self._holding():
            fd = os.open(self.mark, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, token)
            finally:
                os.close(fd)
        segment = Segment(self.part, self.start, self.offset, token)
        self.hasher.committed(self.directory, self.data, segment)
        if self.write_out:
            self.flusher.committed(self.data)

    def close(self) -> None:
        for fd in (self.fd, self.lock):  # the data file first: then the next copy may start
            if fd >= 0:
                os.close(fd)
        self.fd = self.lock = -1


def _no_file(directory: Path) -> UploadClosed:
    return UploadClosed(f"upload {directory.name} has no staged file; start a new one")


def _closed_meanwhile() -> UploadClosed:
    """Completed, failed or swept while this part was arriving."""
    return UploadClosed("the upload closed while this part arrived")


def _only_writer(lock: Path, part: int) -> int:
    """The part's lock, held: two copies of a part written at once would leave a mix of
    both under one commit's mark, which the hash taken as parts arrive would not see."""
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise PartInProgress(
            f"part {part} is arriving on another connection; send it again once that ends"
        ) from None
    return fd


def _pwrite(fd: int, chunks: list[bytes], offset: int) -> int:
    """Write all of `chunks` at `offset`; the offset after them."""
    pending = [memoryview(chunk) for chunk in chunks if chunk]
    while pending:
        written = os.pwritev(fd, pending[:_IOV_MAX], offset)
        if not written:
            raise OSError(errno.EIO, "nothing written")
        offset += written
        while pending and written >= len(pending[0]):
            written -= len(pending.pop(0))
        if written:
            pending[0] = pending[0][written:]
    return offset


def _same_file(path: Path, fd: int) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class SealedFile:
    """An upload's file renamed to `upload.sealed`, held under an exclusive lock."""

    def __init__(
        self, directory: Path, fd: int, hasher: AheadHasher, freeing: ThreadPoolExecutor
    ) -> None:
        self.directory, self.fd, self.hasher, self.freeing = directory, fd, hasher, freeing
        self.path = directory / SEALED

    def sha256(self) -> tuple[int, str]:
        return self.hasher.sha256(self.directory, self.fd)

    def reopen(self) -> bool:
        # Never a file the blob store also names (a completion that died between the two
        # steps of storing it): parts written into it would change a stored blob.
        if not _same_file(self.path, self.fd) or os.fstat(self.fd).st_nlink > 1:
            return False
        os.rename(self.path, self.directory / DATA)
        return True

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            if os.fstat(fd).st_nlink == 0:
                # Its last name is gone (bytes stored already, or refused): this close frees
                # its blocks, a while for a large file, which the response need not wait for.
                self.freeing.submit(os.close, fd)
            else:
                os.close(fd)


class FilesystemStaging:
    """The UploadStaging port on a local (or NFS) directory. Its threads (hashing, writing
    out, freeing) are its own: `close` ends them, once the server has stopped."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hasher, self.flusher = AheadHasher(), AheadFlusher()
        self.freeing = ThreadPoolExecutor(1, thread_name_prefix="upload-free")

    def freed(self) -> None:
        """Wait until the sealed files closed so far are freed (tests)."""
        self.freeing.submit(lambda: None).result()

    def close(self) -> None:
        """Let the work asked for so far finish, and end the threads."""
        self.freeing.shutdown()
        self.hasher.close()
        self.flusher.close()

    def _dir(self, upload_id: UUID) -> Path:
        return self.root / str(UUID(str(upload_id)))

    def create(self, upload_id: UUID, size: int, write_out: bool = True) -> None:
        directory = self._dir(upload_id)
        directory.mkdir(parents=True, exist_ok=True)
        if not write_out:
            (directory / STORED_ALREADY).touch()
        fd = os.open(directory / DATA, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, size)  # sparse: blocks come as parts are written
        finally:
            os.close(fd)

    def part_writer(self, upload_id: UUID, part: int, offset: int) -> FilePartWriter:
        return FilePartWriter(self._dir(upload_id), part, offset, self.hasher, self.flusher)

    def received(self, upload_id: UUID) -> list[int]:
        directory = self._dir(upload_id)
        if not directory.is_dir():
            return []
        found = (_MARK.fullmatch(entry.name) for entry in os.scandir(directory))
        return sorted(int(match.group(1)) for match in found if match)

    def seal(self, upload_id: UUID) -> SealedFile:
        directory = self._dir(upload_id)
        try:
            return self._seal(directory)
        except BlockingIOError:
            raise UploadCompleting(f"upload {upload_id} is being completed") from None
        except FileNotFoundError:
            raise _no_file(directory) from None

    def _seal(self, directory: Path) -> SealedFile:
        """BlockingIOError while another completion holds the file, FileNotFoundError
        when there is none."""
        try:
            fd = os.open(directory / DATA, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return self._take_over(directory)
        try:
            _lock_exclusive(fd)
            if not _same_file(directory / DATA, fd):  # sealed by another completion meanwhile
                raise BlockingIOError(errno.EWOULDBLOCK, "the upload is being completed")
            os.rename(directory / DATA, directory / SEALED)
        except BaseException:
            os.close(fd)
            raise
        return SealedFile(directory, fd, self.hasher, self.freeing)

    def _take_over(self, directory: Path) -> SealedFile:
        """A sealed file whose lock nobody holds: the completion that sealed it died."""
        fd = os.open(directory / SEALED, os.O_RDONLY | os.O_CLOEXEC)  # or FileNotFoundError
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: it is alive
            if not _same_file(directory / SEALED, fd):
                raise FileNotFoundError(errno.ENOENT, "the upload's file is gone")
        except BaseException:
            os.close(fd)
            raise
        return SealedFile(directory, fd, self.hasher, self.freeing)

    def restore(self, upload_id: UUID, source: BinaryIO) -> None:
        directory = self._dir(upload_id)
        if not directory.is_dir():
            return  # discarded meanwhile
        temporary = directory / f".restore-{uuid.uuid4().hex}"
        try:
            with temporary.open("wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            os.rename(temporary, directory / DATA)
        finally:
            temporary.unlink(missing_ok=True)

    def discard(self, upload_id: UUID) -> None:
        self.hasher.forget(self._dir(upload_id))
        shutil.rmtree(self._dir(upload_id), ignore_errors=True)

    def upload_ids(self) -> list[UUID]:
        if not self.root.is_dir():
            return []
        ids = []
        for entry in self.root.iterdir():
            with contextlib.suppress(ValueError):
                ids.append(UUID(entry.name))
        return ids

    def file_count(self) -> int:
        """Files of every upload still staged (tests check that failures leave none)."""
        if not self.root.is_dir():
            return 0
        return sum(1 for p in self.root.rglob("*") if p.is_file())


def _lock_exclusive(fd: int, wait_s: float = SEAL_WAIT_S) -> None:
    """flock(LOCK_EX), waiting for part writes under way (each holds the lock for one
    write) but not forever: BlockingIOError after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)
