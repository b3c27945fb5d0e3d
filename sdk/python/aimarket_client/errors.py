"""One exception per stable error code of the API (docs/API.md, "Errors"), never a bare
HTTP error: catch `RateLimited` or `PaymentRequired`, not status 429 or 402."""

from __future__ import annotations

from typing import Any

import httpx


class AimarketError(Exception):
    """Anything the client could not do. `code` is the API's stable error code."""

    code = "client_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class APIError(AimarketError):
    """The API answered with its error body `{"error": {code, message, request_id}}`."""

    retriable = False

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int,
        request_id: str = "",
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.request_id = request_id
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.code}: {self.message}{where}"


class ConnectionFailed(AimarketError):
    """The server could not be reached, or the connection broke before an answer."""

    code = "connection_failed"


class BadRequest(APIError):
    """400: the request itself was malformed."""


class AuthenticationError(APIError):
    """401: no credentials, wrong ones, or an expired token."""


class PermissionDenied(APIError):
    """403: the caller may not do this (scope, role, ownership, access)."""


class PaymentRequired(APIError):
    """402: a paid model past its free tier, a budget reached, a card declined."""


class NotFound(APIError):
    """404 (another user's object is a 404 too)."""


class Conflict(APIError):
    """409: the object is not in a state that allows this."""


class ConcurrentUpdate(Conflict):
    """409 concurrent_update: safe to send again as it is."""

    retriable = True


class PayloadTooLarge(APIError):
    """413."""


class InvalidInput(APIError):
    """422: the input was understood but refused; `details` names the fields."""


class RateLimited(APIError):
    """429: nothing was done; send again after `retry_after` seconds."""

    retriable = True


class ServerError(APIError):
    """500, 502, 504: the server or the engine behind it failed."""


class Unavailable(APIError):
    """503: a dependency is away; `retry_after` when the server knows when to come back."""

    retriable = True


class ModelLoading(Unavailable):
    """503 model_loading: the version is being deployed. `retry(call)` waits it out."""

    def retry(self, call: Any, timeout_s: float = 120.0) -> Any:
        """Call `call()` again (it raised this), sleeping `retry_after` between tries."""
        from aimarket_client.retrying import call_until_ready

        return call_until_ready(call, timeout_s, first_wait=self.retry_after)


class ClientSideError(AimarketError):
    """Refused before anything was sent, or what came back failed a check."""


class DigestMismatch(ClientSideError):
    """Downloaded bytes differ from their published sha256."""

    code = "digest_mismatch"


class ArtifactRejected(ClientSideError):
    """The upload arrived whole, but validation rejected the artifact (`reasons`)."""

    code = "artifact_rejected"

    def __init__(self, version: str, reasons: list[str]) -> None:
        super().__init__(f"version {version} was rejected: {'; '.join(reasons)}")
        self.version = version
        self.reasons = reasons


class UploadInterrupted(ClientSideError):
    """Parts are still missing after every retry; resume later with `upload_id`."""

    code = "upload_interrupted"

    def __init__(self, upload_id: str, missing: list[int], cause: str) -> None:
        super().__init__(f"upload {upload_id} interrupted ({cause}); parts missing: {missing}")
        self.upload_id = upload_id
        self.missing = missing


class JobNotFinished(ClientSideError):
    """`jobs.wait` ran out of time."""

    code = "job_not_finished"


BY_CODE: dict[str, type[APIError]] = {
    "concurrent_update": ConcurrentUpdate,
    "model_loading": ModelLoading,
}
BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: PaymentRequired,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    503: Unavailable,
}


def error_from(response: httpx.Response) -> APIError:
    """The exception for an error answer, from its body (or its status if it has none)."""
    body = _error_body(response)
    code = str(body.get("code") or f"http_{response.status_code}")
    cls = BY_CODE.get(code) or BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else APIError
    return cls(
        str(body.get("message") or response.reason_phrase or "error"),
        code=code,
        status=response.status_code,
        request_id=str(body.get("request_id") or response.headers.get("x-request-id", "")),
        details=body.get("details"),
        retry_after=_retry_after(response),
    )


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the API sends seconds only
