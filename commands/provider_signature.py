"""Stripe's webhook signature, checked before anything else is done with a body.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">[,v1=...]`: any
`v1` matching any configured secret passes (two secrets while one is rotated out), and
`t` must be within the tolerance of our clock. Written here rather than calling
`stripe.WebhookSignature`: the SDK is a cluster extra (the embedded profile takes
webhooks too) and it reads the wall clock, where tests move ours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

from domain.errors import DomainError


class InvalidSignature(DomainError):  # 400
    code = "invalid_signature"


class SignatureExpired(DomainError):  # 400
    code = "signature_expired"


def verify_signature(
    body: bytes, header: str | None, secrets: Sequence[str], now: datetime, tolerance_s: int
) -> None:
    timestamp, signatures = _parse(header or "")
    signed = timestamp.encode() + b"." + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    # Every pair compared, in constant time each: no early exit that times the match.
    matches = [hmac.compare_digest(e, given) for e in expected for given in signatures]
    if not any(matches):
        raise InvalidSignature("the Stripe-Signature header does not match this body")
    if abs(now.timestamp() - int(timestamp)) > tolerance_s:
        raise SignatureExpired("the Stripe-Signature timestamp is too far from now")


def _parse(header: str) -> tuple[str, list[str]]:
    pairs = [item.strip().partition("=") for item in header.split(",")]
    timestamps = [value for name, _, value in pairs if name == "t"]
    signatures = [value for name, _, value in pairs if name == "v1" and value]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise InvalidSignature("send Stripe-Signature: t=<timestamp>,v1=<signature>")
    return timestamps[0], signatures


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """What Stripe sends for `body`: for tests and for replaying an event by hand."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"
