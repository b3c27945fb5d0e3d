"""Stripe's webhook signature, checked by our own verifier: as Stripe signs, with the
secret rotated, and refused when tampered with, foreign or stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.provider_signature import (
    InvalidSignature,
    SignatureExpired,
    signature_header,
    verify_signature,
)

NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"id":"evt_1","type":"invoice.paid"}'
OLD, NEW = "whsec_old_secret", "whsec_new_secret"


def test_a_body_signed_with_the_secret_passes() -> None:
    verify_signature(BODY, signature_header(BODY, NEW, T), [NEW], NOW, 300)


def test_stripes_own_verifier_accepts_what_we_accept() -> None:
    import stripe  # a cluster extra, installed for the tests; it reads the wall clock

    header = signature_header(BODY, NEW, int(datetime.now(UTC).timestamp()))
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, NEW, tolerance=300)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY + b" ", signature_header(BODY, NEW, T), [NEW], NOW, 300)


def test_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, signature_header(BODY, "whsec_other", T), [NEW], NOW, 300)


@pytest.mark.parametrize("header", ["", "t=1", "v1=abc", f"t=x,v1={'0' * 64}", "garbage"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, [NEW], NOW, 300)


def test_a_signature_older_than_the_tolerance_is_expired() -> None:
    header = signature_header(BODY, NEW, T)
    verify_signature(BODY, header, [NEW], NOW + timedelta(seconds=300), 300)
    with pytest.raises(SignatureExpired):
        verify_signature(BODY, header, [NEW], NOW + timedelta(seconds=301), 300)


def test_during_a_rotation_both_secrets_pass_and_a_header_may_carry_both() -> None:
    for secret in (OLD, NEW):
        verify_signature(BODY, signature_header(BODY, secret, T), [OLD, NEW], NOW, 300)
    both = signature_header(BODY, OLD, T) + "," + signature_header(BODY, NEW, T).split(",")[1]
    verify_signature(BODY, both, [NEW], NOW, 300)
    with pytest.raises(InvalidSignature):  # the old secret, once retired
        verify_signature(BODY, signature_header(BODY, OLD, T), [NEW], NOW, 300)
