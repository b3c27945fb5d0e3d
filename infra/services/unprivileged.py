"""Running a server that refuses root (OpenSearch) from a root session.

CI and our machines run as root. Such a server runs as a dedicated system
user instead: it must own the folders it writes and be able to reach them.
When we are not root there is nothing to do: the server runs as we do.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

from infra.services.base import ServiceError

SERVICE_USER = "aimarket-svc"


def run_as() -> str | None:
    """The user to run a root-refusing server as: ours when root, else None (ourselves)."""
    return SERVICE_USER if os.geteuid() == 0 else None


def ensure_user(user: str) -> None:
    """Create `user` (a system account with its own group, no login, no home) if missing."""
    try:
        pwd.getpwnam(user)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    if not Path(useradd).exists():
        raise ServiceError(
            f"useradd not found: create a system user {user!r} (apt-get install -y passwd)"
        )
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            user,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise ServiceError(f"could not create system user {user!r}: {result.stderr.strip()}")


def chown_tree(user: str, paths: Iterable[Path]) -> None:
    """Give `user` every file and folder under `paths` (created if missing)."""
    entry = pwd.getpwnam(user)
    for top in paths:
        top.mkdir(parents=True, exist_ok=True)
        os.chown(top, entry.pw_uid, entry.pw_gid)
        for folder, dirs, files in os.walk(top):
            for name in (*dirs, *files):
                os.lchown(os.path.join(folder, name), entry.pw_uid, entry.pw_gid)


def make_reachable(paths: Iterable[Path]) -> list[Path]:
    """Add the search (x) bit for others on each ancestor of `paths` that lacks it.

    Only traversal is granted, not listing: a folder such as /root (0700)
    becomes 0701. Returns the folders changed, so the caller can say so.
    """
    changed: list[Path] = []
    for path in paths:
        for folder in reversed(path.resolve().parents):
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
                changed.append(folder)
    return changed
