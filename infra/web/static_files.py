"""The pages' few static files, served as plain routes (no mounted sub-app: the app
matches every route itself), cached for a day."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from domain.errors import NotFound
from infra.web.site import HERE

router = APIRouter(include_in_schema=False)
FOLDER = HERE / "static"
TYPES = {".css": "text/css", ".js": "text/javascript"}


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    path = FOLDER / name
    kind = TYPES.get(path.suffix)
    # Only a file of this folder, by its plain name: no path can climb out of it.
    if kind is None or "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound("no such file")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})
