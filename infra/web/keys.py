"""The visitor's API keys: create with scopes and an expiry (the key shown this once,
with a copy button), rotate (the new key shown once), revoke. Through ApiKeyService, as
the API's /v1/auth/api-keys routes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from commands.api_keys import IssuedKey
from domain.api_key import SCOPES
from domain.errors import DomainError, NotFound
from infra.http.deps import ApiKeys, Use
from infra.http.schemas.accounts import ApiKeyCreate
from infra.web.context import PostedForm, Web, WebContext, caught_up
from infra.web.forms import form_again, parse
from queries.accounts import AccountQueries

router = APIRouter(include_in_schema=False)
Accounts = Annotated[AccountQueries, Use(AccountQueries)]
PAGE = "keys.html"


async def _page(
    web: WebContext, accounts: AccountQueries, issued: IssuedKey | None = None,
    error: DomainError | None = None,
) -> Response:  # fmt: skip
    visitor = web.signed_in()
    if issued is not None:
        await caught_up(web, issued.written.position)
    listed = await run_in_threadpool(accounts.api_keys, visitor.user_id, False, 100, None)
    values: dict[str, Any] = {"keys": listed.items, "scopes": sorted(SCOPES), "issued": issued}
    if error is not None:
        return form_again(web, PAGE, error, **values)
    return web.render(PAGE, **values)


@router.get("/account/keys")
async def keys_page(web: Web, accounts: Accounts) -> Response:
    return await _page(web, accounts)


@router.post("/account/keys")
async def create_key(form: PostedForm, keys: ApiKeys, accounts: Accounts) -> Response:
    visitor = form.web.signed_in()
    visitor.check_verified()  # as the API's VerifiedUser
    scopes = [s for s in sorted(SCOPES) if form.fields.get(f"scope_{s}")]
    expiry = form.get("expires_on")
    fields = {"name": form.get("name"), "scopes": scopes,
              "expires_at": f"{expiry}T23:59:59Z" if expiry else None}  # fmt: skip
    try:
        body = parse(ApiKeyCreate, fields)
        issued = await run_in_threadpool(
            keys.create, visitor, body.name, body.scopes, body.expires_at
        )
    except DomainError as error:
        return await _page(form.web, accounts, error=error)
    return await _page(form.web, accounts, issued)


@router.post("/account/keys/{key_id}/rotate")
async def rotate_key(key_id: str, form: PostedForm, keys: ApiKeys, accounts: Accounts) -> Response:
    visitor = form.web.signed_in()
    visitor.check_verified()
    issued = await run_in_threadpool(keys.rotate, visitor, _key_id(key_id))
    return await _page(form.web, accounts, issued)


@router.post("/account/keys/{key_id}/revoke")
async def revoke_key(key_id: str, form: PostedForm, keys: ApiKeys, accounts: Accounts) -> Response:
    visitor = form.web.signed_in()
    written = await run_in_threadpool(keys.revoke, visitor, _key_id(key_id))
    await caught_up(form.web, written.position)
    return await _page(form.web, accounts)


def _key_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFound("no such key") from None
