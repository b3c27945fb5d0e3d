"""The pure projection logic: what each read document says, and that redelivery is harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.accounts import AccountCommands
from commands.api_keys import ApiKeyCommands
from commands.event_store import EventStore
from commands.secrets import hash_secret, new_api_key
from domain.user import Role
from projections.api_keys import api_keys
from projections.base import DocumentProjection
from projections.users import users
from workers.notifications import read_after


def history(ops: list[str]) -> list[dict[str, Any]]:
    """Envelopes of a real command sequence, through a real (in-memory) event store."""
    app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    user_id = AccountCommands(app).register_user("p@example.com", "$argon2id$x", Role.CONSUMER).id
    keys: list[Any] = []
    for step, op in enumerate(ops):
        if op == "verify":
            AccountCommands(app).verify_email(user_id)
        elif op == "role":
            AccountCommands(app).change_role(user_id, Role.PUBLISHER if step % 2 else Role.CONSUMER)
        elif op == "key":
            key = new_api_key()
            keys.append(
                ApiKeyCommands(app)
                .create_api_key(
                    user_id, hash_secret(key), f"k{step}", ["inference"], key[:10], None
                )
                .id
            )
        elif op == "revoke" and keys:
            ApiKeyCommands(app).revoke_api_key(user_id, keys[-1])
        elif op == "use" and keys:
            ApiKeyCommands(app).record_api_key_use(
                keys[0], datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=step)
            )
    return [e for _, e in read_after(app, 0, 10_000)]


def fold(projection: DocumentProjection, envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    docs: dict[str, Any] = {}
    for envelope in envelopes:
        if projection.wants(envelope):
            doc_id = envelope["aggregate_id"]
            docs[doc_id] = projection.apply(docs.get(doc_id), envelope)
    return docs


def test_user_document_follows_the_account() -> None:
    (doc,) = fold(users, history(["verify", "role", "key", "key"])).values()
    assert doc["email"] == "p@example.com"
    assert (doc["verified"], doc["role"], doc["api_key_count"]) == (True, "publisher", 2)
    assert doc["_version"] == 5
    assert "password_hash" not in doc


def test_api_key_documents_never_hold_the_hash() -> None:
    docs = fold(api_keys, history(["key", "key", "revoke", "use"]))
    assert len(docs) == 2
    assert sorted(d["revoked"] for d in docs.values()) == [False, True]
    assert all("key_hash" not in d and d["prefix"].startswith("aimpk_") for d in docs.values())
    assert any(d["last_used_at"] for d in docs.values())


def test_an_event_at_or_below_the_stored_version_changes_nothing() -> None:
    envelopes = history(["verify", "role"])
    (doc,) = fold(users, envelopes).values()
    for old in envelopes:
        assert users.apply(doc, old) is doc


OPS = st.lists(st.sampled_from(["verify", "role", "key", "revoke", "use"]), max_size=12)


def redeliver(envelopes: list[Any], crashes: list[tuple[int, int]]) -> list[Any]:
    """At-least-once delivery: at each crash, after reading up to `at`, the consumer
    restarts `back` events earlier (its last committed offset) and reads on from there."""
    delivered, position = [], 0
    for at, back in sorted(crashes):
        at = max(position, min(at, len(envelopes)))
        delivered += envelopes[position:at]
        position = max(0, at - back)
    return delivered + envelopes[position:]


@settings(max_examples=40, deadline=None)
@given(OPS, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10)), max_size=6))
def test_redelivered_streams_project_like_the_deduplicated_stream(
    ops: list[str], crashes: list[tuple[int, int]]
) -> None:
    envelopes = history(ops)
    delivered = redeliver(envelopes, crashes)
    assert len(delivered) >= len(envelopes)
    for projection in (users, api_keys):
        assert fold(projection, delivered) == fold(projection, envelopes)


class GuardedStore:
    """The ReadStore contract in a dict: a change lands only if its version is newer."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Any]:
        return {i: self.docs[i] for i in doc_ids if i in self.docs}

    def apply(self, changes: list[Any]) -> None:
        for change in changes:
            stored = self.docs.get(change.doc_id)
            if stored is None or stored["_version"] < change.version:
                self.docs[change.doc_id] = {
                    **change.doc,
                    "_id": change.doc_id,
                    "_version": change.version,
                }


@settings(max_examples=40, deadline=None)
@given(
    OPS, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10)), max_size=6), st.integers(1, 7)
)
def test_a_worker_with_its_cache_ends_like_the_deduplicated_stream(
    ops: list[str], crashes: list[tuple[int, int]], batch: int
) -> None:
    """Batches through `changes`, reads served by the worker's cache, the store guarding
    versions: redelivered stretches (a relay re-sending) must not corrupt anything."""
    from workers.doc_cache import DocumentCache

    envelopes = history(ops)
    delivered = redeliver(envelopes, crashes)
    for projection in (users, api_keys):
        store = GuardedStore()
        cache = DocumentCache(store)  # type: ignore[arg-type]
        for start in range(0, len(delivered), batch):
            changes = projection.changes(
                delivered[start : start + batch], partial(cache.get_many, "c")
            )
            store.apply(changes)
            cache.remember("c", changes)
        assert store.docs == fold(projection, envelopes)
