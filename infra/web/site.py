"""What the pages share, built once per app: the templates, the sessions, the CSRF key."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from fastapi.templating import Jinja2Templates

from infra.web.money import money
from infra.web.sessions import WebSessions

HERE = Path(__file__).parent
SESSION_COOKIE = "aimarket_session"
ANON_COOKIE = "aimarket_anon"  # a visitor not signed in: what their CSRF token is bound to


@dataclass(frozen=True)
class Site:
    templates: Jinja2Templates
    sessions: WebSessions
    csrf_key: bytes

    def csrf_token(self, bound_to: str) -> str:
        """The per-session token: an HMAC of the session's (or visitor's) cookie value."""
        return hmac.new(self.csrf_key, b"csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, bound_to: str, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token(bound_to), presented)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.trim_blocks = templates.env.lstrip_blocks = True
    templates.env.globals["money"] = money  # one way to show minor units, on every page
    return templates
