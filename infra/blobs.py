"""Model artifacts on disk, addressed by content: `<root>/sha256/ab/cd/<hex>`, read-only
once written, durable (file and name fsynced) before any event names them.

Both profiles use it (the cluster profile on a volume every API process shares); an
S3-compatible store can take the BlobStore port's place later. Uploads wait in the
staging area (infra/staging.py) until they are checked and moved in here.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        match = _DIGEST.fullmatch(digest)
        if match is None:
            raise ValueError(f"not a sha256 digest: {digest!r}")
        hex_digest = match.group(1)
        return self.root / "sha256" / hex_digest[:2] / hex_digest[2:4] / hex_digest

    def put_file(self, path: Path, digest: str) -> bool:
        target = self.path_of(digest)
        if target.exists():
            path.unlink()
            return False
        created = _make_dirs(target.parent)
        with path.open("rb") as source:  # durable before any event names the digest
            os.fsync(source.fileno())
        path.chmod(0o444)
        try:
            # A hard link is "create if absent" in one step: two uploads of the same bytes
            # at once both succeed, and one of them stores them.
            os.link(path, target)
        except FileExistsError:
            return False
        except OSError:  # another file system (AIMARKET_BLOB_DIR elsewhere): copy, then link
            stored = self._copy_in(path, target)
        else:
            stored = True
        finally:
            path.unlink(missing_ok=True)
        # The new name, and any directory made for it, durable too.
        for directory in (target.parent, *(made.parent for made in created)):
            _fsync_dir(directory)
        return stored

    def _copy_in(self, path: Path, target: Path) -> bool:
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(path, temporary)
            with temporary.open("rb") as copy:
                os.fsync(copy.fileno())
            temporary.chmod(0o444)
            os.link(temporary, target)
            return True
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)

    def open(self, digest: str) -> BinaryIO:
        return self.path_of(digest).open("rb")

    def exists(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path_of(digest).stat().st_size

    def delete(self, digest: str) -> None:
        self.path_of(digest).unlink(missing_ok=True)

    def count(self) -> int:
        """How many blobs are stored (operators' figure, and tests')."""
        return sum(1 for p in (self.root / "sha256").glob("*/*/*") if p.is_file())


def _make_dirs(directory: Path) -> list[Path]:
    """mkdir -p; the directories it made."""
    missing = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    directory.mkdir(parents=True, exist_ok=True)
    return missing


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
