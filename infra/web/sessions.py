"""People's browser sessions: sign in, who is visiting, sign out.

Each signs in through the same AuthService.login as the API, so a browser session is one
refresh-token family (LoginSession): the cookie holds only a random id, the server keeps
that family's tokens under the id's hash, and signing out ends the family.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from commands.auth import AuthService, TokenPair
from commands.secrets import hash_secret
from domain.clock import Clock
from domain.errors import Unauthorized
from domain.principal import Principal
from infra.web.session_store import WebSessionRecord, WebSessionStore

# One refresh of a session at a time, across the API's processes: two requests of one
# browser must not both present the same refresh token (the second would look like a
# stolen copy and end the family). The other waits for the new tokens; a claim whose
# holder died runs out, and the wait outlasts it.
CLAIM_S = 5.0
WAIT_S = 6.0
POLL_S = 0.02


class WebSessions:
    def __init__(
        self, auth: AuthService, store: WebSessionStore, clock: Clock, refresh_ttl_s: int
    ) -> None:
        self.auth, self.store, self.clock, self.refresh_ttl_s = auth, store, clock, refresh_ttl_s

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
        key, deadline = hash_secret(cookie), time.monotonic() + WAIT_S
        while True:
            now = self.clock.now()
            if self.store.claim(key, now + timedelta(seconds=CLAIM_S), now):
                try:
                    return self._refresh_claimed(cookie, stale)
                finally:
                    self.store.release(key)
            current = self.store.get(key, now)
            if current is None:
                return None
            if current.access_token != stale.access_token:  # refreshed by the claim's holder
                return self._authenticated(current.access_token)
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)

    def _refresh_claimed(self, cookie: str, stale: WebSessionRecord) -> Principal | None:
        current = self.store.get(hash_secret(cookie), self.clock.now())
        if current is None:
            return None
        if current.access_token != stale.access_token:  # refreshed meanwhile
            return self._authenticated(current.access_token)
        try:
            pair = self.auth.refresh(current.refresh_token)
        except Unauthorized:  # the family ended (logout elsewhere, reuse) or expired
            self.store.delete(hash_secret(cookie))
            return None
        self._keep(cookie, pair)
        return self._authenticated(pair.access_token)

    def _authenticated(self, access_token: str) -> Principal | None:
        try:
            return self.auth.authenticate_access(access_token)
        except Unauthorized:
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
