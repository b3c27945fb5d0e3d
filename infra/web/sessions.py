"""People's browser sessions: sign in, who is visiting, sign out.

Each signs in through the same AuthService.login as the API, so a browser session is one
refresh-token family (LoginSession): the cookie holds only a random id, the server keeps
that family's tokens under the id's hash, and signing out ends the family.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

from commands.auth import AuthService, TokenPair
from commands.secrets import hash_secret
from domain.clock import Clock
from domain.errors import Unauthorized
from domain.principal import Principal
from infra.web.session_store import WebSessionRecord, WebSessionStore


class WebSessions:
    def __init__(
        self, auth: AuthService, store: WebSessionStore, clock: Clock, refresh_ttl_s: int
    ) -> None:
        self.auth, self.store, self.clock, self.refresh_ttl_s = auth, store, clock, refresh_ttl_s
        # One refresh at a time in this process: two requests of one browser must not both
        # present the same refresh token (the second would look like a stolen copy).
        self._refreshing = threading.Lock()

    def sign_in(self, email: str, password: str, client: str | None) -> str:
        """A fresh cookie value for a new session; any id offered before is never reused."""
        pair = self.auth.login(email, password, client)
        cookie = secrets.token_urlsafe(32)
        self._keep(cookie, pair)
        return cookie

    def visitor(self, cookie: str | None) -> Principal | None:
        """Who holds this cookie, or None (unknown, ended, expired, deactivated)."""
        record = self.store.get(hash_secret(cookie), self.clock.now()) if cookie else None
        if cookie is None or record is None:
            return None
        try:
            return self.auth.authenticate_access(record.access_token)
        except Unauthorized:
            return self._refreshed(cookie, record)

    def sign_out(self, cookie: str | None) -> None:
        principal = self.visitor(cookie)
        if cookie is None:
            return
        if principal is not None:
            self.auth.logout(principal)
        self.store.delete(hash_secret(cookie))

    def _refreshed(self, cookie: str, stale: WebSessionRecord) -> Principal | None:
        with self._refreshing:
            current = self.store.get(hash_secret(cookie), self.clock.now())
            if current is None:
                return None
            try:
                if current.access_token != stale.access_token:  # refreshed meanwhile
                    return self.auth.authenticate_access(current.access_token)
                pair = self.auth.refresh(current.refresh_token)
                self._keep(cookie, pair)
                return self.auth.authenticate_access(pair.access_token)
            except Unauthorized:  # the family ended (logout elsewhere, reuse) or expired
                self.store.delete(hash_secret(cookie))
                return None

    def _keep(self, cookie: str, pair: TokenPair) -> None:
        principal = self.auth.authenticate_access(pair.access_token)
        now = self.clock.now()
        record = WebSessionRecord(
            user_id=str(principal.user_id),
            family_id=str(pair.session_id),
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_at=(now + timedelta(seconds=self.refresh_ttl_s)).timestamp(),
        )
        self.store.put(hash_secret(cookie), record, now)
