"""Bodies of the artifact routes: uploads, their parts, the versions they end in, downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt

from commands.http.schemas import Strict


class UploadCreate(Strict):
    version: str = Field(min_length=1, max_length=64, examples=["1.0.0"])
    size: StrictInt = Field(gt=0, description="The artifact's exact size in bytes")
    sha256: str = Field(
        pattern=r"^(sha256:)?[0-9a-fA-F]{64}$", description="Hex SHA-256 of the whole artifact"
    )
    part_size: StrictInt | None = Field(
        default=None,
        gt=0,
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
    sha256: str = Field(description="SHA-256 of this part as received")


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
