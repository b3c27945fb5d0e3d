"""The web front end for people: server-rendered pages over the same handlers as the API.

`install_web(app, container)` adds the page routes (kept out of the OpenAPI document),
the static files and the page error handling. One router per area, in its own module.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from infra.bootstrap import Container
from infra.schema_lock import schema_lock
from infra.stores import postgres_pool
from infra.web import (
    account_billing,
    account_purchases,
    admin_pages,
    auth_pages,
    catalogue,
    keys,
    model_page,
    publisher,
    publisher_earnings,
    publisher_inbox,
    publisher_uploads,
    static_files,
)
from infra.web.errors import install_page_errors
from infra.web.session_store import PostgresWebSessions, SqliteWebSessions, WebSessionStore
from infra.web.sessions import WebSessions
from infra.web.site import Site, make_templates

PAGE_ROUTERS: list[APIRouter] = [
    static_files.router,
    auth_pages.router,
    catalogue.router,
    model_page.router,
    keys.router,
    publisher.router,
    publisher_uploads.router,
    publisher_inbox.router,
    publisher_earnings.router,
    account_billing.router,
    account_purchases.router,
    admin_pages.router,
]


def install_web(app: FastAPI, container: Container) -> None:
    settings = container.settings
    sessions = WebSessions(
        container.auth, session_store(container), container.auth.clock,
        settings.refresh_token_ttl_s,
    )  # fmt: skip
    app.state.web_site = Site(
        make_templates(), sessions, ("web-csrf:" + settings.signing_secret()).encode()
    )
    for router in PAGE_ROUTERS:
        app.router.routes.extend(router.routes)
    install_page_errors(app)


def session_store(container: Container) -> WebSessionStore:
    settings = container.settings
    if settings.profile == "cluster":
        with schema_lock(settings.database_url):
            return PostgresWebSessions(postgres_pool(settings, container.closers))
    store = SqliteWebSessions(settings.data_dir / "web_sessions.sqlite")
    container.closers.append(store.close)
    return store
