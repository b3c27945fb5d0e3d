"""Typed errors. Each carries a stable machine-readable `code`; one place maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the application raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class PaymentRequired(DomainError):
    code = "payment_required"


class Unavailable(DomainError):
    """503; `retry_after_s` (when set) becomes the Retry-After header."""

    code = "upstream_unavailable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class UpstreamFailed(DomainError):
    """502: the inference server answered, with an error of its own."""

    code = "upstream_error"


class UpstreamTimedOut(DomainError):
    """504: the inference server did not answer within the call's timeout."""

    code = "upstream_timeout"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
