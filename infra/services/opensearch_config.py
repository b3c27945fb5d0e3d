"""The config folder our OpenSearch node runs with (OPENSEARCH_PATH_CONF).

Written on every start from the distribution's own files plus our settings,
so a port override or a new distribution version takes effect on restart.
"""

from __future__ import annotations

import json
from pathlib import Path

# Everything to stdout, which the service manager appends to opensearch.log;
# no rolling JSON files under logs/. The header_warning appender keeps
# deprecation warnings in HTTP responses, as in the stock config.
LOG4J2 = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console

appender.header_warning.type = HeaderWarningAppender
appender.header_warning.name = header_warning
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = deprecation
logger.deprecation.appenderRef.header_warning.ref = header_warning
logger.deprecation.additivity = false
"""

# Lines of the stock jvm.options we replace: the heap (ours is set below), GC
# logs and heap dumps written relative to the distribution folder, which the
# server's user cannot write (and 512 MB dumps we do not want).
_DROPPED = (
    "-Xms",
    "-Xmx",
    "-Xlog:gc",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-XX:HeapDumpPath",
    "-XX:ErrorFile",
    "-Xloggc",
    "-XX:+PrintGC",
    "-XX:+UseGCLogFileRotation",
    "-XX:NumberOfGCLogFiles",
    "-XX:GCLogFileSize",
)


def _settings(
    data: Path, logs: Path, http_port: int, transport_port: int, with_security: bool
) -> dict[str, str]:
    settings = {
        "cluster.name": "aimarket",
        "node.name": "aimarket-1",
        "path.data": str(data),
        "path.logs": str(logs),
        "network.host": "127.0.0.1",
        "http.port": str(http_port),
        "transport.port": str(transport_port),
        # One node that elects itself; bootstrap checks stay in development mode.
        "discovery.type": "single-node",
        "bootstrap.memory_lock": "false",
        # Disks on shared machines run near full; the watermarks would then
        # turn new indices red or read-only.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        "action.auto_create_index": "true",
    }
    if with_security:
        # Only the full distribution has the plugin; an unknown key fails the start.
        settings["plugins.security.disabled"] = "true"
    return settings


def _jvm_options(home: Path, logs: Path, heap: str) -> str:
    stock = (home / "config" / "jvm.options").read_text().splitlines()
    kept = [
        line
        for line in stock
        if not line.split(":", 1)[-1].strip().startswith(_DROPPED)
        and not line.strip().startswith(_DROPPED)
    ]
    # No pre-touch: the heap's pages are then resident only once used, which
    # keeps the machine's memory for the other services while this one is idle.
    ours = [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:-AlwaysPreTouch",
        f"-XX:ErrorFile={logs}/hs_err_pid%p.log",
    ]
    return "\n".join(["# written by infra/services/opensearch_config.py", *ours, *kept]) + "\n"


def write_config(
    home: Path,
    config: Path,
    *,
    data: Path,
    logs: Path,
    http_port: int,
    transport_port: int,
    heap: str,
) -> None:
    """Fill `config` with opensearch.yml, jvm.options and log4j2.properties."""
    config.mkdir(parents=True, exist_ok=True)
    (config / "jvm.options.d").mkdir(exist_ok=True)
    with_security = (home / "plugins" / "opensearch-security").is_dir()
    settings = _settings(data, logs, http_port, transport_port, with_security)
    # JSON strings are valid YAML scalars, so paths with odd characters stay safe.
    yml = "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())
    (config / "opensearch.yml").write_text(
        "# written by infra/services/opensearch_config.py\n" + yml
    )
    (config / "jvm.options").write_text(_jvm_options(home, logs, heap))
    (config / "log4j2.properties").write_text(LOG4J2)
