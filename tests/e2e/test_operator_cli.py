"""The operator's commands, on both profiles: event history, past state, rebuild, verify,
status. They run as `python -m infra ...`, as an operator types them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.user import Role
from infra.bootstrap import Container, build_container
from infra.settings import Settings
from projections.catalog import READ_MODELS
from tests.pipeline import running_pipeline, settings_env, wait_until
from workers.rebuild import all_documents


@pytest.fixture
def operated(profile: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if profile == "embedded":
        return Settings(profile="embedded", data_dir=tmp_path)
    cluster: Settings = request.getfixturevalue("cluster_settings")
    tag = f"o{uuid.uuid4().hex[:8]}"
    return cluster.model_copy(
        update={
            "database_url": request.getfixturevalue("fresh_database_url"),
            "mongo_database": tag,
            "search_prefix": tag,
            "event_topic_prefix": f"{tag}.events.",
        }
    )


@pytest.fixture
def written(operated: Settings, tmp_path: Path) -> Iterator[Container]:
    """A few accounts, projected into the live read models: by the embedded runner, or by
    the real relay and projection worker of the cluster profile."""
    container = build_container(operated)
    for i in range(12):
        user = container.account_commands.register_user(
            f"op{i}-{uuid.uuid4().hex[:6]}@example.com", "$x", Role.CONSUMER
        )
        container.account_commands.change_role(user.id, Role.PUBLISHER)
    head = container.app.recorder.max_notification_id() or 0
    with contextlib.ExitStack() as stack:
        if container.read.runner is not None:
            container.read.runner.run_until_idle()
        else:
            stack.enter_context(running_pipeline(operated, tmp_path / "pipeline"))
            wait_until(lambda: container.read.progress.reached(head), 60, "the pipeline")
        yield container
    container.close()


def aimarket(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_events_show_and_state_at_a_past_version(operated: Settings, written: Container) -> None:
    user_id = next(iter(all_documents(written.read.store, "users")))
    shown = aimarket(operated, "events", "show", user_id)
    assert shown.returncode == 0, shown.stderr
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [e["type"] for e in lines] == ["User.Registered", "User.RoleChanged"]
    assert lines[0]["data"]["password_hash"] == "[redacted]"
    past = json.loads(aimarket(operated, "events", "state", user_id, "--version", "1").stdout)
    assert (past["version"], past["state"]["role"]) == (1, "consumer")


def test_rebuild_swaps_in_an_identical_copy(operated: Settings, written: Container) -> None:
    before = all_documents(written.read.store, "users")
    rebuilt = aimarket(operated, "projections", "rebuild", "all")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "users: 24 events" in rebuilt.stdout and "events/s" in rebuilt.stdout
    assert all_documents(written.read.store, "users") == before
    assert written.read.store.collections("users__") == []  # the scratch copy was swapped in
    some = next(iter(before.values()))
    written.read.search.refresh("users")  # OpenSearch shows writes after a refresh (1 s)
    hits = written.read.search.search("users", some["email"].split("@")[0])
    assert [h.doc_id for h in hits][:1] == [some["_id"]]


def test_verify_finds_a_tampered_document(operated: Settings, written: Container) -> None:
    assert "users: 0 differences" in aimarket(operated, "projections", "verify", "users").stdout
    victim = next(iter(all_documents(written.read.store, "users").values()))
    from projections.ports import DocChange

    tampered = {k: v for k, v in victim.items() if not k.startswith("_")} | {"role": "admin"}
    written.read.store.apply("users", [DocChange(victim["_id"], victim["_version"] + 1, tampered)])
    failed = aimarket(operated, "projections", "verify", "users")
    assert failed.returncode == 1
    # The read model differs from the events, and the search index fed from it now
    # differs from the read model: both are reported.
    assert "users: 2 differences" in failed.stdout, failed.stdout
    assert f"users index: {victim['_id']}" in failed.stdout, failed.stdout


def test_status_reports_positions_and_lag(operated: Settings, written: Container) -> None:
    status = json.loads(aimarket(operated, "status").stdout)
    assert status["profile"] == operated.profile
    assert status["event_store_position"] == written.app.recorder.max_notification_id()
    assert set(status["read_models"]) == set(READ_MODELS)
    if operated.profile == "embedded":
        assert status["read_models"]["users"]["positions_behind"] == 0


def test_unknown_read_model_is_refused(operated: Settings) -> None:
    refused = aimarket(operated, "projections", "rebuild", "nope")
    assert refused.returncode == 2 and "users" in refused.stderr


def test_events_tail_prints_events_as_json_lines(operated: Settings, written: Container) -> None:
    tail = subprocess.Popen(
        [sys.executable, "-m", "infra", "events", "tail", "--after", "0"],
        env={**os.environ, **settings_env(operated)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stdout is not None
        first, second = json.loads(tail.stdout.readline()), json.loads(tail.stdout.readline())
    finally:
        tail.kill()
        tail.wait()
    assert (first["position"], first["type"]) == (1, "User.Registered")
    assert second["position"] > first["position"]
