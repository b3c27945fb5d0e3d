"""The catalogue and the registry: search, a model's page, drafts, publishing, downloads.
A model is named by its id, by `slug` (one of the caller's own models, else a unique
public one) or by `publisher_id/slug`."""

from __future__ import annotations

import uuid
from typing import Any

from aimarket_client.calls import Call, Op, get, post
from aimarket_client.errors import (
    AuthenticationError,
    ClientSideError,
    NotFound,
    PermissionDenied,
)
from aimarket_client.types import ModelPublic, ModelsPage

# Model ids are uuid5(this, "<publisher id>/<slug>") (the server's domain/model.py): a
# slug is found without a search when the publisher is known.
MODEL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://aimarket.dev/ns/model")


def model_id_of(publisher_id: str, slug: str) -> str:
    return str(uuid.uuid5(MODEL_NAMESPACE, f"{publisher_id}/{slug}"))


def search(q: str | None = None, limit: int = 20, cursor: str | None = None,
           mine: bool = False, **filters: Any) -> Op[ModelsPage]:  # fmt: skip
    """`filters`: task, framework, tags, license, price, sort... as in GET /v1/models."""
    params = {"q": q, "limit": limit, "cursor": cursor, "mine": "true" if mine else None}
    return ModelsPage.of((yield get("/v1/models", **params, **filters)))


def show(model_id: str) -> Op[ModelPublic]:
    return ModelPublic.of((yield get(f"/v1/models/{model_id}")))


def create(slug: str, name: str, **details: Any) -> Op[str]:
    """A draft model of the caller's; its id."""
    made = yield post("/v1/models", {"slug": slug, "name": name, **details})
    return str(made["id"])


def publish(model_id: str, version: str) -> Op[None]:
    yield post(f"/v1/models/{model_id}/versions/{version}/publish")


def download_url(model_id: str, version: str) -> Op[str]:
    signed = yield get(f"/v1/models/{model_id}/versions/{version}/download-url")
    return str(signed["url"])


def resolve(ref: str, known: dict[str, str]) -> Op[str]:
    """The id of the model `ref` names; `known` remembers answers for this client."""
    if _is_uuid(ref):
        return ref
    if ref not in known:
        known[ref] = yield from _find(ref)
    return str(known[ref])


def _find(ref: str) -> Op[str]:
    if "/" in ref:
        publisher, slug = ref.split("/", 1)
        return model_id_of(publisher, slug)
    try:
        me = yield get("/v1/auth/me")
        own = model_id_of(me["id"], ref)
        yield get(f"/v1/models/{own}")
        return own
    except (NotFound, AuthenticationError, PermissionDenied):
        pass  # not the caller's, or an anonymous caller: search the catalogue
    page = yield get("/v1/models", q=ref.replace("-", " "), limit=100)
    found = {str(item["id"]) for item in page["items"] if item["slug"] == ref}
    if len(found) != 1:
        why = "no model" if not found else f"{len(found)} models"
        raise ClientSideError(
            f"{why} with the slug {ref!r}: name it by id or publisher/slug",
            code="model_not_found" if not found else "ambiguous_model",
        )
    return found.pop()


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def created_or_found(slug: str, name: str | None, known: dict[str, str]) -> Op[str]:
    """The caller's model `slug` (or id), made as a draft if they have none."""
    if _is_uuid(slug):
        return slug
    me = yield get("/v1/auth/me")
    model_id = model_id_of(me["id"], slug)
    try:
        yield get(f"/v1/models/{model_id}")
    except NotFound:
        yield post("/v1/models", {"slug": slug, "name": name or slug})
    known[slug] = model_id
    return str(model_id)


def version_of(model_id: str, version: str) -> Op[dict[str, Any]]:
    page = yield get(f"/v1/models/{model_id}")
    for entry in page["versions"]:
        if entry["version"] == version:
            return dict(entry)
    raise ClientSideError(f"version {version} not found", code="version_not_found")


def call_infer(model_id: str, body: dict[str, Any], version: str | None) -> Call:
    params = {"version": version} if version else None
    return Call("POST", f"/v1/models/{model_id}/infer", params=params, json=body)
