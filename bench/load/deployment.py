"""The cluster profile as an operator runs it, each part an OS process of its own: the
API under uvicorn with 2 workers, the relay and the workers, on a fresh deployment of the
run's own (bench/cluster.fresh_cluster) against the running services."""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.cluster import fresh_cluster
from bench.gateway import free_port, wait_listening
from infra.settings import Settings
from tests.pipeline import start, stop

SERVICES = ["postgres", "redis", "kafka", "ferretdb", "opensearch", "triton"]
WORKERS = ("projections", "stats", "purchases", "metering", "inference")
STARTING_S = 3.0  # a process that cannot start (no database connection) has exited by then
# Seeding registers many accounts: a cheap password hash, no login throttle; tokens that
# outlive a long seed on a slow machine and the timed part after it.
LENIENT: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_kib": 8,
                           "login_attempts_per_client_per_minute": 10**6,
                           "inference_calls_per_minute": 10**9,
                           "access_token_ttl_s": 3600}  # fmt: skip


def load_settings() -> Settings:
    """A fresh cluster deployment calling the running Triton, usage metered through Kafka.
    Payments: the simulated provider, shared by the processes through the data directory
    (stripe-mock keeps no state and declines every charge: no purchase would complete)."""
    settings, env = fresh_cluster(SERVICES, "load", usage_sink="kafka", **LENIENT)
    return settings.model_copy(update={
        "triton_url": env["AIMARKET_TRITON_URL"],
        "triton_grpc_url": env["AIMARKET_TRITON_GRPC_URL"],
        "triton_model_repository": Path(env["AIMARKET_TRITON_MODEL_REPOSITORY"]),
    })  # fmt: skip


class Processes:
    """The deployment's processes, each stopped by `stack`; `check` says which one died."""

    def __init__(self, settings: Settings, stack: ExitStack) -> None:
        self.settings, self.stack = settings, stack
        self.logs = settings.data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, command: list[str]) -> None:
        name = "-".join(command[:2])
        process = start(command, self.settings, self.logs / f"{name}.log")
        self.stack.callback(stop, process)
        self.running[name] = process

    def check(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"`aimarket {name}` exited ({process.returncode}):\n{tail}")


def start_cluster(settings: Settings, stack: ExitStack) -> tuple[str, Processes]:
    """The API (2 uvicorn workers), the relay and the workers: the API's base URL once it
    answers, and the processes."""
    processes, port = Processes(settings, stack), free_port()
    processes.start(["api", "--port", str(port), "--workers", "2"])
    processes.start(["relay"])
    for kind in WORKERS:
        processes.start(["worker", kind])
    wait_listening(port, "/v1/health")
    time.sleep(STARTING_S)
    processes.check()
    return f"http://127.0.0.1:{port}", processes


def start_deployer_from_head(processes: Processes) -> None:
    """`aimarket worker deployer`, from the log's head on: what was published before is the
    browsing catalogue, not loaded into Triton (a Python-backend process per model would
    take the machine's memory); what is published from now on is deployed."""
    from infra.stores import open_marketplace, read_stores
    from projections.ports import Position
    from workers.deployer import POSITION_COLLECTION, TRACKER
    from workers.notifications import last_position

    head = last_position(open_marketplace(processes.settings))
    store, _ = read_stores(processes.settings)
    store.apply(POSITION_COLLECTION, [], Position(TRACKER, head))
    processes.start(["worker", "deployer"])
    time.sleep(STARTING_S)
    processes.check()
