"""The user's commands (`aimarket login|whoami|keys|models|push|infer|jobs|usage`) against
a live server on both profiles, through the SDK: the login kept 0600, a real ONNX model
pushed and published, called from a .npy file and compared with onnxruntime, JSON output
for scripts, and the exit codes (0 done, 1 API error, 2 usage error, 3 auth)."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from infra.bootstrap import Container
from infra.cli import app
from infra.cli_user_common import config_path
from infra.http.app import create_app
from infra.settings import Settings
from tests.inference_support import affine_model, on_triton, run_directly, wait_deployed
from tests.sdk_support import WEIGHTS, X, model_file
from tests.serving import serving
from tests.support import PASSWORD, verified_account


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    return on_triton(settings, profile, request)


class Cli:
    def __init__(self, base_url: str, home: Path) -> None:
        self.env = {"AIMARKET_URL": base_url, "XDG_CONFIG_HOME": str(home),
                    "AIMARKET_PASSWORD": PASSWORD, "AIMARKET_API_KEY": ""}  # fmt: skip
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, **env: str) -> Any:
        result = self.runner.invoke(app, list(args), env={**self.env, **env})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


def test_a_publisher_logs_in_pushes_publishes_and_calls_a_model_from_the_command_line(
    client: TestClient, container: Container, outbox: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, role="publisher")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    with serving(create_app(container)) as base_url:
        cli = Cli(base_url, tmp_path / "config")
        cli("whoami", code=3)  # not logged in yet
        cli("login", "--email", publisher.email)
        assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
        assert cli.json("whoami")["email"] == publisher.email

        pushed = cli.json("push", str(model_file(tmp_path)), "--model", slug,
                          "--version", "1.0.0", "--publish")  # fmt: skip
        assert pushed["status"] == "validated", pushed
        assert wait_deployed(container, pushed["id"]) == "deployed"
        shown = cli.json("models", "show", slug)
        assert [(v["version"], v["status"]) for v in shown["versions"]] == [("1.0.0", "published")]
        assert slug in {m["slug"] for m in cli.json("models", "search", "--mine")["items"]}

        np.save(tmp_path / "x.npy", X)
        called = cli.json("infer", slug, "--input", f"x=@{tmp_path / 'x.npy'}")
        np.testing.assert_allclose(called["outputs"]["y"], run_directly(affine_model(WEIGHTS), X),
                                   atol=1e-6)  # fmt: skip
        table = cli("infer", slug, "--input", f"x={json.dumps(X.tolist())}").stdout
        assert "version 1.0.0" in table and "[2, 64]" in table
        cli("infer", slug, "--input", "x=[[1, 2]]", code=1)  # 422 invalid_input_tensor
        cli("infer", slug, code=2)  # no input
        assert "days" in cli.json("usage") and isinstance(cli.json("jobs"), list)
        _keys(cli)
        cli("logout")
        cli("whoami", code=3)
        cli("whoami", code=3, AIMARKET_API_KEY="aimpk_" + "x" * 32)


def _keys(cli: Cli) -> None:
    made = cli.json("keys", "create", "ci", "--scope", "inference", "--scope", "models:read")
    assert made["key"].startswith("aimpk_")
    assert made["id"] in {k["id"] for k in cli.json("keys", "list")}
    as_key = json.loads(cli("whoami", "--json", AIMARKET_API_KEY=made["key"]).stdout)
    assert as_key["id"] == cli.json("whoami")["id"]
    cli("keys", "revoke", made["id"])
    assert made["id"] not in {k["id"] for k in cli.json("keys", "list")}
