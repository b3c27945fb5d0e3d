"""What /metrics serves: the process's registry, or every worker's when several uvicorn
workers share PROMETHEUS_MULTIPROC_DIR, plus the pipeline's positions read at scrape time;
and the relay's and each worker's own metrics, on a port of their own when one is set.

Multiprocess mode: prometheus-client picks its value class when first imported, from
PROMETHEUS_MULTIPROC_DIR, so the process that starts the workers sets the variable (and
empties the directory: files of a previous run would be summed in) before any worker
imports it (`prepare_multiprocess_dir`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from infra.monitor import PipelineMonitor
from infra.settings_observability import ObservabilitySettings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """A fresh directory for this run's metric files, named in the environment the
    workers inherit; a previous run's directories are removed."""
    root = data_dir / "prometheus"
    shutil.rmtree(root, ignore_errors=True)
    path = root / uuid.uuid4().hex
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


class PipelineCollector(Collector):
    """PipelineMonitor's figures as gauges (names as the hand-written text had them)."""

    def __init__(self, monitor: PipelineMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        status = self.monitor.status()
        yield GaugeMetricFamily(
            "aimarket_event_store_position",
            "The event store's last notification id",
            value=status["event_store_position"],
        )
        if "relay" in status:
            relay = status["relay"]
            yield GaugeMetricFamily(
                "aimarket_relay_position", "The last notification relayed to Kafka",
                value=relay["position"],
            )  # fmt: skip
            yield GaugeMetricFamily(
                "aimarket_relay_seconds_behind", "Age of the oldest event not yet relayed",
                value=relay["seconds_behind"],
            )  # fmt: skip
        for figure, text in (
            ("positions_behind", "Events a read model has still to apply"),
            ("seconds_behind", "Age of the oldest event a read model has still to apply"),
        ):
            gauge = GaugeMetricFamily(f"aimarket_projection_{figure}", text, labels=["projection"])
            for name, lag in status["read_models"].items():
                gauge.add_metric([name], lag[figure])
            yield gauge


def render(monitor: PipelineMonitor) -> bytes:
    """The exposition text (Prometheus text format 0.0.4)."""
    pipeline = CollectorRegistry(auto_describe=False)
    pipeline.register(PipelineCollector(monitor))
    return application_metrics() + generate_latest(pipeline)


def application_metrics() -> bytes:
    """This process's metrics, or every worker's in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def serve_process_metrics(settings: ObservabilitySettings) -> str | None:
    """This process's metrics on AIMARKET_METRICS_HOST:AIMARKET_METRICS_PORT, from a daemon
    thread (for the relay and the workers, which have no /metrics); the address, or None
    when no port is set. An address in use raises OSError."""
    if settings.metrics_port is None:
        return None
    start_http_server(settings.metrics_port, settings.metrics_host)
    return f"{settings.metrics_host}:{settings.metrics_port}"
