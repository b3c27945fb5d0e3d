"""Generation and hashing of the secrets we hand out: API keys and refresh tokens.

Both carry ~190 bits of randomness, so a fast SHA-256 is the right hash: a slow
password hash would add milliseconds to every API call and buy nothing.
Passwords, which people choose, use argon2id (see the PasswordHasher port).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from uuid import UUID

from domain.errors import Unauthorized

API_KEY_PREFIX = "aimpk_"
API_KEY_RANDOM_LENGTH = 32
API_KEY_DISPLAY_LENGTH = len(API_KEY_PREFIX) + 4
API_KEY_PATTERN = re.compile(r"aimpk_[0-9A-Za-z]{32}")
REFRESH_TOKEN_PREFIX = "aimrt_"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_REFRESH_PATTERN = re.compile(r"aimrt_([0-9a-f]{32})_([0-9A-Za-z_-]{43})")


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + "".join(secrets.choice(_BASE62) for _ in range(API_KEY_RANDOM_LENGTH))


def looks_like_api_key(value: str) -> bool:
    return API_KEY_PATTERN.fullmatch(value) is not None


def display_prefix(api_key: str) -> str:
    """Enough of the key for its owner to recognise it in a list, too little to guess it."""
    return api_key[:API_KEY_DISPLAY_LENGTH]


def new_refresh_token(session_id: UUID) -> str:
    return f"{REFRESH_TOKEN_PREFIX}{session_id.hex}_{secrets.token_urlsafe(32)}"


def refresh_token_session(token: str) -> UUID:
    match = _REFRESH_PATTERN.fullmatch(token)
    if match is None:
        raise Unauthorized("refresh token is malformed", code="invalid_refresh_token")
    return UUID(hex=match.group(1))
