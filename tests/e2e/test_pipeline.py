"""The whole cluster pipeline as operators run it: relay and workers as processes, killed
with SIGKILL mid-stream, restarted, then checked against a rebuild from the event store."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commands.accounts import AccountCommands
from commands.api_keys import ApiKeyCommands
from commands.event_store import EventStore
from commands.secrets import hash_secret, new_api_key
from domain.user import Role
from infra.bootstrap import Container, build_container
from infra.settings import Settings
from tests.pipeline import settings_env, start, stop, wait_until

pytestmark = pytest.mark.services("postgres", "kafka", "ferretdb", "opensearch")


@pytest.fixture
def own_cluster(cluster_settings: Settings, fresh_database_url: str) -> Settings:
    """A cluster of this test's own (database, topics, read store, group): it kills things."""
    tag = f"c{uuid.uuid4().hex[:8]}"
    return cluster_settings.model_copy(
        update={
            "database_url": fresh_database_url,
            "mongo_database": tag,
            "search_prefix": tag,
            "event_topic_prefix": f"{tag}.events.",
            "worker_group": f"{tag}-projections",
            "partner_feed_key": None,
        }
    )


@pytest.fixture
def container(own_cluster: Settings) -> Iterator[Container]:
    built = build_container(own_cluster)
    yield built
    built.close()


def cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_load(app: EventStore, stop_at: threading.Event, written: list[int]) -> None:
    """Commands as fast as one thread goes: accounts, keys, role changes, revocations."""
    i = 0
    while not stop_at.is_set():
        user = AccountCommands(app).register_user(
            f"load-{uuid.uuid4().hex[:10]}@example.com", "$x", Role.CONSUMER
        )
        key = new_api_key()
        key_id = (
            ApiKeyCommands(app)
            .create_api_key(user.id, hash_secret(key), f"k{i}", ["inference"], key[:10], None)
            .id
        )
        AccountCommands(app).change_role(user.id, Role.PUBLISHER)
        written.append(
            ApiKeyCommands(app).revoke_api_key(user.id, key_id).position if i % 3 == 0 else 0
        )
        i += 1


def test_killed_relay_and_worker_recover_and_match_a_fresh_rebuild(
    own_cluster: Settings, container: Container, tmp_path: Path
) -> None:
    relay = start(["relay"], own_cluster, tmp_path / "relay.log")
    worker = start(["worker", "projections"], own_cluster, tmp_path / "worker.log")
    stop_load, written = threading.Event(), []
    load = threading.Thread(target=write_load, args=(container.app, stop_load, written))
    load.start()
    try:
        time.sleep(2)
        stop(relay, kill=True)  # SIGKILL mid-stream: no chance to flush or record
        relay = start(["relay"], own_cluster, tmp_path / "relay.log")
        time.sleep(2)
        stop(worker, kill=True)
        worker = start(["worker", "projections"], own_cluster, tmp_path / "worker.log")
        time.sleep(2)
    finally:
        stop_load.set()
        load.join()
    try:
        head = container.app.recorder.max_notification_id() or 0
        assert head > 100, "the load should have written a good number of events"
        wait_until(lambda: container.read.progress.reached(head), 90, "projections to catch up")
        verified = cli(own_cluster, "projections", "verify", "all")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "users: 0 differences" in verified.stdout
        assert "api_keys: 0 differences" in verified.stdout
        status = json.loads(cli(own_cluster, "status").stdout)
        assert status["relay"]["positions_behind"] == 0
    finally:
        stop(relay)
        stop(worker)


def test_partner_sees_public_events_with_its_own_consumer_group(
    own_cluster: Settings, container: Container, tmp_path: Path
) -> None:
    import asyncio

    from aiokafka import AIOKafkaConsumer

    from workers.notifications import read_after
    from workers.partner_feed import to_public

    key = "p" * 40
    feed = own_cluster.model_copy(update={"partner_feed_key": key})
    relay = start(["relay"], feed, tmp_path / "relay.log")
    worker = start(["worker", "partner-feed"], feed, tmp_path / "feed.log")
    email = f"partner-{uuid.uuid4().hex[:8]}@example.com"
    user = container.account_commands.register_user(email, "$x", Role.PUBLISHER)
    container.account_commands.verify_email(user.id)
    expected = [to_public(e, key=key.encode()) for _, e in read_after(container.app, 0, 100)]
    wanted = {e.value["id"] for e in expected if e is not None}
    assert len(wanted) == 2

    async def consume() -> list[dict[str, Any]]:
        # A plain aiokafka consumer: nothing of the project's code helps the partner.
        consumer = AIOKafkaConsumer(
            "aimarket.public.v1.accounts",
            bootstrap_servers=feed.kafka_bootstrap_servers,
            group_id=f"partner-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        found: dict[str, dict[str, Any]] = {}
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not wanted <= found.keys():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = json.loads(record.value)
                        found[event["id"]] = event
        finally:
            await consumer.stop()
        return [found[i] for i in wanted if i in found]

    try:
        mine = asyncio.run(consume())
    finally:
        stop(relay)
        stop(worker)
    assert {e["type"] for e in mine} == {"account.registered", "account.verified"}
    text = json.dumps(mine)
    assert email not in text and str(user.id) not in text
