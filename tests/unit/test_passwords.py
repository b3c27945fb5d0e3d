from __future__ import annotations

from infra.passwords import Argon2Passwords


def test_password_hash_is_argon2id_and_verifies_only_the_same_password() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_kib=8)
    stored = passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse battery!")


def test_same_password_hashes_differently_each_time() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_kib=8)
    assert passwords.hash("same password") != passwords.hash("same password")


def test_garbage_hash_is_a_failed_verification_not_an_error() -> None:
    assert not Argon2Passwords(time_cost=1, memory_kib=8).verify("not-a-hash", "whatever")


def test_weaker_parameters_ask_for_a_rehash() -> None:
    weak = Argon2Passwords(time_cost=1, memory_kib=8).hash("pw123456")
    assert Argon2Passwords(time_cost=2, memory_kib=16).needs_rehash(weak)
    assert not Argon2Passwords(time_cost=1, memory_kib=8).needs_rehash(weak)
