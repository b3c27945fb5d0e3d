"""How far behind the pipeline is: for `aimarket status` and the /metrics endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.relay_ledger import PostgresRelayLedger
from projections.catalog import READ_MODELS
from projections.ports import ReadStore
from workers.embedded import TRACKER as EMBEDDED_TRACKER
from workers.notifications import last_position, read_after
from workers.topics import EVENT_TOPIC_PREFIX, partition_tracker


class PipelineMonitor:
    def __init__(
        self,
        app: Any,
        store: ReadStore,
        ledger: PostgresRelayLedger | None,
        topic_prefix: str = EVENT_TOPIC_PREFIX,
    ) -> None:
        self.app, self.store, self.ledger, self.topic_prefix = app, store, ledger, topic_prefix

    def _seconds_behind(self, applied: int, head: int) -> float:
        if applied >= head:
            return 0.0
        pending = read_after(self.app, applied, 1)
        if not pending:
            return 0.0
        occurred = datetime.fromisoformat(pending[0][1]["occurred_at"])
        return max(0.0, (datetime.now(UTC) - occurred).total_seconds())

    def _model_lag(self, name: str, head: int, sent: dict[tuple[str, int], int]) -> dict[str, Any]:
        if self.ledger is None:
            applied = self.store.position(f"{EMBEDDED_TRACKER}:{name}")
            return {
                "position": applied,
                "positions_behind": max(0, head - applied),
                "seconds_behind": round(self._seconds_behind(applied, head), 3),
            }
        topic = self.topic_prefix + READ_MODELS[name].aggregate
        # (applied, last sent) per partition of the topic this read model consumes
        partitions = [
            (self.store.position(partition_tracker(topic, partition)), last)
            for (sent_topic, partition), last in sent.items()
            if sent_topic == topic
        ]
        lagging = [applied for applied, last in partitions if applied < last]
        oldest = min(lagging) if lagging else head
        return {
            "partitions_lagging": len(lagging),
            "positions_behind": sum(max(0, last - applied) for applied, last in partitions),
            "seconds_behind": round(self._seconds_behind(oldest, head), 3),
        }

    def status(self) -> dict[str, Any]:
        head = last_position(self.app)
        report: dict[str, Any] = {"event_store_position": head}
        if self.ledger is not None:
            relayed = self.ledger.position()
            report["relay"] = {
                "position": relayed,
                "positions_behind": max(0, head - relayed),
                "seconds_behind": round(self._seconds_behind(relayed, head), 3),
            }
        sent = self.ledger.partitions() if self.ledger is not None else {}  # read once
        report["read_models"] = {name: self._model_lag(name, head, sent) for name in READ_MODELS}
        return report
