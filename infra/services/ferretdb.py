"""FerretDB 1.24, a MongoDB wire-protocol server built from the Go module proxy.

It stores documents in the project's PostgreSQL (database `ferretdb`), which it
brings up first if needed; pymongo talks to it as to MongoDB. PostgreSQL rather
than FerretDB's SQLite backend because there every update, delete and `$in` read
scans the whole collection (39 ms per update at 20,000 documents), while on
PostgreSQL a write by `_id` uses the index (about 3 ms whatever the size).
docs/SERVICES.md lists the MongoDB features it lacks.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
from pathlib import Path

from infra.services import installers, process
from infra.services.base import Progress, Service, ServiceError
from infra.services.postgres import BIN, Postgres

MODULE, VERSION = "github.com/FerretDB/FerretDB", "v1.24.2"
OP_MSG = 2013
DATABASE = "ferretdb"
PSQL = BIN / "psql"


class FerretDB(Service):
    name = "ferretdb"
    default_port = 57017
    ready_timeout_s = 30.0

    @property
    def binary(self) -> Path:
        return self.ctx.cache / "go-bin" / "ferretdb"

    def required_tools(self) -> dict[str, str]:
        if self.is_installed():
            return {}
        return {"go": "Go 1.22+ builds FerretDB (Debian: apt-get install golang)"}

    def is_installed(self) -> bool:
        return installers.go_binary_current(self.ctx, "ferretdb", f"{MODULE}@{VERSION}")

    def install(self, progress: Progress) -> None:
        """Build cmd/ferretdb from the module's source with its version file filled in.

        A plain `go install .../cmd/ferretdb@v1.24.2` builds a binary that
        panics at start: FerretDB, as the main module, insists on the
        generated build/version/version.txt that release builds add. Go
        refuses to overlay files in the module cache, so we build a copy.
        """
        go, env = installers.go_env(self.ctx, f"{MODULE}@{VERSION}")
        log = self.ctx.cache / "go-install.log"
        progress(f"go mod download {MODULE}@{VERSION}")
        source = _module_dir(go, env, log)
        build = self.ctx.cache / f"ferretdb-src-{VERSION}"
        if build.exists():
            shutil.rmtree(build)
        shutil.copytree(source, build, copy_function=shutil.copyfile)
        for path in [build, *build.rglob("*")]:
            if path.is_dir():  # the module cache is read-only; so is its copy's tree
                path.chmod(0o755)
        (build / "build" / "version" / "version.txt").write_text(VERSION + "\n")
        progress(f"go build ./cmd/ferretdb ({VERSION}; the first build takes minutes)")
        installers.run_logged(
            [go, "build", "-trimpath", "-o", str(self.binary), "./cmd/ferretdb"], env, log, build
        )
        shutil.rmtree(build)
        installers.mark_go_binary(self.ctx, "ferretdb", f"{MODULE}@{VERSION}")

    def start(self) -> None:
        state = self.dir / "state"
        state.mkdir(parents=True, exist_ok=True)
        process.spawn(
            [
                str(self.binary),
                f"--listen-addr=127.0.0.1:{self.port}",
                "--handler=postgresql",
                f"--postgresql-url={self._backend_url()}",
                f"--state-dir={state}",
                "--telemetry=disable",
                # Its debug/metrics HTTP listener would take port 8088 by default.
                "--debug-addr=-",
                "--log-level=warn",
            ],
            log_file=self.log_file,
            pid_file=self.ctx.pid_file(self.name),
            cwd=self.dir,
        )

    def _backend_url(self) -> str:
        """The `ferretdb` database on the project's PostgreSQL, started and created if need be."""
        postgres = Postgres(self.ctx)
        if not postgres.is_ready():
            if not postgres.is_installed():
                raise ServiceError(
                    "ferretdb stores its data in postgres: run `services up postgres`"
                )
            postgres.start()
            process.wait_until_ready(postgres)
        app_url = postgres.env()["AIMARKET_DATABASE_URL"]
        exists = subprocess.run(
            [
                str(PSQL),
                "-XtAq",
                "-c",
                f"select 1 from pg_database where datname = '{DATABASE}'",
                app_url,
            ],
            capture_output=True,
            timeout=10,
            check=True,
        )
        if exists.stdout.strip() != b"1":
            subprocess.run(
                [str(PSQL), "-Xq", "-c", f"create database {DATABASE}", app_url],
                capture_output=True,
                timeout=30,
                check=True,
            )
        return app_url.rsplit("/", 1)[0] + f"/{DATABASE}"

    def is_ready(self) -> bool:
        """Send a MongoDB `hello` as an OP_MSG and expect `ok: 1.0` back."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(_hello_message())
                header = _recv_exactly(sock, 16)
                length, _, _, opcode = struct.unpack("<iiii", header)
                body = _recv_exactly(sock, length - 16)
        except (OSError, struct.error):
            return False
        return opcode == OP_MSG and b"\x01ok\x00" + struct.pack("<d", 1.0) in body

    def stop(self) -> None:
        process.stop_pid_file(self.ctx.pid_file(self.name), timeout_s=10)

    def env(self) -> dict[str, str]:
        return {"AIMARKET_MONGO_URL": f"mongodb://127.0.0.1:{self.port}/"}


def _module_dir(go: str, env: dict[str, str], log: Path) -> Path:
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )
    if result.returncode != 0:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr)
        raise ServiceError(
            f"go mod download {MODULE}@{VERSION} failed; see {log}:\n" + process.tail(log, 10)
        )
    return Path(json.loads(result.stdout)["Dir"])


def _bson_hello() -> bytes:
    elements = (
        b"\x10hello\x00"
        + struct.pack("<i", 1)
        + b"\x02$db\x00"
        + struct.pack("<i", len(b"admin") + 1)
        + b"admin\x00"
    )
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def _hello_message() -> bytes:
    # flagBits 0, one section of kind 0 holding the command document.
    payload = struct.pack("<I", 0) + b"\x00" + _bson_hello()
    return struct.pack("<iiii", 16 + len(payload), 1, 0, OP_MSG) + payload


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks += chunk
    return bytes(chunks)
