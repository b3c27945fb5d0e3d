"""Pushing an artifact: a resumable upload in parts, sent side by side. The file is read
once to hash it (streamed: the API wants the sha256 before the first part), then each
part is read when it is sent and carries its own digest, computed while it is read, so
that a part damaged on the way is refused and sent again. After a dropped connection the
upload asks the server which parts are `missing` and sends only those."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimarket_client.calls import Call, Op, Parallel, Sleep, get, post
from aimarket_client.errors import (
    AimarketError,
    APIError,
    ArtifactRejected,
    ConnectionFailed,
    UploadInterrupted,
)
from aimarket_client.ops.models import version_of
from aimarket_client.session import backoff
from aimarket_client.types import VersionOut

Progress = Callable[[int, int], None]  # (bytes the server has, bytes in all)


@dataclass(frozen=True)
class PushOptions:
    parallel: int = 4
    part_size: int | None = None  # None: the server's (16 MiB by default)
    part_digests: bool = True
    rounds: int = 8  # how many times missing parts are asked for and sent again
    progress: Progress | None = None


def file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def push(path: Path, model_id: str, version: str, options: PushOptions) -> Op[VersionOut]:
    """Start an upload of `path` as `version`, send its parts, complete it."""
    size = path.stat().st_size
    declared = {"version": version, "size": size, "sha256": file_sha256(path)}
    if options.part_size:
        declared["part_size"] = options.part_size
    started = yield post(f"/v1/models/{model_id}/uploads", declared)
    return (yield from resume(path, str(started["upload_id"]), options))


def resume(path: Path, upload_id: str, options: PushOptions) -> Op[VersionOut]:
    """Send what the upload `upload_id` misses of `path`, then complete it."""
    try:
        state = yield get(f"/v1/uploads/{upload_id}")
    except ConnectionFailed as broken:
        raise UploadInterrupted(upload_id, [], str(broken)) from broken
    tracker = _Tracker(0, state["size"], options.progress)
    tracker.now(state["size"] - _missing_bytes(state))
    missing: list[int] = state["missing"]
    for attempt in range(options.rounds):
        if not missing:
            break
        outcomes = yield _parts(path, upload_id, state, missing, options, tracker)
        missing = [n for n, o in zip(missing, outcomes, strict=True) if _failed(o)]
        if missing:
            yield Sleep(backoff(attempt, base_s=0.5))
        try:  # the server's word on what is missing, when it can be reached
            missing = (yield get(f"/v1/uploads/{upload_id}"))["missing"]
        except ConnectionFailed:
            continue
        tracker.now(state["size"] - _missing_bytes({**state, "missing": missing}))
    if missing:
        raise UploadInterrupted(upload_id, missing, "parts kept failing")
    return (yield from _complete(upload_id))


def _failed(outcome: Any) -> bool:
    """A part to send again; an error that sending again cannot mend is raised."""
    if not isinstance(outcome, AimarketError):
        return False
    again = ("part_in_progress", "part_checksum_mismatch", "size_mismatch")
    if isinstance(outcome, APIError) and not outcome.retriable and outcome.code not in again:
        raise outcome
    return True


def _parts(path: Path, upload_id: str, state: dict[str, Any], missing: list[int],
           options: PushOptions, tracker: _Tracker) -> Parallel:  # fmt: skip
    part_size, size = int(state["part_size"]), int(state["size"])

    def maker(n: int) -> Callable[[], Call]:
        offset = (n - 1) * part_size
        return lambda: _part_call(path, upload_id, n, offset, min(part_size, size - offset),
                                  options.part_digests)  # fmt: skip

    def arrived(index: int, answer: Any) -> None:
        tracker.arrived(int(answer["size"]))

    return Parallel([maker(n) for n in missing], options.parallel, arrived)


def _part_call(path: Path, upload_id: str, n: int, offset: int, length: int,
               digests: bool) -> Call:  # fmt: skip
    fd = os.open(path, os.O_RDONLY)
    try:
        content = os.pread(fd, length, offset)
    finally:
        os.close(fd)
    headers = {"Content-Type": "application/octet-stream"}
    if digests:
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")
        headers["Content-Digest"] = f"sha-256=:{digest}:"
    # Not sent again by the transport: a part whose connection broke may still be
    # arriving at the server (409 part_in_progress); the next round asks what is missing.
    return Call("PUT", f"/v1/uploads/{upload_id}/parts/{n}", content=content, headers=headers)


def _complete(upload_id: str) -> Op[VersionOut]:
    try:
        answer = yield post(f"/v1/uploads/{upload_id}/complete")
    except ConnectionFailed:  # the answer was lost: did it complete?
        answer = yield from _completed_meanwhile(upload_id)
    done = VersionOut.of(answer)
    if done.status == "rejected":
        raise ArtifactRejected(done.version, done.reasons)
    return done


def _completed_meanwhile(upload_id: str) -> Op[dict[str, Any]]:
    state = yield get(f"/v1/uploads/{upload_id}")
    if state["status"] != "completed":
        again: dict[str, Any] = yield post(f"/v1/uploads/{upload_id}/complete")
        return again
    entry = yield from version_of(str(state["model_id"]), str(state["version"]))
    return {**entry, "id": state["model_id"], "upload_id": upload_id}


def _missing_bytes(state: dict[str, Any]) -> int:
    part_size, size = int(state["part_size"]), int(state["size"])
    return sum(min(part_size, size - (n - 1) * part_size) for n in state["missing"])


class _Tracker:
    """Bytes the server has, for the progress callback (called from the sending threads):
    a part counts once the server answered for it."""

    def __init__(self, done: int, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = done, total, progress
        self.lock = threading.Lock()

    def arrived(self, length: int) -> None:
        with self.lock:
            self.done = min(self.total, self.done + length)
        self.report()

    def now(self, done: int) -> None:
        with self.lock:
            self.done = done
        self.report()

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)
