"""Create our topics on start, and refuse to run against ones laid out differently."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


class TopicMismatch(RuntimeError):
    pass


def ensure_topics(
    bootstrap: str, names: list[str], partitions: int, retention_ms: int, timeout_s: float = 30
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout_s).topics
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
