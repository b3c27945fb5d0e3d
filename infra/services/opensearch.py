"""OpenSearch 2.x, single node, from the integ-test distribution zip on Maven Central.

`org.opensearch.distribution.integ-test-zip:opensearch:<v>:zip` is the
smallest OpenSearch distribution: no bundled JDK (it runs on the machine's
Java 17), no security plugin, only the transport-netty4 module; we add the
modules an app expects (opensearch_modules.py). It is unpacked once into
var/cache/opensearch/; config, data and logs live under
var/services/opensearch/. OpenSearch refuses to run as root, so a root
session runs it as a system user (see unprivileged.py).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import ClassVar

from infra.services.base import Progress, Service, ServiceError
from infra.services.jvm import JAVA_HOW, MVN_HOW, install_lock, mvn, require_java
from infra.services.opensearch_config import write_config
from infra.services.opensearch_modules import POM as MODULES_POM
from infra.services.opensearch_modules import install_modules, modules_installed
from infra.services.process import port_open, read_pid, spawn, stop_pid_file
from infra.services.unprivileged import chown_tree, ensure_user, make_reachable, run_as

OPENSEARCH_VERSION = "2.19.6"  # the newest 2.x that runs on Java 17
ARTIFACT = f"org.opensearch.distribution.integ-test-zip:opensearch:{OPENSEARCH_VERSION}:zip"
HEAP = "512m"


class OpenSearch(Service):
    name: ClassVar[str] = "opensearch"
    default_port: ClassVar[int] = 59200  # HTTP; the transport port is this plus 100
    ready_timeout_s: ClassVar[float] = 120.0

    @property
    def transport_port(self) -> int:
        return self.port + 100

    @property
    def _cache(self) -> Path:
        return self.ctx.cache / "opensearch"

    @property
    def home(self) -> Path:
        """The unpacked distribution (read-only for the server)."""
        return self._cache / f"opensearch-{OPENSEARCH_VERSION}"

    @property
    def _marker(self) -> Path:
        return self._cache / "installed.json"

    @property
    def _pid_file(self) -> Path:
        return self.ctx.pid_file(self.name)

    def _writable_dirs(self) -> list[Path]:
        """What the server writes: config (it creates its keystore there), data, logs, tmp."""
        return [self.dir / sub for sub in ("config", "data", "logs", "tmp")]

    def required_tools(self) -> dict[str, str]:
        return {"java": JAVA_HOW, "mvn": MVN_HOW}

    def is_installed(self) -> bool:
        return self._unpacked() and modules_installed(self.home)

    def _unpacked(self) -> bool:
        try:
            marker = json.loads(self._marker.read_text())
        except (OSError, ValueError):
            return False
        return bool(
            marker.get("opensearch") == OPENSEARCH_VERSION
            and (self.home / "bin" / "opensearch").exists()
        )

    def install(self, progress: Progress) -> None:
        with install_lock(self.ctx.cache / "opensearch.lock"):
            self._install(progress)

    def _install(self, progress: Progress) -> None:
        if self.is_installed():
            progress(f"opensearch: {OPENSEARCH_VERSION} already installed in {self.home}")
        else:
            require_java()
            self.dir.mkdir(parents=True, exist_ok=True)
            if not self._unpacked():
                self._fetch_and_unpack(progress)
            progress(
                "opensearch: adding the lang-painless, analysis-common, reindex and "
                "mapper-extras modules (Maven)"
            )
            install_modules(
                self.home, OPENSEARCH_VERSION, self._cache / "modules.partial", self.log_file
            )
        user = run_as()
        if user is not None:
            progress(f"opensearch: refuses to run as root, so it runs as system user {user}")
            ensure_user(user)
            for folder in make_reachable([self.home, self.dir]):
                progress(f"opensearch: let {user} pass through {folder} (chmod o+x)")

    def _fetch_and_unpack(self, progress: Progress) -> None:
        self._marker.unlink(missing_ok=True)
        archive = self._cache / f"opensearch-{OPENSEARCH_VERSION}.zip"
        progress(f"opensearch: fetching {ARTIFACT} with Maven (about 55 MB, cached in ~/.m2)")
        # -f: the modules' pom pins the dependency plugin's version.
        mvn(
            [
                "-f",
                str(MODULES_POM),
                "dependency:copy",
                f"-Dartifact={ARTIFACT}",
                f"-DoutputDirectory={self._cache}",
            ],
            self.log_file,
            f"OpenSearch {OPENSEARCH_VERSION}",
        )
        progress(f"opensearch: unpacking into {self.home}")
        _unpack(archive, self._cache, self.home)
        archive.unlink()  # ~/.m2 keeps the download; no second copy
        self._marker.write_text(json.dumps({"opensearch": OPENSEARCH_VERSION}) + "\n")

    def start(self) -> None:
        if read_pid(self._pid_file) is not None:
            return
        if not self.is_installed():
            raise ServiceError("opensearch is not installed: run `aimarket services up opensearch`")
        for port in (self.port, self.transport_port):
            if port_open(port):
                raise ServiceError(
                    f"port {port} is already in use by another process, so opensearch cannot "
                    "listen there; stop it or set AIMARKET_SERVICES_OPENSEARCH_PORT (opensearch "
                    "uses that port and that port + 100)"
                )
        java_home = require_java()
        config, data, logs, tmp = self._writable_dirs()
        for folder in self._writable_dirs():
            folder.mkdir(parents=True, exist_ok=True)
        write_config(
            self.home,
            config,
            data=data,
            logs=logs,
            http_port=self.port,
            transport_port=self.transport_port,
            heap=HEAP,
        )
        user = run_as()
        if user is not None:
            ensure_user(user)
            make_reachable([self.home, self.dir])
            chown_tree(user, self._writable_dirs())
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENSEARCH_", "JAVA_"))},
            "OPENSEARCH_JAVA_HOME": str(java_home),
            "OPENSEARCH_PATH_CONF": str(config),
            "OPENSEARCH_TMPDIR": str(tmp),
            "OPENSEARCH_JAVA_OPTS": f"-Xms{HEAP} -Xmx{HEAP}",
            "HOME": str(self.dir),
        }
        spawn(
            [str(self.home / "bin" / "opensearch")],
            log_file=self.log_file,
            pid_file=self._pid_file,
            cwd=self.dir,
            env=env,
            user=user,
        )

    def is_ready(self) -> bool:
        """The cluster reports green or yellow (yellow: replicas of 1 cannot be placed)."""
        url = f"http://127.0.0.1:{self.port}/_cluster/health?wait_for_status=yellow&timeout=1s"
        try:
            with urllib.request.urlopen(url, timeout=3.0) as response:
                health = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return health.get("status") in ("green", "yellow")

    def stop(self) -> None:
        stop_pid_file(self._pid_file, timeout_s=30.0)

    def env(self) -> dict[str, str]:
        return {"AIMARKET_OPENSEARCH_URL": f"http://127.0.0.1:{self.port}"}


def _unpack(archive: Path, into: Path, home: Path) -> None:
    """Unzip keeping the executable bits (zipfile drops them), readable by every user."""
    shutil.rmtree(home, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, into))
            unix_mode = (info.external_attr >> 16) & 0o777
            if info.is_dir():
                target.chmod(0o755)
            else:
                target.chmod(0o755 if unix_mode & 0o111 else 0o644)
    # Folders made implicitly by extract() follow our umask; the server's user must read them.
    for folder, _, _ in os.walk(home):
        os.chmod(folder, 0o755)
    if not (home / "bin" / "opensearch").exists():
        raise ServiceError(
            f"{archive} did not contain opensearch-{OPENSEARCH_VERSION}/bin/; "
            f"delete it and run the install again"
        )
