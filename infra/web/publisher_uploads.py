"""The upload endpoints the publisher page's script calls (static/upload.js): the API's
own upload routes, called with the signed-in person and the CSRF header instead of a
bearer token. A part's PUT is allowed a body as large as the API's (PAGE_PART_PATH)."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request

from infra.http.routes import uploads as api
from infra.http.schemas import uploads as schemas
from infra.web.context import FetchWeb, Web
from projections.cursor import MAX_INT64

router = APIRouter(prefix="/publisher", include_in_schema=False)
PAGE_PART_PATH = re.compile(r"/publisher/uploads/[^/]+/parts/[^/]+")
Part = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.post("/models/{model_id}/uploads", status_code=201)
def start_upload(
    model_id: UUID, body: schemas.UploadCreate, web: FetchWeb, uploads: api.Uploads
) -> schemas.UploadStartedOut:
    return api.start_upload(model_id, body, web.signed_in(), uploads)


@router.get("/uploads/{upload_id}")
def upload_status(upload_id: UUID, web: Web, uploads: api.Uploads) -> schemas.UploadOut:
    """Which parts arrived and which are missing: what a resume sends."""
    return api.upload_status(upload_id, web.signed_in(), uploads)


@router.put("/uploads/{upload_id}/parts/{part}")
async def put_part(
    upload_id: UUID, part: Part, request: Request, web: FetchWeb, uploads: api.Uploads
) -> schemas.PartReceivedOut:
    return await api.put_part(upload_id, part, request, web.signed_in(), uploads)


@router.post("/uploads/{upload_id}/complete")
def complete_upload(upload_id: UUID, web: FetchWeb, uploads: api.Uploads) -> schemas.VersionOut:
    """Check, validate, store: the version, validated or rejected."""
    return api.complete_upload(upload_id, web.signed_in(), uploads)
