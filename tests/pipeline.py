"""The cluster profile's pipeline processes for a test session: the relay, a projection
worker and the stats worker, started as an operator would (`aimarket relay`,
`aimarket worker projections`, `aimarket worker stats`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The AIMARKET_* variables that reproduce `settings` in a child process."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        # Nested settings (a rate limit's route class) are read back from JSON.
        env[f"AIMARKET_{name.upper()}"] = json.dumps(raw) if isinstance(raw, dict) else str(raw)
    return env


def start(command: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "infra", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], kill: bool = False) -> None:
    if process.poll() is None:
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_pipeline(
    settings: Settings, logs: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    logs.mkdir(parents=True, exist_ok=True)
    processes = {
        "relay": start(["relay"], settings, logs / "relay.log"),
        "worker": start(["worker", "projections"], settings, logs / "worker.log"),
        "stats": start(["worker", "stats"], settings, logs / "stats.log"),
    }
    time.sleep(0.5)
    for name, process in processes.items():
        if process.poll() is not None:
            raise AssertionError(f"{name} exited at start: {(logs / f'{name}.log').read_text()}")
    try:
        yield processes
    finally:
        for process in processes.values():
            stop(process)


def flowing(settings: Settings, timeout_s: float = 180) -> None:
    """Return once an event written now has reached the read models: the relay and the
    workers have started and joined their groups (slow on a busy machine), so the first
    test to use them does not pay for it against its own timeouts."""
    from commands.accounts import AccountCommands
    from domain.user import Role
    from infra.stores import open_marketplace, read_stores

    app = open_marketplace(settings)
    try:
        user = AccountCommands(app).register_user(f"warm-{uuid.uuid4().hex}@example.com",
                                                  "$x", Role.CONSUMER)  # fmt: skip
    finally:
        app.close()
    store, _ = read_stores(settings)
    wait_until(lambda: store.get("users", str(user.id)) is not None, timeout_s,
               "the pipeline's first event in the read models")  # fmt: skip


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextmanager
def running_deployer(settings: Settings, logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`aimarket worker deployer`, from the log's head on: versions published before it
    started (other tests' models) are not deployed onto the shared Triton."""
    from infra.stores import open_marketplace, read_stores
    from projections.ports import Position
    from workers.deployer import POSITION_COLLECTION, TRACKER

    app = open_marketplace(settings)
    store, _ = read_stores(settings)
    store.apply(POSITION_COLLECTION, [], Position(TRACKER, app.recorder.max_notification_id() or 0))
    app.close()
    logs.mkdir(parents=True, exist_ok=True)
    process = start(["worker", "deployer"], settings, logs / "deployer.log")
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def running_worker(settings: Settings, kind: str, logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`aimarket worker <kind>` as an operator starts it, stopped when the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{kind}.log"
    process = start(["worker", kind], settings, log)
    try:
        yield process
    finally:
        died = process.poll()
        stop(process)
        # pytest shows this only when the test fails: what the worker said, for the reader
        print(f"--- {kind} worker log (tail) ---\n{log.read_text(errors='replace')[-4000:]}")
    assert died is None, f"the {kind} worker exited during the test ({died}): see its log above"


@contextmanager
def rolling_up(container: Any, settings: Settings) -> Iterator[None]:
    """The usage roll-up running: embedded, the container's own thread; cluster,
    `aimarket worker metering`'s runner for the block."""
    if container.usage_rollup is not None:
        yield
        return
    from infra.usage.wiring import build_metering_worker

    worker = build_metering_worker(settings)
    worker.start()
    try:
        yield
    finally:
        worker.stop()
