"""Bodies of the artifact routes: uploads, their parts (and a part's digest headers), the
versions they end in, downloads."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt

from domain.errors import InvalidInput
from infra.http.schemas.common import Strict
from projections.cursor import MAX_INT64

_HEX64 = re.compile(r"[0-9a-f]{64}")


class InvalidPartDigest(InvalidInput):
    code = "invalid_part_digest"


class UploadCreate(Strict):
    version: str = Field(min_length=1, max_length=64, examples=["1.0.0"])
    size: StrictInt = Field(gt=0, le=MAX_INT64, description="The artifact's exact size in bytes")
    sha256: str = Field(
        pattern=r"^(sha256:)?[0-9a-fA-F]{64}$", description="Hex SHA-256 of the whole artifact"
    )
    part_size: StrictInt | None = Field(
        default=None,
        gt=0,
        le=MAX_INT64,
        description="Bytes per part (every part but the last); default and maximum "
        "AIMARKET_UPLOAD_PART_BYTES, minimum AIMARKET_UPLOAD_MIN_PART_BYTES",
    )


class UploadStartedOut(BaseModel):
    upload_id: UUID
    position: int
    part_size: int
    parts: int = Field(description="How many parts to send, numbered from 1")
    expires_at: datetime


class PartReceivedOut(BaseModel):
    part: int
    size: int
    sha256: str | None = Field(
        description="SHA-256 of this part as received, when the request sent one to check "
        "(Content-Digest or X-Part-SHA256); null otherwise: the part is not hashed on its own"
    )


class UploadOut(BaseModel):
    upload_id: UUID
    model_id: UUID
    version: str
    status: str = Field(description="open, completed, failed or expired")
    size: int
    sha256: str
    part_size: int
    parts: int
    received: list[int] = Field(description="Parts received whole (open uploads only)")
    missing: list[int] = Field(description="Parts still to send (open uploads only)")
    expires_at: datetime
    digest: str | None = None
    reason: str | None = Field(default=None, description="Why a failed upload failed")


class VersionOut(BaseModel):
    id: UUID = Field(description="The model")
    position: int
    upload_id: UUID
    version: str
    status: str = Field(description="validated, or rejected with reasons")
    digest: str
    size: int
    framework: str | None = None
    signature: dict[str, Any] | None = Field(
        default=None,
        description="inputs and outputs ({name, dtype, shape}; a dynamic dimension is its "
        "symbolic name or null), opset, opset_imports, ir_version, producer",
    )
    reasons: list[str] = Field(default_factory=list, description="Why it was rejected")


class DownloadUrlOut(BaseModel):
    url: str = Field(description="Signed; needs no other credential until it expires")
    expires_at: datetime


def requested_sha256(content_digest: str | None, x_part_sha256: str | None) -> str | None:
    """The hex SHA-256 a part must have, from either header; None when neither is sent."""
    wanted = set()
    if x_part_sha256 is not None:
        if not _HEX64.fullmatch(x_part_sha256.strip().lower()):
            raise InvalidPartDigest("X-Part-SHA256 must be 64 hex digits")
        wanted.add(x_part_sha256.strip().lower())
    if content_digest is not None:
        found = False
        for member in content_digest.split(","):
            key, _, value = member.partition("=")
            if key.strip().lower() != "sha-256":
                continue  # other algorithms are not checked; sha-256 must be there
            found = True
            wanted.add(_sha256_member(value.split(";")[0].strip()))
        if not found:
            raise InvalidPartDigest("Content-Digest needs a sha-256 member: only it is checked")
    if len(wanted) > 1:
        raise InvalidPartDigest("the part's digest headers disagree")
    return wanted.pop() if wanted else None


def _sha256_member(value: str) -> str:
    """`:<base64>:` (an RFC 8941 byte sequence) of 32 bytes, as hex."""
    try:
        if len(value) < 2 or value[0] != ":" or value[-1] != ":":
            raise ValueError
        raw = base64.b64decode(value[1:-1], validate=True)
    except ValueError:  # binascii.Error among them
        raise InvalidPartDigest("Content-Digest's sha-256 must be :<base64>:") from None
    if len(raw) != 32:
        raise InvalidPartDigest("Content-Digest's sha-256 must be 32 bytes")
    return raw.hex()
