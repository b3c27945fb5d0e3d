"""The web pages' forms posted through a TestClient: a page's CSRF token and signing in
through the login form, for tests that check the pages' rules without a browser."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from infra.web.site import SESSION_COOKIE
from tests.support import PASSWORD


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in_by_form(client: TestClient, email: str) -> str:
    """`client` signed in through the login form; the session cookie it was given."""
    token = csrf_of(client)
    form = {"email": email, "password": PASSWORD, "csrf_token": token}
    done = client.post("/login", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    return str(done.cookies[SESSION_COOKIE])


def signed_in_client(client: TestClient, email: str, page: str = "/publisher/models/new") -> str:
    """`client` signed in through the login form; the CSRF token of its session (read
    from `page`)."""
    sign_in_by_form(client, email)
    return csrf_of(client, page)
