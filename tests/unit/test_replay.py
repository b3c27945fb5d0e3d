"""Property: any valid sequence of commands replays from the event store to the same state,
at the end and at every version on the way."""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.accounts import AccountCommands
from commands.api_keys import ApiKeyCommands
from commands.event_store import EventStore
from commands.secrets import hash_secret, new_api_key
from domain.api_key import ApiKey
from domain.errors import DomainError
from domain.user import Role, User

OPERATIONS = st.sampled_from(
    [
        "verify",
        "password",
        "publisher",
        "consumer",
        "admin",
        "add_key",
        "revoke_key",
        "use_key",
        "deactivate",
    ]
)


def public_state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k not in {"_pending_events"}}


def apply(app: EventStore, user_id: Any, keys: list[Any], op: str, step: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=step)
    if op == "verify":
        AccountCommands(app).verify_email(user_id)
    elif op == "password":
        AccountCommands(app).change_password(user_id, f"$argon2id$hash-{step}")
    elif op in {"publisher", "consumer", "admin"}:
        AccountCommands(app).change_role(user_id, Role(op))
    elif op == "add_key":
        key = new_api_key()
        keys.append(
            ApiKeyCommands(app)
            .create_api_key(user_id, hash_secret(key), f"k{step}", ["inference"], key[:10], None)
            .id
        )
    elif op == "revoke_key" and keys:
        ApiKeyCommands(app).revoke_api_key(user_id, keys[-1])
    elif op == "use_key" and keys:
        ApiKeyCommands(app).record_api_key_use(keys[0], now)
    elif op == "deactivate":
        AccountCommands(app).deactivate_user(user_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPERATIONS, max_size=25))
def test_any_command_sequence_replays_to_the_same_state(ops: list[str]) -> None:
    app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    user_id = (
        AccountCommands(app).register_user("replay@example.com", "$argon2id$0", Role.CONSUMER).id
    )
    keys: list[Any] = []
    seen = {1: public_state(app.load(User, user_id))}
    for step, op in enumerate(ops):
        # A refused command (e.g. on a deactivated account) must change nothing.
        with contextlib.suppress(DomainError):
            apply(app, user_id, keys, op, step)
        user = app.load(User, user_id)
        seen[user.version] = copy.deepcopy(public_state(user))
    for version, state in seen.items():
        assert public_state(app.load(User, user_id, version=version)) == state
    for key_id in keys:
        key = app.load(ApiKey, key_id)
        assert public_state(app.load(ApiKey, key_id, version=key.version)) == public_state(key)
