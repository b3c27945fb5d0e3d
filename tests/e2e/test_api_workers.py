"""`aimarket api --workers 2`: each worker builds its own app, and /metrics, whichever
worker answers it, counts the requests every worker served (one multiprocess directory,
emptied at start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_make_run import free_port, wait_for_health


def health_requests(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "aimarket_http_requests_total" and sample.labels["route"] == (
                "/v1/health"
            ):
                return sample.value
    return 0.0


def test_two_workers_metrics_are_summed_whichever_answers(tmp_path: Path) -> None:
    data = tmp_path / "var"
    stale = data / "prometheus" / "old-run"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left by a previous run")
    env = {**os.environ, "AIMARKET_DATA_DIR": str(data)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra", "api", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, timeout_s=180)  # two apps built at once on a busy machine
        for _ in range(30):  # a new connection each, so both workers take some
            assert httpx.get(f"{base}/v1/health").status_code == 200
        seen = {health_requests(httpx.get(f"{base}/metrics").text) for _ in range(8)}
        assert seen == {31.0}  # 30 and the first successful health probe
        [run] = (data / "prometheus").iterdir()
        assert run.name != "old-run"
        assert len({f.name.split("_")[1] for f in run.glob("counter_*.db")}) == 2  # two pids
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "2 workers" in output
