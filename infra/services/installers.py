"""Install steps shared by the services: Debian packages and Go programs.

Each step logs its output to a file and, on failure, raises ServiceError
quoting the end of that log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra.services.base import Progress, ServiceContext, ServiceError
from infra.services.process import tail

_apt_updated = False


def apt_install(packages: Sequence[str], progress: Progress, log_file: Path) -> None:
    """`apt-get install -y` Debian packages (after one `apt-get update` per process).

    Package scripts must not start the system-wide servers (we run our own
    instances), so a policy-rc.d that forbids it is put in place while we
    install, unless the machine already has one.
    """
    global _apt_updated
    if not shutil.which("apt-get"):
        raise ServiceError(
            f"apt-get not found: install {' '.join(packages)} with your package manager"
        )
    if os.geteuid() != 0:
        raise ServiceError(
            f"installing {' '.join(packages)} needs root: sudo apt-get install -y "
            f"{' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# written by aimarket services while installing\nexit 101\n")
        policy.chmod(0o755)
    try:
        if not _apt_updated:
            progress("apt-get update")
            run_logged(["apt-get", *lock, "update"], env, log_file)
            _apt_updated = True
        progress(f"apt-get install -y {' '.join(packages)}")
        run_logged(
            ["apt-get", *lock, "install", "-y", "--no-install-recommends", *packages], env, log_file
        )
    finally:
        if ours:
            policy.unlink(missing_ok=True)


def go_install(module: str, binary: str, ctx: ServiceContext, progress: Progress) -> Path:
    """`go install module@version` into var/cache/go-bin; return the binary's path.

    Sources stay in the Go module cache and builds in the Go build cache, so
    a rebuild after var/ was wiped is quick.
    """
    go, env = go_env(ctx, module)
    progress(f"go install {module}")
    run_logged([go, "install", module], env, ctx.cache / "go-install.log")
    path = ctx.cache / "go-bin" / binary
    if not path.exists():
        raise ServiceError(f"go install {module} did not produce {path}")
    mark_go_binary(ctx, binary, module)
    return path


def go_binary_current(ctx: ServiceContext, binary: str, module: str) -> bool:
    """Is var/cache/go-bin/<binary> there and built from exactly `module@version`?"""
    path = ctx.cache / "go-bin" / binary
    stamp = path.with_name(f"{binary}.module")
    return path.exists() and stamp.exists() and stamp.read_text().strip() == module


def mark_go_binary(ctx: ServiceContext, binary: str, module: str) -> None:
    """Record which module@version built the binary, so a new pin rebuilds it."""
    (ctx.cache / "go-bin" / f"{binary}.module").write_text(module + "\n")


def go_env(ctx: ServiceContext, what: str) -> tuple[str, dict[str, str]]:
    """The go executable and the environment our Go builds run with."""
    go = shutil.which("go")
    if go is None:
        raise ServiceError(
            f"go not found: install Go 1.22 or newer (Debian: apt-get install "
            f"golang), then rerun; it builds {what}"
        )
    gobin = ctx.cache / "go-bin"
    gobin.mkdir(parents=True, exist_ok=True)
    # CGO off: our Go servers are pure Go, so no C compiler is needed.
    env = {**os.environ, "GOBIN": str(gobin), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    return go, env


def run_logged(
    cmd: list[str],
    env: Mapping[str, str],
    log_file: Path,
    cwd: Path | None = None,
    timeout_s: float | None = None,
    hint: str = "",
) -> None:
    """Run an install step to completion, output appended to `log_file`; raise on failure
    with the log's last lines and `hint` (what to check next)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        result = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            check=False,
            timeout=timeout_s,
        )
    if result.returncode != 0:
        last = "\n".join(f"    {line}" for line in tail(log_file, 15).splitlines())
        raise ServiceError(
            f"`{' '.join(cmd)}` failed (exit {result.returncode}); see {log_file}:\n{last}"
            + (f"\n{hint}" if hint else "")
        )
