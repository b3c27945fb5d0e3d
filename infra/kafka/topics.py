"""Create our topics on start, and refuse to run against ones laid out differently."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


class TopicMismatch(RuntimeError):
    pass


def ensure_topics(
    bootstrap: str,
    names: list[str],
    partitions: int,
    retention_ms: int,
    timeout_s: float = 30,
    broker_wait_s: float = 300,
) -> None:
    """Create the missing topics; a broker that is away (restarting) when a process
    starts is waited for up to `broker_wait_s` rather than ending the process."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = _topics_when_reachable(admin, timeout_s, broker_wait_s)
    for name in names:
        if name in existing:
            have = len(existing[name].partitions)
            if have != partitions:
                raise TopicMismatch(
                    f"topic {name} has {have} partitions but AIMARKET_EVENT_PARTITIONS is "
                    f"{partitions}: per-aggregate order depends on the key->partition mapping, "
                    "so set AIMARKET_EVENT_PARTITIONS to match (or recreate the topic)"
                )
    missing = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=1,
            config={"retention.ms": str(retention_ms)},
        )
        for name in names
        if name not in existing
    ]
    if not missing:
        return
    for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except Exception as error:  # created meanwhile by another process is fine
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise TopicMismatch(f"could not create topic {name}: {error}") from error
    leaders_known(admin, [topic.topic for topic in missing], timeout_s)


def _topics_when_reachable(admin: AdminClient, timeout_s: float, wait_s: float) -> Any:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return admin.list_topics(timeout=timeout_s).topics
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def leaders_known(client: Any, names: list[str], timeout_s: float = 30) -> None:
    """Return once every partition of `names` has a leader (`client`: an AdminClient or a
    Producer). A consumer that joins its group before then may be given none of a fresh
    topic's partitions, and learn of them only at its next metadata refresh."""
    deadline = time.monotonic() + timeout_s
    waiting = list(names)
    while waiting:
        found = client.list_topics(waiting[0], timeout=timeout_s).topics.get(waiting[0])
        if found and found.partitions and all(p.leader >= 0 for p in found.partitions.values()):
            waiting.pop(0)
            continue
        if time.monotonic() > deadline:
            raise TopicMismatch(f"topic {waiting[0]} has partitions without a leader")
        time.sleep(0.05)
