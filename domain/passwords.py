"""What a new password must not be (NIST SP 800-63B, 3.1.1.2): blank or commonly used.

Length is checked at the edge (8 to 1024 characters); composition rules are not asked
for, on purpose: the standard advises against them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from domain.errors import InvalidInput


class PasswordBlank(InvalidInput):
    code = "password_blank"


class PasswordTooCommon(InvalidInput):
    code = "password_too_common"


def password_key(password: str) -> str:
    """The form compared with the list: NFKC, case folded (fullwidth `PASSWORD` is `password`)."""
    return unicodedata.normalize("NFKC", password).casefold()


def common_password_set(lines: Iterable[str]) -> frozenset[str]:
    """The list as the check uses it, from its file's lines (blank lines and `#` comments
    are skipped)."""
    entries = (line.strip() for line in lines)
    return frozenset(password_key(e) for e in entries if e and not e.startswith("#"))


def check_new_password(password: str, common: frozenset[str]) -> None:
    if not password.strip():
        raise PasswordBlank("a password cannot be only spaces")
    if password_key(password) in common or password_key(password.strip()) in common:
        raise PasswordTooCommon(
            "this password is among the most commonly used and breached ones; choose another"
        )
