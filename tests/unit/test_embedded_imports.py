"""`make run` installs no cluster extras: the embedded profile must build and serve without
them. The import-linter contract checks the static imports; this runs the real thing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CLUSTER_ONLY = (
    "faust", "confluent_kafka", "aiokafka", "pymongo", "opensearchpy", "redis", "stripe",
    "tritonclient",
)  # fmt: skip

SERVE_ONE_REQUEST = textwrap.dedent(
    """
    import sys
    for name in {blocked!r}:
        sys.modules[name] = None  # as if not installed: importing it raises ImportError

    from fastapi.testclient import TestClient

    from infra.http.app import create_app
    from infra.bootstrap import build_container
    from infra.settings import Settings

    settings = Settings(profile="embedded", data_dir={data_dir!r}, argon2_time_cost=1,
                        argon2_memory_kib=8)
    container = build_container(settings)
    container.start_runner()
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/v1/ready").status_code == 200
            registered = client.post(
                "/v1/auth/register",
                json={{"email": "fresh@example.com", "password": "a long passphrase"}},
            )
            assert registered.status_code == 201, registered.text
    finally:
        container.close()
    loaded = sorted(name for name in {blocked!r} if sys.modules.get(name) is not None)
    assert not loaded, loaded
    print("served")
    """
)


def test_embedded_profile_serves_with_every_cluster_package_missing(tmp_path: Path) -> None:
    script = SERVE_ONE_REQUEST.format(blocked=CLUSTER_ONLY, data_dir=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("served")
