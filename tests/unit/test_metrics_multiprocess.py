"""Several worker processes, one /metrics: what each records lands in the run's
PROMETHEUS_MULTIPROC_DIR, and the exporter sums them; a new run starts from nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.metrics_export import MULTIPROC_ENV, application_metrics, prepare_multiprocess_dir

WORKER = """
from infra.metrics import observe_request
for _ in range({n}):
    observe_request("/v1/things/{{thing_id}}", "GET", 200, 0.003)
"""


def requests_counted(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "aimarket_http_requests_total"
                and sample.labels["route"] == "/v1/things/{thing_id}"
            ):
                return sample.value
    return 0.0


def run_worker(requests: int) -> None:
    subprocess.run(
        [sys.executable, "-c", WORKER.format(n=requests)],
        check=True,
        env=dict(os.environ),
        cwd=Path(__file__).parents[2],
        timeout=60,
    )


def test_workers_counts_are_summed_and_a_new_run_starts_from_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    first = prepare_multiprocess_dir(tmp_path)
    assert os.environ[MULTIPROC_ENV] == str(first) and first.is_dir()
    run_worker(3)
    run_worker(4)
    assert len(list(first.glob("*.db"))) >= 2  # one file per worker process
    assert requests_counted(application_metrics().decode()) == 7
    second = prepare_multiprocess_dir(tmp_path)
    assert not first.exists() and second != first
    assert requests_counted(application_metrics().decode()) == 0
    run_worker(1)
    assert requests_counted(application_metrics().decode()) == 1
