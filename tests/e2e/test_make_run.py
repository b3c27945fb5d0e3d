"""`aimarket run` (what `make run` starts) serves the API from a fresh data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(base: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"aimarket run did not answer /v1/health within {timeout_s} s")


class RunningServer:
    """`aimarket run` in a child process; `output` is what it printed, once stopped."""

    def __init__(self, base: str, process: subprocess.Popen[str]) -> None:
        self.base, self.process, self.output = base, process, ""


@contextmanager
def aimarket_run(env: dict[str, str], *args: str) -> Iterator[RunningServer]:
    """Start `aimarket run` on a free port with `env` (its data dir in it), wait until it
    answers, and stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra", "run", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RunningServer(f"http://127.0.0.1:{port}", process)
    try:
        wait_for_health(server.base)
        yield server
    finally:
        process.terminate()
        server.output = process.communicate(timeout=10)[0]


def test_aimarket_run_serves_register_and_health(tmp_path: Path) -> None:
    env = {**os.environ, "AIMARKET_DATA_DIR": str(tmp_path / "var")}
    with aimarket_run(env) as server:
        base = server.base
        created = httpx.post(
            f"{base}/v1/auth/register", json={"email": "run@example.com", "password": "long enough"}
        )
        assert created.status_code == 201
        assert httpx.get(f"{base}/docs").status_code == 200
        assert (tmp_path / "var" / "events.sqlite").exists()
        assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 1
    assert "API docs" in server.output
    assert "long enough" not in server.output  # the password never reaches the log


def test_cluster_profile_refuses_a_missing_secret_without_echoing_settings() -> None:
    env = {
        **os.environ,
        "AIMARKET_PROFILE": "cluster",
        "AIMARKET_DATABASE_URL": "postgresql://u:hunter2-secret@127.0.0.1:1/db",
        "AIMARKET_MONGO_URL": "mongodb://u:hunter2-secret@127.0.0.1:2/",
        "AIMARKET_OPENSEARCH_URL": "http://127.0.0.1:3",
    }
    env.pop("AIMARKET_JWT_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-m", "infra", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AIMARKET_JWT_SECRET" in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
