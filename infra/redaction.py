"""The one redaction filter: every secret the system holds is masked in a log record's
message, arguments, extra fields and traceback before any handler formats it.

Secrets are known two ways: by shape (JWTs, `aimpk_` API keys, `whsec_` webhook secrets,
Stripe `sk_`/`rk_` keys, Fernet keys, a URL's password, card numbers, `password=...` and
the like) and by value (the configured signing secret, partner-feed key, Stripe key and
webhook secrets, database passwords), so a secret with no telltale shape is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # a JWT (header {"...)
    r"|aimpk_[0-9A-Za-z]+"
    r"|whsec_[A-Za-z0-9+/=_-]+"
    r"|\b[sr]k_(?:live|test)_[0-9A-Za-z]+"
    r"|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"  # a Fernet key
)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]+)(@)", re.IGNORECASE)
_SENSITIVE = r"(?:password|passwd|secret|token|api[_-]?key|authorization|cookie|fernet[_-]?key)"
# The name's own prefix needs no match (`db_password=` is masked from `password`): a
# leading \w* would be tried at every position of every string.
_KEY_VALUE = re.compile(
    rf"""({_SENSITIVE}\w*["']?\s*[:=]\s*)(?:bearer\s+)?(["']?)([^"'\s,;&}}]+)""",
    re.IGNORECASE,
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_SENSITIVE_NAME = re.compile(_SENSITIVE, re.IGNORECASE)
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return MASK if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


class Redactor:
    def __init__(self, known: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.known = sorted({s for s in known if len(s) >= 8}, key=len, reverse=True)

    def text(self, text: str) -> str:
        # Each access line passes here: the patterns that cannot match are not tried.
        for secret in self.known:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _SECRET_SHAPES.sub(MASK, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text)
        if "=" in text or ":" in text:
            text = _KEY_VALUE.sub(rf"\g<1>\g<2>{MASK}", text)
        return _CARD.sub(_mask_card, text)

    def value(self, value: Any, name: str = "") -> Any:
        if name and _SENSITIVE_NAME.search(name) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.text(str(value))


class RedactionFilter(logging.Filter):
    """On the aimarket handler: the record is rewritten in place, message formatted first
    (so a secret in an argument is masked wherever the format puts it)."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        super().__init__()
        self.redactor = Redactor(known)

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor
        record.msg, record.args = redact.text(record.getMessage()), None
        for name, value in list(record.__dict__.items()):
            if name not in _RECORD_FIELDS:
                setattr(record, name, redact.value(value, name))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # The exception object keeps its message: only the masked text goes on.
            record.exc_text, record.exc_info = redact.text(record.exc_text), None
        if record.stack_info:
            record.stack_info = redact.text(record.stack_info)
        return True
