"""Artifact uploads: start, receive parts (any order, any number of times), complete.

Each part is written straight at its place in the upload's one file, which the staging
hashes and writes out to disk as the parts arrive. Completing seals that file (no part
can change it any more), finishes its hash, checks the declared size and sha256,
validates the artifact, moves it into the blob store, and records the version on the
model and the end of the upload in one save.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, Protocol
from uuid import UUID

from anyio import to_thread

from commands.artifacts import Verdict
from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore, Written
from commands.models import ModelCommands
from commands.ports import BlobStore, SealedUpload, UploadStaging
from commands.upload_parts import (
    PartReceived,
    PartSlot,
    SizeMismatch,
    UploadIncomplete,
    file_digest,
    pipe,
)
from domain.clock import Clock
from domain.errors import DomainError, InvalidInput, NotFound, PayloadTooLarge
from domain.model import Model
from domain.principal import Principal
from domain.upload import Upload, UploadNotFound, UploadStatus
from domain.user import Role

SAVE_ATTEMPTS = 3  # the model may change while a large artifact is being validated


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"


class InvalidPartSize(InvalidInput):
    code = "invalid_part_size"


class ChecksumMismatch(InvalidInput):
    code = "checksum_mismatch"


class Validator(Protocol):
    def validate(self, path: Path) -> Verdict: ...


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    part_bytes: int  # the default part size, and the largest a client may choose
    min_part_bytes: int
    ttl_s: int


@dataclass(frozen=True)
class UploadStarted:
    id: UUID
    position: int
    part_size: int
    parts: int
    expires_at: datetime


@dataclass(frozen=True)
class UploadState:
    upload: Upload
    status: str  # the upload's, or "expired" for an open one past its time
    received: list[int]
    missing: list[int]


@dataclass(frozen=True)
class VersionOutcome:
    id: UUID  # the model
    position: int
    upload_id: UUID
    version: dict[str, Any]  # the version as the model now records it


class UploadService(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        models: ModelCommands,
        blobs: BlobStore,
        staging: UploadStaging,
        validator: Validator,
        limits: UploadLimits,
        clock: Clock,
    ) -> None:
        self.app, self.models, self.blobs, self.staging = app, models, blobs, staging
        self.validator, self.limits, self.clock = validator, limits, clock

    def start(
        self,
        caller: Principal,
        model_id: UUID,
        version: str,
        size: int,
        sha256: str,
        part_size: int | None = None,
    ) -> UploadStarted:
        model = self.models.load_changeable(model_id, caller)
        key = model.check_can_upload(version)  # a taken version number is refused up front
        if size > self.limits.max_bytes:
            raise UploadTooLarge(f"artifacts may be at most {self.limits.max_bytes} bytes")
        part_size = part_size or self.limits.part_bytes
        if not self.limits.min_part_bytes <= part_size <= self.limits.part_bytes:
            raise InvalidPartSize(
                f"part_size must be {self.limits.min_part_bytes} to {self.limits.part_bytes}"
            )
        expires_at = self.clock.now() + timedelta(seconds=self.limits.ttl_s)
        digest = sha256.lower().removeprefix("sha256:")
        upload = Upload.start(model.id, caller.user_id, key, size, digest, part_size, expires_at)
        written = self.app.write(upload)
        stored = self.blobs.exists(f"sha256:{digest}")  # then only checked, never kept
        self.staging.create(upload.id, size, write_out=not stored)
        return UploadStarted(upload.id, written.position, part_size, upload.parts, expires_at)

    def owned(self, caller: Principal, upload_id: UUID) -> Upload:
        try:
            upload = self.app.load(Upload, upload_id)
        except NotFound:
            raise UploadNotFound(f"no upload {upload_id}") from None
        upload.check_owner(caller.user_id, caller.role == Role.ADMIN.value)
        return upload

    def status(self, caller: Principal, upload_id: UUID) -> UploadState:
        upload = self.owned(caller, upload_id)
        expired = upload.is_expired(self.clock.now())
        received = [] if expired else self.received_parts(upload)
        missing = (
            [] if upload.status != UploadStatus.OPEN or expired else _missing(upload, received)
        )
        return UploadState(upload, "expired" if expired else upload.status, received, missing)

    def received_parts(self, upload: Upload) -> list[int]:
        if upload.status != UploadStatus.OPEN:
            return []
        return [n for n in self.staging.received(upload.id) if n <= upload.parts]

    def open_part(
        self, caller: Principal, upload_id: UUID, part: int, sha256: str | None = None
    ) -> PartSlot:
        """A part's way in; `sha256` (hex), when given, is checked against its bytes."""
        upload = self.owned(caller, upload_id)
        upload.check_open(self.clock.now())
        length = upload.part_length(part)
        writer = self.staging.part_writer(upload.id, part, (part - 1) * upload.part_size)
        return PartSlot(writer, part, length, sha256)

    async def receive_part(
        self,
        caller: Principal,
        upload_id: UUID,
        part: int,
        chunks: AsyncIterable[bytes],
        sha256: str | None = None,
    ) -> PartReceived:
        """Part `part` from `chunks` as they arrive (a request's body): written at its place
        by worker threads, a batch at a time (`pipe`), never the whole part in memory."""
        slot = await to_thread.run_sync(self.open_part, caller, upload_id, part, sha256)
        try:
            return await pipe(chunks, slot.write_all, slot.finish)
        except BaseException:
            await to_thread.run_sync(slot.close)
            raise

    def complete(self, caller: Principal, upload_id: UUID) -> VersionOutcome:
        upload = self.owned(caller, upload_id)
        upload.check_open(self.clock.now())
        model = self.models.load_changeable(upload.model_id, caller)
        try:
            model.check_can_upload(upload.model_version)
        except DomainError as error:  # the version was taken meanwhile: this upload is moot
            self._fail(upload, error)
        sealed = self._seal(upload)
        try:
            outcome = self._complete_sealed(upload, model, caller, sealed)
        finally:
            sealed.close()
        self.staging.discard(upload.id)
        return outcome

    def _seal(self, upload: Upload) -> SealedUpload:
        """The upload's file, out of reach of part writes, with every part in it."""
        sealed = self.staging.seal(upload.id)
        # Checked once sealed: a part being sent again is unmarked before its first write.
        missing = _missing(upload, self.received_parts(upload))
        if missing:
            sealed.reopen()
            sealed.close()
            shown = ", ".join(map(str, missing[:20])) + (", ..." if len(missing) > 20 else "")
            raise UploadIncomplete(f"parts still missing: {shown}")
        return sealed

    def _complete_sealed(
        self, upload: Upload, model: Model, caller: Principal, sealed: SealedUpload
    ) -> VersionOutcome:
        converted: Path | None = None
        try:
            size, sha256 = sealed.sha256()
            if size != upload.size:
                self._fail(upload, SizeMismatch(f"declared {upload.size} bytes, got {size}"))
            if sha256 != upload.sha256:
                self._fail(upload, ChecksumMismatch("the bytes do not match the declared sha256"))
            verdict = self.validator.validate(sealed.path)
            converted = verdict.converted
            written, model = self._store_and_record(upload, model, caller, sealed.path, verdict)
        except BaseException:  # after _fail there is nothing left to give back
            self._give_back(upload, sealed)
            raise
        finally:
            if converted is not None:
                converted.unlink(missing_ok=True)
        recorded = dict(model.version_info(upload.model_version))
        return VersionOutcome(written.id, written.position, upload.id, recorded)

    def _give_back(self, upload: Upload, sealed: SealedUpload) -> None:
        """After an error the client may retry: the file goes back to the upload (copied
        from the blob store when it was moved there already). Best effort: the error
        that matters is the one being raised, and a file left sealed is taken over by
        the next completion."""
        with contextlib.suppress(OSError):
            if sealed.reopen():
                return
            digest = f"sha256:{upload.sha256}"
            if self.blobs.exists(digest):
                with self.blobs.open(digest) as stored:
                    self.staging.restore(upload.id, stored)

    def _store_and_record(
        self, upload: Upload, model: Model, caller: Principal, sealed: Path, verdict: Verdict
    ) -> tuple[Written, Model]:
        artifact = verdict.converted or sealed
        digest, size = f"sha256:{upload.sha256}", upload.size
        if verdict.converted is not None:  # the converted ONNX is what is served
            digest, size = file_digest(artifact)
        if verdict.accepted:  # a refused artifact is not kept: it may be unsafe to hold
            self.blobs.put_file(artifact, digest)
        for attempt in range(SAVE_ATTEMPTS):
            if attempt:
                upload = self.owned(caller, upload.id)
                upload.check_open(self.clock.now())
                model = self.models.load_changeable(upload.model_id, caller)
            try:
                model.upload_version(upload.model_version, digest, size, upload.id)
            except DomainError as error:
                self._fail(upload, error)
            if verdict.accepted and verdict.framework and verdict.signature is not None:
                model.validate_version(upload.model_version, verdict.framework, verdict.signature)
            else:
                model.reject_version(upload.model_version, list(verdict.reasons))
            upload.complete(f"sha256:{upload.sha256}")
            try:
                return self.app.write(model, upload), model
            except ConcurrentUpdate:
                continue  # reload the two and record again; the artifact is stored already
        raise ConcurrentUpdate("the model kept changing while the upload completed")

    def _fail(self, upload: Upload, error: DomainError) -> NoReturn:
        """Close the upload for good, drop its file, and raise `error` to the client."""
        try:
            fresh = self.app.load(Upload, upload.id)
            if fresh.status == UploadStatus.OPEN:
                fresh.fail(f"{error.code}: {error.message}")
                self.app.write(fresh)
        except ConcurrentUpdate:
            pass  # someone else closed it just now; either way it is closed
        self.staging.discard(upload.id)
        raise error

    def sweep(self, grace_s: int = 3600) -> int:
        """Fail uploads expired over `grace_s` ago (time for a completion under way to
        finish) and drop every staged area no open upload still needs. Returns how many
        areas were dropped. Run it now and then, e.g. hourly."""
        now, dropped = self.clock.now() - timedelta(seconds=grace_s), 0
        for upload_id in self.staging.upload_ids():
            try:
                upload: Upload | None = self.app.load(Upload, upload_id)
            except NotFound:
                upload = None
            if upload is not None and upload.status == UploadStatus.OPEN:
                if not upload.is_expired(now):
                    continue
                upload.fail("expired")
                try:
                    self.app.write(upload)
                except ConcurrentUpdate:
                    continue  # it changed just now; look again next time
            self.staging.discard(upload_id)
            dropped += 1
        return dropped


def _missing(upload: Upload, received: list[int]) -> list[int]:
    return sorted(set(range(1, upload.parts + 1)) - set(received))
