"""Apache Kafka 3.9 in KRaft combined mode (one node is broker and controller).

No distribution tarball: the broker's jars come from Maven Central through
`kafka-pom.xml` into var/cache/kafka/libs, and we run `java -cp 'libs/*'
kafka.Kafka server.properties` ourselves, as bin/kafka-server-start.sh would.
Kafka 3.9 rather than 4.x, so that aiokafka (under faust-streaming) finds
every protocol version it asks for.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import ClassVar

from infra.services.base import Progress, Service, ServiceError
from infra.services.installers import run_logged
from infra.services.jvm import JAVA_HOW, MVN_HOW, install_lock, mvn, require_java
from infra.services.kafka_config import server_properties
from infra.services.kafka_probe import broker_ids
from infra.services.process import port_open, read_pid, spawn, stop_pid_file

KAFKA_VERSION = "3.9.2"
HERE = Path(__file__).resolve().parent
POM = HERE / "kafka-pom.xml"
LOG4J = HERE / "kafka-log4j.properties"
NODE_ID = 1
# The flags bin/kafka-server-start.sh and kafka-run-class.sh pass, heap 512 MB.
JVM_OPTS = (
    "-Xms512m",
    "-Xmx512m",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


class Kafka(Service):
    name: ClassVar[str] = "kafka"
    default_port: ClassVar[int] = 59092  # PLAINTEXT; the KRaft controller takes the next one
    ready_timeout_s: ClassVar[float] = 180.0  # a restart replays its log; slow on a busy machine

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def libs(self) -> Path:
        return self.ctx.cache / "kafka" / "libs"

    @property
    def _marker(self) -> Path:
        return self.ctx.cache / "kafka" / "installed.json"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def _pid_file(self) -> Path:
        return self.ctx.pid_file(self.name)

    def required_tools(self) -> dict[str, str]:
        return {"java": JAVA_HOW, "mvn": MVN_HOW}

    def is_installed(self) -> bool:
        try:
            marker = json.loads(self._marker.read_text())
        except (OSError, ValueError):
            return False
        return bool(marker.get("kafka") == KAFKA_VERSION and self._broker_jar().exists())

    def _broker_jar(self) -> Path:
        return self.libs / f"kafka_2.13-{KAFKA_VERSION}.jar"

    def install(self, progress: Progress) -> None:
        with install_lock(self.ctx.cache / "kafka.lock"):
            self._install(progress)

    def _install(self, progress: Progress) -> None:
        if self.is_installed():
            progress(f"kafka: {KAFKA_VERSION} already installed in {self.libs}")
            return
        require_java()
        self.dir.mkdir(parents=True, exist_ok=True)
        # Collect into a fresh folder and swap it in, so an interrupted or
        # version-changing install never leaves two Kafka versions on the classpath.
        staging = self.libs.with_name("libs.partial")
        shutil.rmtree(staging, ignore_errors=True)
        progress(
            f"kafka: fetching kafka_2.13 {KAFKA_VERSION} and its dependencies "
            "with Maven (about 50 MB, cached in ~/.m2)"
        )
        mvn(
            [
                "-f",
                str(POM),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            self.log_file,
            f"Kafka {KAFKA_VERSION}",
        )
        if not (staging / self._broker_jar().name).exists():
            raise ServiceError(
                f"Maven ran but {self._broker_jar().name} is missing from "
                f"{staging}; see {self.log_file}"
            )
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)
        self._marker.write_text(json.dumps({"kafka": KAFKA_VERSION}) + "\n")
        progress(f"kafka: installed {len(list(self.libs.glob('*.jar')))} jars in {self.libs}")

    def _cluster_id(self) -> str:
        """Made once per data dir: a Kafka Uuid is 16 random bytes, base64url, unpadded."""
        path = self.dir / "cluster.id"
        if not path.exists():
            raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            path.write_text(raw + "\n")
        return path.read_text().strip()

    def _write_config(self) -> Path:
        config = self.dir / "server.properties"
        config.write_text(
            server_properties(NODE_ID, self.port, self.controller_port, self.data_dir)
        )
        return config

    def _java(self, main: str, *args: str, opts: tuple[str, ...] = JVM_OPTS) -> list[str]:
        java = require_java() / "bin" / "java"
        return [
            str(java),
            *opts,
            f"-Dlog4j.configuration=file:{LOG4J}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def _format_storage(self, config: Path) -> None:
        """KRaft needs its log dir formatted once with the cluster id before the first start."""
        if (self.data_dir / "meta.properties").exists():
            return
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self._cluster_id(),
            "-c",
            str(config),
            "--ignore-formatted",
            opts=("-Xmx256m", "-XX:+UseSerialGC"),
        )
        run_logged(cmd, os.environ, self.log_file, timeout_s=180)

    def start(self) -> None:
        if read_pid(self._pid_file) is not None:
            return
        if not self.is_installed():
            raise ServiceError("kafka is not installed: run `aimarket services up kafka`")
        for port in (self.port, self.controller_port):
            if port_open(port):
                raise ServiceError(
                    f"port {port} is already in use by another process, so kafka cannot "
                    f"listen there; stop it or set AIMARKET_SERVICES_KAFKA_PORT (kafka uses "
                    f"that port and the next)"
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format_storage(config)
        spawn(
            self._java("kafka.Kafka", str(config)),
            log_file=self.log_file,
            pid_file=self._pid_file,
            cwd=self.dir,
        )

    def is_ready(self) -> bool:
        """The broker answers a Metadata request and lists itself (it is unfenced)."""
        return NODE_ID in broker_ids("127.0.0.1", self.port)

    def stop(self) -> None:
        # SIGTERM makes a controlled shutdown (flushes logs, writes the clean
        # shutdown marker), so the next start skips log recovery.
        stop_pid_file(self._pid_file, timeout_s=30.0)

    def env(self) -> dict[str, str]:
        return {"AIMARKET_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.port}"}
