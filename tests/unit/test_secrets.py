from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.secrets import (
    display_prefix,
    hash_secret,
    looks_like_api_key,
    new_api_key,
    new_refresh_token,
    refresh_token_session,
)
from domain.errors import Unauthorized


def test_api_key_is_prefix_and_32_base62_characters() -> None:
    key = new_api_key()
    assert re.fullmatch(r"aimpk_[0-9A-Za-z]{32}", key)
    assert looks_like_api_key(key)


def test_api_keys_do_not_repeat() -> None:
    assert len({new_api_key() for _ in range(1000)}) == 1000


def test_key_hash_is_sha256_hex_and_does_not_contain_the_key() -> None:
    key = new_api_key()
    digest = hash_secret(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert key[6:] not in digest
    assert hash_secret(key) == digest


def test_display_prefix_shows_four_random_characters_only() -> None:
    key = new_api_key()
    assert display_prefix(key) == key[:10]


@given(st.text(max_size=60))
def test_only_well_formed_strings_look_like_keys(text: str) -> None:
    assert looks_like_api_key(text) == bool(re.fullmatch(r"aimpk_[0-9A-Za-z]{32}", text))


def test_refresh_token_names_its_session() -> None:
    session_id = uuid.uuid4()
    assert refresh_token_session(new_refresh_token(session_id)) == session_id


# Fixed ids: parallel test processes must collect the same tests (the key is random).
@pytest.mark.parametrize(
    "token",
    ["", "aimrt_", "aimrt_zz_yy", new_api_key()],
    ids=["empty", "prefix", "short", "api-key"],
)
def test_malformed_refresh_token_is_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized):
        refresh_token_session(token)
