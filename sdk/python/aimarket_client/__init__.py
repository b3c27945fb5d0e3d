"""aimarket-client: the Python client of the aimarket API (sync and async, on httpx)."""

from __future__ import annotations

from aimarket_client._version import __version__
from aimarket_client.async_client import AsyncClient
from aimarket_client.client import Client
from aimarket_client.errors import (
    AimarketError,
    APIError,
    ArtifactRejected,
    AuthenticationError,
    BadRequest,
    ClientSideError,
    ConcurrentUpdate,
    Conflict,
    ConnectionFailed,
    DigestMismatch,
    InvalidInput,
    JobNotFinished,
    ModelLoading,
    NotFound,
    PayloadTooLarge,
    PaymentRequired,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unavailable,
    UploadInterrupted,
)
from aimarket_client.retrying import call_until_ready

__all__ = [
    "APIError",
    "AimarketError",
    "ArtifactRejected",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "ClientSideError",
    "ConcurrentUpdate",
    "Conflict",
    "ConnectionFailed",
    "DigestMismatch",
    "InvalidInput",
    "JobNotFinished",
    "ModelLoading",
    "NotFound",
    "PayloadTooLarge",
    "PaymentRequired",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "UploadInterrupted",
    "__version__",
    "call_until_ready",
]
