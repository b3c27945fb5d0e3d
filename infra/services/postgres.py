"""PostgreSQL 15 from Debian's packages, as our own cluster under var/services/postgres.

Tuned for tests, not for durability: fsync and synchronous commit are off,
so a crash of the machine can lose the last commits; never point it at data
you want to keep.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from functools import cached_property
from pathlib import Path

from infra.services import installers, process
from infra.services.base import Progress, Service, ServiceError

BIN = Path("/usr/lib/postgresql/15/bin")
USER = PASSWORD = DATABASE = "aimarket"
# PostgreSQL refuses to run as root; as root we hand the cluster to this OS user.
OS_USER = "postgres"
# A unix socket path longer than this does not fit in sockaddr_un (108 bytes).
MAX_SOCKET_PATH = 100


class Postgres(Service):
    name = "postgres"
    default_port = 55432
    ready_timeout_s = 60.0

    @property
    def run_as(self) -> str | None:
        return OS_USER if os.geteuid() == 0 else None

    @cached_property
    def data_dir(self) -> Path:
        """The cluster: under the service dir, unless the postgres user cannot reach it."""
        inside = self.dir / "data"
        if self.run_as is None or _reachable_by(self.dir, self.run_as):
            return inside
        # e.g. a checkout under /root (mode 700): keep the cluster outside,
        # one per checkout, and leave a link in the service dir to find it.
        digest = hashlib.sha1(str(self.ctx.root).encode()).hexdigest()[:10]
        return Path(f"/var/tmp/aimarket-{digest}/postgres/data")

    @property
    def socket_dir(self) -> Path:
        return self.data_dir.parent / "run"

    def required_tools(self) -> dict[str, str]:
        if (BIN / "postgres").exists():
            return {}
        return {"apt-get": "PostgreSQL 15 comes from Debian's package postgresql-15 (run as root)"}

    def is_installed(self) -> bool:
        return (BIN / "postgres").exists() and (self.data_dir / ".aimarket-ready").exists()

    def install(self, progress: Progress) -> None:
        if not (BIN / "postgres").exists():
            installers.apt_install(["postgresql-15"], progress, self.dir / "apt.log")
        if (self.data_dir / ".aimarket-ready").exists():
            return
        self._init_cluster(progress)

    def _init_cluster(self, progress: Progress) -> None:
        data = self.data_dir
        if data.exists():  # a half-made cluster from an interrupted install
            shutil.rmtree(data)
        self.dir.mkdir(parents=True, exist_ok=True)
        for path in (data, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._chown(path)
        if data != self.dir / "data":
            link = self.dir / "data"
            link.unlink(missing_ok=True)
            link.symlink_to(data)
            progress(f"cluster kept in {data} ({self.dir} is not reachable by {self.run_as})")
        pwfile = data.parent / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        self._chown(pwfile)
        progress(f"initdb {data}")
        # The bootstrap superuser is our app's role, so no separate CREATE ROLE.
        self._run_pg(
            [
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        pwfile.unlink()
        progress(f"create database {DATABASE}")
        # Single-user mode: no server, no port, no password needed yet.
        self._run_pg(
            [str(BIN / "postgres"), "--single", "-D", str(data), "template1"],
            stdin=f"CREATE DATABASE {DATABASE};\n",
        )
        (data / ".aimarket-ready").write_text("initdb and database done\n")

    def start(self) -> None:
        sockets = str(self.socket_dir)
        if len(sockets) + len("/.s.PGSQL.00000") > MAX_SOCKET_PATH:
            sockets = ""  # path too long for a socket: TCP only
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": sockets,
            # Speed over durability: this cluster holds test and dev data only.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
            # Every process of the whole system (tests/e2e/test_whole_system.py) has its
            # pools, beside the session's own workers: 200 ran out when test runs overlapped.
            "max_connections": "400",
            "logging_collector": "off",
            "log_checkpoints": "off",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        process.spawn(
            [str(BIN / "postgres"), "-D", str(self.data_dir), *options],
            log_file=self.log_file,
            pid_file=self.ctx.pid_file(self.name),
            cwd=self.data_dir,
            env=_env(),
            user=self.run_as,
        )

    def is_ready(self) -> bool:
        # A real login with the app's credentials into the app's database.
        try:
            result = subprocess.run(
                [str(BIN / "psql"), "-XtAq", "-c", "select 1", self.env()["AIMARKET_DATABASE_URL"]],
                capture_output=True,
                timeout=5,
                env={**_env(), "PGCONNECT_TIMEOUT": "2"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0 and result.stdout.strip() == b"1"

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for clients.
        process.stop_pid_file(
            self.ctx.pid_file(self.name), sig=signal.SIGINT, timeout_s=30, group=False
        )

    def env(self) -> dict[str, str]:
        url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"
        return {"AIMARKET_DATABASE_URL": url}

    def _chown(self, path: Path) -> None:
        if self.run_as is not None:
            shutil.chown(path, self.run_as, self.run_as)

    def _run_pg(self, cmd: list[str], stdin: str | None = None) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            result = subprocess.run(
                cmd,
                input=(stdin or "").encode(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(),
                user=self.run_as,
                group=self.run_as,
                extra_groups=[] if self.run_as else None,
                cwd="/",
                check=False,
            )
        if result.returncode != 0:
            raise ServiceError(
                f"`{' '.join(cmd[:2])}` failed (exit {result.returncode}); see {self.log_file}:\n"
                + process.tail(self.log_file, 10)
            )


def _env() -> dict[str, str]:
    # A clean environment: PG* variables of the caller must not leak into our cluster.
    return {"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}


def _reachable_by(path: Path, user: str) -> bool:
    """Can `user` enter `path` (every parent needs search permission)?"""
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["test", "-x", str(path)],
            user=user,
            group=user,
            extra_groups=[],
            check=False,
            capture_output=True,
        )
    except OSError:
        return False
    return result.returncode == 0
