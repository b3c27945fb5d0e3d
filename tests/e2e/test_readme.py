"""The README's "A first session" is pasted into a shell against a live `aimarket run`:
the very lines a new user copies, so the README cannot drift from the API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.test_make_run import aimarket_run

ROOT = Path(__file__).resolve().parents[2]


def first_session_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first session", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "A first session should be one block a user pastes whole"
    return str(blocks[0])


def test_the_readme_first_session_runs_as_pasted(tmp_path: Path) -> None:
    env = {**os.environ, "AIMARKET_DATA_DIR": str(tmp_path / "var")}
    with aimarket_run(env) as server:
        base = server.base
        (tmp_path / "docs").symlink_to(ROOT / "docs")  # the block runs from a checkout
        shell = {**env, "BASE": base, "OUTBOX": "var/outbox", "PY": sys.executable}
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", first_session_block()],
            cwd=tmp_path,
            env=shell,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert '"outputs":{"y":[[40.0,50.0]]}' in done.stdout  # [1, 2, 3, 4] @ W, called
        assert '"cost":{"units":1,"amount":0,"currency":"USD"}' in done.stdout
        model = httpx.get(f"{base}/v1/models", params={"q": "tiny"}).json()
        assert [m["slug"] for m in model["items"]] == ["tiny-matmul"]
