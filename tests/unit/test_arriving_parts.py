"""An upload's SHA-256 taken as its parts arrive: right in every order, never trusting a
part that was sent again, and one copy of a part written at a time; the file written out
meanwhile unless its bytes are stored already."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from domain.upload import PartInProgress
from infra.staging import FilesystemStaging

PART = 64 * 1024


def staged(tmp_path: Path, parts: int) -> tuple[FilesystemStaging, UUID, bytes]:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    content = random.Random(parts).randbytes(parts * PART - 100)  # a short last part
    staging.create(upload_id, len(content))
    return staging, upload_id, content


def send(staging: FilesystemStaging, upload_id: UUID, part: int, data: bytes) -> None:
    writer = staging.part_writer(upload_id, part, (part - 1) * PART)
    try:
        writer.write([data])
        writer.commit()
    finally:
        writer.close()


def part_of(content: bytes, part: int) -> bytes:
    return content[(part - 1) * PART : part * PART]


def completed(staging: FilesystemStaging, upload_id: UUID) -> tuple[int, str]:
    sealed = staging.seal(upload_id)
    try:
        return sealed.sha256()
    finally:
        sealed.close()


def overwrite_behind_its_back(staging: FilesystemStaging, upload_id: UUID, at: int) -> None:
    """Change a byte on disk without a part writer: only a hash already taken misses it."""
    with (staging.root / str(upload_id) / "upload.bin").open("r+b") as f:
        f.seek(at)
        f.write(b"\xff")


@pytest.mark.parametrize("order", [[1, 2, 3, 4], [3, 1, 4, 2], [4, 3, 2, 1]])
def test_parts_in_any_order_give_the_file_s_sha256(tmp_path: Path, order: list[int]) -> None:
    staging, upload_id, content = staged(tmp_path, 4)
    for part in order:
        send(staging, upload_id, part, part_of(content, part))
    assert completed(staging, upload_id) == (len(content), hashlib.sha256(content).hexdigest())


def test_parts_hashed_as_they_arrived_are_not_read_again(tmp_path: Path) -> None:
    staging, upload_id, content = staged(tmp_path, 3)
    for part in (1, 2, 3):
        send(staging, upload_id, part, part_of(content, part))
    staging.hasher.settled()
    overwrite_behind_its_back(staging, upload_id, PART + 5)
    # The hash of what the parts brought, not of the byte changed afterwards.
    assert completed(staging, upload_id)[1] == hashlib.sha256(content).hexdigest()


def test_a_part_sent_again_after_it_was_hashed_is_hashed_again(tmp_path: Path) -> None:
    staging, upload_id, content = staged(tmp_path, 3)
    for part in (1, 2, 3):
        send(staging, upload_id, part, part_of(content, part))
    staging.hasher.settled()
    changed = bytearray(content)
    changed[PART + 7] ^= 1
    send(staging, upload_id, 2, part_of(bytes(changed), 2))
    assert completed(staging, upload_id)[1] == hashlib.sha256(changed).hexdigest()


def test_a_copy_broken_off_after_the_part_was_hashed_leaves_it_missing(
    tmp_path: Path,
) -> None:
    staging, upload_id, content = staged(tmp_path, 2)
    for part in (1, 2):
        send(staging, upload_id, part, part_of(content, part))
    staging.hasher.settled()
    again = staging.part_writer(upload_id, 1, 0)
    again.write([b"\0" * 10])
    again.close()  # broke off: the part is no longer whole
    assert staging.received(upload_id) == [2]
    send(staging, upload_id, 1, part_of(content, 1))
    assert completed(staging, upload_id)[1] == hashlib.sha256(content).hexdigest()


def test_one_copy_of_a_part_at_a_time(tmp_path: Path) -> None:
    staging, upload_id, content = staged(tmp_path, 2)
    first = staging.part_writer(upload_id, 1, 0)
    with pytest.raises(PartInProgress) as refused:
        staging.part_writer(upload_id, 1, 0)
    assert refused.value.code == "part_in_progress"
    send(staging, upload_id, 2, part_of(content, 2))  # other parts go on meanwhile
    first.write([part_of(content, 1)])
    first.commit()
    first.close()
    send(staging, upload_id, 1, part_of(content, 1))  # once it ended, a copy may follow
    assert completed(staging, upload_id)[1] == hashlib.sha256(content).hexdigest()


def test_completion_elsewhere_hashes_the_whole_file(tmp_path: Path) -> None:
    """Another process (or this one after a restart) has no hash under way: all is read."""
    staging, upload_id, content = staged(tmp_path, 3)
    for part in (1, 2, 3):
        send(staging, upload_id, part, part_of(content, part))
    staging.hasher.settled()
    overwrite_behind_its_back(staging, upload_id, 3)
    changed = bytearray(content)
    changed[3] = 0xFF
    elsewhere = FilesystemStaging(staging.root)
    assert completed(elsewhere, upload_id)[1] == hashlib.sha256(changed).hexdigest()


def test_a_completion_that_gives_the_file_back_starts_the_hash_over(tmp_path: Path) -> None:
    staging, upload_id, content = staged(tmp_path, 2)
    send(staging, upload_id, 1, part_of(content, 1))
    sealed = staging.seal(upload_id)  # e.g. a part was missing: the file goes back
    assert sealed.reopen()
    sealed.close()
    send(staging, upload_id, 2, part_of(content, 2))
    assert completed(staging, upload_id)[1] == hashlib.sha256(content).hexdigest()


def test_an_empty_upload(tmp_path: Path) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 0)
    assert completed(staging, upload_id) == (0, hashlib.sha256().hexdigest())


def test_a_file_is_written_out_as_its_parts_arrive_unless_its_bytes_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fdatasync

    def recorded(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", recorded)
    staging = FilesystemStaging(tmp_path)
    new, known = uuid4(), uuid4()
    staging.create(new, 2 * PART)
    staging.create(known, 2 * PART, write_out=False)
    for upload_id in (new, known):
        for part in (1, 2):
            send(staging, upload_id, part, b"x" * PART)
    staging.flusher.settled()
    assert synced and all(str(new) in path for path in synced)


def test_a_sealed_file_without_a_name_is_freed_after_close(tmp_path: Path) -> None:
    staging, upload_id, content = staged(tmp_path, 1)
    send(staging, upload_id, 1, content)
    sealed = staging.seal(upload_id)
    held = os.fstat(sealed.fd)
    sealed.path.unlink()  # as the blob store drops bytes it holds already
    sealed.close()
    staging.freed()
    staging.flusher.settled()  # a write-out may hold the file a moment, by its path
    assert (held.st_dev, held.st_ino) not in open_files()


def open_files() -> set[tuple[int, int]]:
    """The files this process holds open, by identity: a closed descriptor's number may be
    reused at once by another thread, so the number alone proves nothing."""
    held = set()
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # closed while listed
            status = entry.stat()
            held.add((status.st_dev, status.st_ino))
    return held


def test_the_staging_owns_its_threads_and_the_container_closes_them(tmp_path: Path) -> None:
    from infra.bootstrap import build_container
    from infra.settings import Settings

    container = build_container(Settings(profile="embedded", data_dir=tmp_path / "data"))
    staging = container.uploads.staging
    assert isinstance(staging, FilesystemStaging)
    upload_id = uuid4()
    staging.create(upload_id, PART)
    send(staging, upload_id, 1, b"x" * PART)  # the hashing and writing-out threads start
    staging.freed()
    container.close()
    for settled in (staging.freed, staging.hasher.settled, staging.flusher.settled):
        with pytest.raises(RuntimeError):  # shut down: no new work is taken
            settled()
    assert FilesystemStaging(tmp_path / "other").freed() is None  # each staging its own
