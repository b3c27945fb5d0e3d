"""CI's first step: `make run` as a new user types it, on this fresh clone.

It installs the base dependencies only (no cluster, test or dev extras), starts the
embedded profile on a free port, and must then answer /v1/ready, register a user and put
the verification email in the outbox, which verifies the account. Standard library only:
it runs before anything is installed. On failure it prints the server's log and exits 1.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL_AND_START_S = 900  # a cold pip cache downloads onnxruntime, numpy and the rest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(method: str, url: str, body: dict[str, object] | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + INSTALL_AND_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"make run exited with {server.returncode} before it was ready")
        try:
            if call("GET", f"{base}/v1/ready")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise RuntimeError(f"/v1/ready did not answer 200 within {INSTALL_AND_START_S} s")


def verification_token(outbox: Path, address: str) -> str:
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            body = str(message.get_content())
            return next(line.strip() for line in body.splitlines() if line.startswith("eyJ"))
    raise RuntimeError(f"no verification email to {address} in {outbox}")


def first_session(base: str, outbox: Path) -> None:
    address, password = "smoke@example.com", "a long smoke-test passphrase"
    status, body = call(
        "POST", f"{base}/v1/auth/register", {"email": address, "password": password}
    )
    if status != 201:
        raise RuntimeError(f"register answered {status}: {body}")
    token = verification_token(outbox, address)
    status, body = call("POST", f"{base}/v1/auth/verify-email", {"token": token})
    if status != 200:
        raise RuntimeError(f"verify-email answered {status}: {body}")
    status, body = call("POST", f"{base}/v1/auth/login", {"email": address, "password": password})
    if status != 200 or "access_token" not in body:
        raise RuntimeError(f"login answered {status}")


def main() -> int:
    # A fresh clone has no .venv: use it, as the user's `make run` does. Anywhere else a
    # throwaway one, so the check never sees extras an earlier `make test` installed.
    venv = ".venv"
    if (ROOT / venv).exists():
        venv = "var/ci/run-venv"
        shutil.rmtree(ROOT / venv, ignore_errors=True)
    data = Path(tempfile.mkdtemp(prefix="aimarket-smoke-"))
    port, log_path = free_port(), data / "make-run.log"
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["make", "run", f"PORT={port}", "HOST=127.0.0.1", f"VENV={venv}"],
            cwd=ROOT,
            env={**os.environ, "AIMARKET_DATA_DIR": str(data / "var")},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so the whole group (make, aimarket) stops together
        )
        try:
            wait_until_ready(base, server)
            ready_s = time.monotonic() - started
            first_session(base, data / "var" / "outbox")
        except Exception as error:
            print(f"smoke of make run FAILED: {error}\n--- server log ---", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-20000:], file=sys.stderr)
            return 1
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
    output = log_path.read_text(errors="replace")
    if f"{base}/docs" not in output or "outbox" not in output:
        print(f"make run did not print the docs URL and the outbox:\n{output}", file=sys.stderr)
        return 1
    print(
        f"smoke of make run passed: ready after {ready_s:.0f} s (install included), "
        f"registered, verified from the outbox, logged in; {time.monotonic() - started:.0f} s"
    )
    shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
