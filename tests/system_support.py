"""The whole marketplace as an operator runs it, for tests/e2e: on the cluster profile
the API under uvicorn with two workers, the relay and every worker as separate processes;
embedded, `aimarket run`. And what a person reads from outside: emails from a real SMTP
server (aiosmtpd)."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import cast

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from infra.settings import Settings
from tests.pipeline import settings_env, start, stop
from tests.serving import free_port

# Every long-running process the cluster profile has, by its command line.
WORKERS = ("projections", "partner-feed", "stats", "purchases", "metering", "deployer",
           "inference", "notifier", "webhooks", "billing")  # fmt: skip


class Inbox(Message):
    """A real SMTP server's mailbox: every message it accepted."""

    def __init__(self) -> None:
        super().__init__(message_class=email.message.EmailMessage)
        self.messages: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)

    def token_for(self, address: str, timeout_s: float = 30) -> str:
        """The token in the newest verification email to `address`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if message["To"] == address:
                    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
                    body = cast(bytes, text.get_payload(decode=True)).decode()
                    return next(x for x in body.splitlines() if x.startswith("eyJ"))
            time.sleep(0.1)
        raise AssertionError(f"no email to {address} reached the SMTP server")


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def wait_healthy(base_url: str, api: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert api.poll() is None, f"the API exited: {log.read_text(errors='replace')[-3000:]}"
        try:
            if httpx.get(f"{base_url}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the API did not become healthy in 120 s")


class System:
    """The deployment's processes while they run, by name (api, relay, each worker)."""

    def __init__(self, settings: Settings, logs: Path, commands: dict[str, list[str]]) -> None:
        self.settings, self.logs, self.commands = settings, logs, commands
        self.base_url = str(settings.public_base_url)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exited: list[str] = []  # processes found dead when about to be killed

    def start(self, name: str) -> None:
        self.processes[name] = start(self.commands[name], self.settings, self.logs / f"{name}.log")

    def kill_and_restart(self, name: str) -> None:
        """SIGKILL (no shutdown, no flush), then the same command again, as a supervisor
        would. One that had exited on its own is noted in `exited`."""
        if (code := self.processes[name].poll()) is not None:
            self.exited.append(f"{name} (exit {code})")
        stop(self.processes[name], kill=True)
        self.start(name)

    def stop_all(self) -> None:
        for process in reversed(self.processes.values()):
            stop(process)


@contextmanager
def system_processes(settings: Settings, logs: Path) -> Iterator[System]:
    """`running_system`'s processes, for a test that kills and restarts them: each must
    be running (the first or its restart) on the way out."""
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    if settings.profile == "embedded":  # `aimarket run`: one process, workers inside
        commands = {"api": ["run", "--port", str(port)]}
    else:
        commands = {"api": ["api", "--port", str(port), "--workers", "2"], "relay": ["relay"]}
        commands |= {name: ["worker", name] for name in WORKERS}
    system = System(settings, logs, commands)
    with ExitStack() as stack:
        stack.callback(system.stop_all)
        for name in commands:
            system.start(name)
        wait_healthy(system.base_url, system.processes["api"], logs / "api.log")
        yield system
        died = [name for name, process in system.processes.items() if process.poll() is not None]
        for name in died or commands:
            print(f"--- {name} ---\n{(logs / f'{name}.log').read_text(errors='replace')[-2000:]}")
        assert not died, f"processes that exited while the system ran: {died}"


@contextmanager
def running_system(settings: Settings, logs: Path) -> Iterator[str]:
    """The API (cluster: 2 uvicorn workers, the relay and every worker, each its own
    process); yields the API's base URL. On the way out each process must still be running (a
    crash fails the test) and the logs' tails are printed (shown when a test fails)."""
    with system_processes(settings, logs) as system:
        yield system.base_url


def operator(settings: Settings, *args: str) -> str:
    """`aimarket ARGS` as an operator types it against this deployment; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "infra", *args],
        env={**os.environ, **settings_env(settings)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
