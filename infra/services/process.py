"""Process plumbing shared by the services: spawn, probe, measure, stop.

Every service runs as a detached process in its own session, so that it
outlives the `aimarket services up` command and a stop can signal its whole
process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra.services.base import Service, ServiceError

# Children started by this Python process. Holding the Popen objects lets a
# long-lived caller (the pytest plugin) reap them after a stop, instead of
# leaving zombies that still look alive to `kill(pid, 0)`.
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    cmd: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
) -> int:
    """Start `cmd` detached, stdout and stderr appended to `log_file`; return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user else None,
            )
        except OSError as exc:
            raise ServiceError(f"could not run {cmd[0]}: {exc}") from exc
    _children[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as dead (and is reaped if it is ours)."""
    child = _children.get(pid)
    if child is not None:  # our own child: waitpid knows best, and reaps it
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process still runs, else None (stale file removed)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def stop_pid_file(
    pid_file: Path, *, sig: int = signal.SIGTERM, timeout_s: float = 20.0, group: bool = True
) -> bool:
    """Send `sig`, wait up to `timeout_s`, then SIGKILL the process group.

    Returns False when nothing was running. `group=False` signals only the
    main process first (PostgreSQL wants its postmaster alone signalled).
    """
    pid = read_pid(pid_file)
    if pid is None:
        return False
    _signal(pid, sig, group)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        _signal(pid, signal.SIGKILL, True)
        while pid_alive(pid):
            time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file ('' when there is none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def wait_until_ready(service: Service, timeout_s: float | None = None) -> float:
    """Poll `service.is_ready()` until it answers; return the seconds waited.

    Fails early when the service's process has exited, and on timeout, with
    the log file named and its last lines quoted.
    """
    limit = service.ready_timeout_s if timeout_s is None else timeout_s
    pid_file = service.ctx.pid_file(service.name)
    started = time.monotonic()
    delay = 0.05
    while True:
        if service.is_ready():
            return time.monotonic() - started
        waited = time.monotonic() - started
        if pid_file.exists() and read_pid(pid_file) is None:
            raise _not_ready(service, "exited during start-up")
        if waited > limit:
            raise _not_ready(service, f"was not ready after {limit:.0f}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def _not_ready(service: Service, what: str) -> ServiceError:
    last = tail(service.log_file, 15)
    quoted = "\n".join(f"    {line}" for line in last.splitlines()) or "    (log is empty)"
    return ServiceError(
        f"{service.name} {what}; see {service.log_file} "
        f"(`aimarket services logs {service.name}`). Last lines:\n{quoted}"
    )


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total_kib = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        total_kib += _vm_rss_kib(current)
    return total_kib / 1024


def _vm_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind host:port now (nothing else holds it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_ports_free(name: str, ports: list[int], timeout_s: float = 20.0) -> None:
    """Wait for a previous instance (or its children) to let go of our ports; a server
    started too early dies with "address already in use"."""
    deadline = time.monotonic() + timeout_s
    busy = [p for p in ports if not port_bindable(p)]
    while busy and time.monotonic() < deadline:
        time.sleep(0.2)
        busy = [p for p in busy if not port_bindable(p)]
    if busy:
        raise ServiceError(
            f"{name}: ports {busy} are still in use by another process; find it with "
            f"`ss -ltnp | grep {busy[0]}`, stop it, or move {name} with "
            f"AIMARKET_SERVICES_{name.upper().replace('-', '_')}_PORT"
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free right now (for listeners we must give a port)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
