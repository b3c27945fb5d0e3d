"""argon2id password hashing (the PasswordHasher port) and the list of common passwords."""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.passwords import common_password_set

COMMON_PASSWORDS_FILE = "common-passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (infra/data/common-passwords.txt, its header says where it is
    from), read once per process: about 12,000 entries, under 1 MB in memory."""
    text = resources.files("infra.data").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    return common_password_set(text.splitlines())


class Argon2Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 64 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
