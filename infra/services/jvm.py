"""Java and Maven for the JVM services (Kafka, OpenSearch).

Both run on the machine's own Java 17 and take their code from Maven Central
through `mvn`, so downloads are cached in ~/.m2 like any other Maven build.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.services.base import ServiceError
from infra.services.installers import run_logged

JAVA_HOW = "apt-get install -y openjdk-17-jre-headless (Java 17 or newer)"
MVN_HOW = "apt-get install -y maven"
MIN_JAVA = 11


def java_home() -> Path:
    """The JDK/JRE home of the `java` on PATH (JAVA_HOME wins when it is set and valid)."""
    env_home = os.environ.get("JAVA_HOME")
    if env_home and (Path(env_home) / "bin" / "java").exists():
        return Path(env_home)
    java = shutil.which("java")
    if java is None:
        raise ServiceError(f"java not found: {JAVA_HOW}")
    # /usr/bin/java -> /etc/alternatives/java -> <home>/bin/java
    return Path(java).resolve().parent.parent


def java_major(home: Path) -> int:
    """The feature release of the Java in `home` (8, 11, 17, ...)."""
    out = subprocess.run(
        [str(home / "bin" / "java"), "-version"], capture_output=True, text=True, check=False
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        raise ServiceError(f"could not read the version of {home / 'bin' / 'java'}: {out.stderr}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> Path:
    """The Java home to run our servers with, or a ServiceError saying what to install."""
    home = java_home()
    major = java_major(home)
    if major < MIN_JAVA:
        raise ServiceError(
            f"Java {major} at {home} is too old for Kafka 3.9 and OpenSearch 2: "
            f"{JAVA_HOW}, or point JAVA_HOME at one"
        )
    return home


def mvn(args: list[str], log_file: Path, what: str) -> None:
    """Run `mvn -B <args>` with its output appended to `log_file`; fail naming the log."""
    exe = shutil.which("mvn")
    if exe is None:
        raise ServiceError(f"mvn not found: {MVN_HOW}; it downloads {what} from Maven Central")
    env = dict(os.environ)
    env.setdefault("JAVA_HOME", str(java_home()))
    run_logged(
        [exe, "-B", "-q", *args],
        env,
        log_file,
        hint=f"Maven could not fetch {what}: check that Maven Central is reachable "
        "(proxy settings in ~/.m2/settings.xml).",
    )


@contextmanager
def install_lock(lock_file: Path) -> Iterator[None]:
    """One installer at a time per service: two `services up` at once (two shells, a test
    session and a developer) would otherwise fill the same staging folder together."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
