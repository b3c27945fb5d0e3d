"""The `aimarket services` commands a developer types, on the running services."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.services.registry import SERVICE_CLASSES


def services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.services", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.services("postgres")
def test_status_lists_every_service_with_its_memory(postgres_url: str) -> None:
    result = services("status")
    assert result.returncode == 0, result.stderr
    for name in SERVICE_CLASSES:
        assert name in result.stdout
    assert "total" in result.stdout and "RSS MiB" in result.stdout
    assert "AIMARKET_DATABASE_URL=" in result.stdout


def test_env_prints_exports_the_app_reads() -> None:
    result = services("env")
    assert result.returncode == 0
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert exported["AIMARKET_DATABASE_URL"].startswith("postgresql://")
    assert exported["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"].startswith("127.0.0.1:")


@pytest.mark.services("postgres")
def test_up_is_idempotent_when_already_running(postgres_url: str) -> None:
    result = services("up", "postgres")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already running" in result.stdout


def test_unknown_service_is_refused_with_the_known_names() -> None:
    result = services("up", "mysql")
    assert result.returncode != 0
    assert "postgres" in result.stdout + result.stderr
