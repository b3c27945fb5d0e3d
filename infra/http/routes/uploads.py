"""Uploads and downloads: chunked, resumable uploads of a model version, and its signed
download links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, BinaryIO
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from commands.downloads import DownloadService, Grant, InvalidSignature
from commands.upload_parts import CHUNK
from commands.uploads import UploadService
from infra.http.deps import ModelReader, ModelWriter, Use
from infra.http.schemas import uploads as schemas
from projections.cursor import MAX_INT64, MIN_INT64

# The one route whose body is not small JSON; infra/http/app.py gives it a limit of its own.
PART_PATH = re.compile(r"/v1/uploads/[^/]+/parts/[^/]+")
Uploads = Annotated[UploadService, Use(UploadService)]
Downloads = Annotated[DownloadService, Use(DownloadService)]
OptionalText = Annotated[str, Query(max_length=200)]
ContentDigest = Annotated[
    str | None,
    Header(
        max_length=1000,
        description="RFC 9530, e.g. `sha-256=:<base64>:`: the part is checked against it "
        "(422 part_checksum_mismatch) and its sha256 returned",
    ),
]
PartSha256 = Annotated[
    str | None,
    Header(alias="X-Part-SHA256", max_length=100, description="The same, as 64 hex digits"),
]
router = APIRouter(prefix="/v1", tags=["artifacts"])

_BINARY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/models/{model_id}/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.UploadStartedOut,
)
def start_upload(
    model_id: UUID, body: schemas.UploadCreate, caller: ModelWriter, uploads: Uploads
) -> schemas.UploadStartedOut:
    """Start a chunked upload of a new version's artifact, declaring its size and sha256."""
    started = uploads.start(caller, model_id, body.version, body.size, body.sha256, body.part_size)
    return schemas.UploadStartedOut(
        upload_id=started.id,
        position=started.position,
        part_size=started.part_size,
        parts=started.parts,
        expires_at=started.expires_at,
    )


@router.get("/uploads/{upload_id}", response_model=schemas.UploadOut)
def upload_status(upload_id: UUID, caller: ModelWriter, uploads: Uploads) -> schemas.UploadOut:
    """An upload's status and which parts arrived, so that a client can resume it."""
    state = uploads.status(caller, upload_id)
    upload = state.upload
    return schemas.UploadOut(
        upload_id=upload.id,
        model_id=upload.model_id,
        version=upload.model_version,
        status=state.status,
        size=upload.size,
        sha256=upload.sha256,
        part_size=upload.part_size,
        parts=upload.parts,
        received=state.received,
        missing=state.missing,
        expires_at=upload.expires_at,
        digest=upload.digest,
        reason=upload.reason,
    )


@router.put(
    "/uploads/{upload_id}/parts/{part}",
    response_model=schemas.PartReceivedOut,
    openapi_extra=_BINARY_BODY,
)
async def put_part(
    upload_id: UUID,
    part: Annotated[int, Path(ge=MIN_INT64, le=MAX_INT64, description="From 1")],
    request: Request,
    caller: ModelWriter,
    uploads: Uploads,
    content_digest: ContentDigest = None,
    x_part_sha256: PartSha256 = None,
) -> schemas.PartReceivedOut:
    """Send part `part` (from 1) as raw bytes; parts go in any order, and a part sent
    again replaces its earlier copy. With a Content-Digest (or X-Part-SHA256) header the
    part is checked against it."""
    wanted = schemas.requested_sha256(content_digest, x_part_sha256)
    received = await uploads.receive_part(caller, upload_id, part, request.stream(), wanted)
    return schemas.PartReceivedOut(part=received.part, size=received.size, sha256=received.sha256)


@router.post("/uploads/{upload_id}/complete", response_model=schemas.VersionOut)
def complete_upload(upload_id: UUID, caller: ModelWriter, uploads: Uploads) -> schemas.VersionOut:
    """Check size and sha256, validate, store: the version, validated or rejected."""
    outcome = uploads.complete(caller, upload_id)
    recorded = outcome.version
    return schemas.VersionOut(
        id=outcome.id,
        position=outcome.position,
        upload_id=outcome.upload_id,
        version=recorded["version"],
        status=recorded["status"],
        digest=recorded["digest"],
        size=recorded["size"],
        framework=recorded.get("framework"),
        signature=recorded.get("signature"),
        reasons=recorded.get("reasons", []),
    )


@router.get(
    "/models/{model_id}/versions/{version}/download-url", response_model=schemas.DownloadUrlOut
)
def download_url(
    model_id: UUID, version: str, caller: ModelReader, downloads: Downloads
) -> schemas.DownloadUrlOut:
    """A signed URL for the version's artifact, good for AIMARKET_DOWNLOAD_URL_TTL_S."""
    signed = downloads.signed_url(caller, model_id, version)
    return schemas.DownloadUrlOut(url=signed.url, expires_at=signed.expires_at)


@router.get(
    "/downloads/sha256/{hex_digest}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(
    hex_digest: str,
    downloads: Downloads,
    model: OptionalText = "",
    version: OptionalText = "",
    user: OptionalText = "",
    expires: OptionalText = "",
    signature: OptionalText = "",
) -> StreamingResponse:
    """The artifact itself, by a URL from download-url: the signature is the credential."""
    if not (expires.isascii() and expires.isdigit()):  # int() takes other digits too
        raise InvalidSignature("this download link is not valid")
    grant = Grant(f"sha256:{hex_digest}", model, version, user, int(expires))
    found = downloads.open(grant, signature)
    headers = {
        "Content-Length": str(found.size),
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "ETag": f'"{found.digest}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(
        _chunks(found.stream), media_type="application/octet-stream", headers=headers
    )


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk
