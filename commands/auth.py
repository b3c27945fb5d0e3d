"""Accounts and sessions: register, verify, log in, refresh, log out, authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from commands.accounts import Account, AccountCommands, AccountLookup
from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from commands.ports import Mailer, OutgoingEmail, PasswordHasher, TokenDenylist
from commands.rate_limits import BucketSpec, Limit, TokenBuckets
from commands.secrets import hash_secret, new_refresh_token, refresh_token_session
from commands.sessions import SessionCommands
from commands.tokens import InvalidToken, TokenCodec
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from domain.login_session import LoginSession, RefreshTokenInvalid, RefreshTokenReused
from domain.passwords import check_new_password
from domain.principal import Principal
from domain.user import AccountDeactivated, Role, User, normalise_email


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


@dataclass(frozen=True)
class AuthPolicy:
    refresh_ttl_s: int
    login_attempts_per_minute: int
    public_base_url: str
    # Per client address, beside the per-email limit: one client spraying many emails.
    login_attempts_per_client_per_minute: int = 30
    # Lower-cased, NFKC-normalised common and breached passwords (NIST SP 800-63B).
    common_passwords: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: UUID


class AuthService(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        users: AccountCommands,
        sessions: SessionCommands,
        accounts: AccountLookup,
        passwords: PasswordHasher,
        tokens: TokenCodec,
        denylist: TokenDenylist,
        mailer: Mailer,
        limiter: TokenBuckets,
        clock: Clock,
        policy: AuthPolicy,
    ) -> None:
        self.app, self.accounts, self.passwords, self.tokens = app, accounts, passwords, tokens
        self.denylist, self.mailer, self.limiter, self.clock = denylist, mailer, limiter, clock
        self.policy, self.users, self.sessions = policy, users, sessions
        # Verified against when the email is unknown, so both paths cost the same time.
        self._decoy_hash = passwords.hash("decoy password for unknown accounts")

    # Registration and verification

    def register(self, email: str, password: str, role: Role, display_name: str = "") -> Written:
        if role is Role.ADMIN:
            raise Forbidden("admins are appointed, not registered", code="role_not_allowed")
        check_new_password(password, self.policy.common_passwords)
        written = self.users.register_user(email, self.passwords.hash(password), role, display_name)
        self.send_verification(written.id, normalise_email(email))
        return written

    def send_verification(self, user_id: UUID, email: str) -> None:
        token = self.tokens.issue_email_verification(user_id, email, self.clock.now())
        body = (
            "Welcome to aimarket.\n\nConfirm your email by sending this token to "
            f'POST {self.policy.public_base_url}/v1/auth/verify-email as {{"token": "..."}}:'
            f"\n\n{token}\n\nor open {self.policy.public_base_url}/verify?token={token} in a "
            f"browser.\n\nThe token expires in {self.tokens.verify_email_ttl_hours} hours.\n"
        )
        self.mailer.send(OutgoingEmail(to=email, subject="Confirm your aimarket email", body=body))

    def resend_verification(self, principal: Principal) -> None:
        account = self.require_account(principal.user_id)
        if account.verified:
            raise Conflict("this email is already verified", code="already_verified")
        self.send_verification(account.id, account.email)

    def verify_email(self, token: str) -> Written:
        user_id, email = self.tokens.decode_email_verification(token)
        account = self.require_account(user_id)
        if account.email != email:
            raise InvalidToken("token is invalid")
        written = self.users.verify_email(user_id)
        self.accounts.forget(user_id)
        return written

    def change_password(self, principal: Principal, current: str, new: str) -> Written:
        self.require_account(principal.user_id)
        user = self.app.load(User, principal.user_id)
        if not self.passwords.verify(user.password_hash, current):
            raise InvalidCredentials("the current password is incorrect")
        check_new_password(new, self.policy.common_passwords)
        return self.users.change_password(user.id, self.passwords.hash(new))

    def rename(self, principal: Principal, display_name: str) -> Written:
        """Change the public name; models published later carry it, and a model's next
        change of details picks it up."""
        return self.users.rename_user(principal.user_id, display_name)

    # Sessions

    def login(self, email: str, password: str, client: str | None = None) -> TokenPair:
        self._check_login_rate(normalise_email(email), client)
        user = self.users.find_user_by_email(email)
        stored = user.password_hash if user else self._decoy_hash
        ok = self.passwords.verify(stored, password)
        if user is None or not ok or user.deactivated:
            raise InvalidCredentials("email or password is incorrect")
        if self.passwords.needs_rehash(user.password_hash):
            self.users.change_password(user.id, self.passwords.hash(password))
        session_id = LoginSession.create_id()
        refresh = new_refresh_token(session_id)
        now = self.clock.now()
        access = self.tokens.issue_access(user.id, user.role, session_id, now)
        self.sessions.start_session(
            session_id,
            user.id,
            hash_secret(refresh),
            now + timedelta(seconds=self.policy.refresh_ttl_s),
            access.jti,
            access.expires_at,
        )
        return TokenPair(access.token, refresh, self._seconds_until(access.expires_at), session_id)

    def _check_login_rate(self, email: str, client: str | None) -> None:
        """Both limits are taken together, before any password hash is verified."""
        per_email, per_client = (
            self.policy.login_attempts_per_minute,
            self.policy.login_attempts_per_client_per_minute,
        )
        limits = [Limit(f"login:{email}", BucketSpec(per_email, per_email / 60))]
        if client:
            limits.append(Limit(f"login-client:{client}", BucketSpec(per_client, per_client / 60)))
        decision = self.limiter.take_all(limits)
        if not decision.allowed:
            raise RateLimited(
                "too many login attempts; try again later", retry_after_s=decision.retry_after_s
            )

    def refresh(self, refresh_token: str) -> TokenPair:
        session_id = refresh_token_session(refresh_token)
        try:
            session = self.app.load(LoginSession, session_id)
        except NotFound:
            raise RefreshTokenInvalid("refresh token is invalid or expired; log in again") from None
        account = self.require_account(session.user_id)
        now = self.clock.now()
        access = self.tokens.issue_access(account.id, account.role, session_id, now)
        new_refresh = new_refresh_token(session_id)
        try:
            self.sessions.rotate_session(
                session_id,
                hash_secret(refresh_token),
                hash_secret(new_refresh),
                now,
                access.jti,
                access.expires_at,
            )
        except RefreshTokenReused:
            self._deny_session_tokens(self.app.load(LoginSession, session_id))
            raise
        return TokenPair(
            access.token, new_refresh, self._seconds_until(access.expires_at), session_id
        )

    def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            raise Forbidden("log out with the access token of a session", code="not_a_session")
        session = self.sessions.end_session(principal.session_id, "logout")
        self._deny_session_tokens(session)

    def _deny_session_tokens(self, session: LoginSession) -> None:
        for jti, expires_at in session.live_access_tokens(self.clock.now()).items():
            self.denylist.deny(jti, expires_at)

    def _seconds_until(self, moment: datetime) -> int:
        return max(0, int((moment - self.clock.now()).total_seconds()))

    # Per request

    def authenticate_access(self, token: str) -> Principal:
        claims = self.tokens.decode_access(token)
        if self.denylist.is_denied(claims.jti):
            raise InvalidToken("token has been revoked")
        account = self.require_account(claims.user_id)
        return Principal(
            user_id=account.id,
            role=account.role,
            verified=account.verified,
            via="jwt",
            jti=claims.jti,
            session_id=claims.session_id,
            token_expires_at=claims.expires_at,
        )

    def require_account(self, user_id: UUID) -> Account:
        account = self.accounts.get(user_id)
        if account is None:
            raise InvalidToken("token is invalid")
        if account.deactivated:
            raise AccountDeactivated("this account has been deactivated")
        return account

    # Administration

    # Administration: `by` is the acting admin; None is the operator's command line.

    def change_role(self, user_id: UUID, role: Role, by: UUID | None = None) -> Written:
        written = self.users.change_role(user_id, role, by)
        self.accounts.forget(user_id)
        return written

    def deactivate(self, user_id: UUID, by: UUID | None = None) -> Written:
        written = self.users.deactivate_user(user_id, by)
        self.accounts.forget(user_id)
        return written

    def reactivate(self, user_id: UUID, by: UUID | None = None) -> Written:
        written = self.users.reactivate_user(user_id, by)
        self.accounts.forget(user_id)
        return written
