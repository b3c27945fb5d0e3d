"""The API and the relay while their PostgreSQL stops and comes back (the chaos test's
PostgreSQL restart, alone): a request the database drops is a 503 the caller may repeat,
never a 500, the next requests are served once the database is back, and the relay
waits for it instead of exiting."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from infra.bootstrap import build_container
from infra.http.app import create_app
from infra.schema_lock import schema_lock
from infra.settings import Settings
from infra.stores import relay_ledger
from tests.chaos_services import private_postgres
from tests.pipeline import wait_until
from tests.support import ConsistentClient, login, register, verification_token

pytestmark = pytest.mark.services("postgres", "kafka", "ferretdb", "opensearch", "redis")


def test_a_request_the_stopped_database_drops_is_a_503_and_then_served_again(
    cluster_settings: Settings, tmp_path: Path
) -> None:
    with private_postgres(tmp_path / "services") as postgres:
        settings = cluster_settings.model_copy(
            update={"database_url": postgres.env()["AIMARKET_DATABASE_URL"],
                    "data_dir": tmp_path / "data"}
        )  # fmt: skip
        container = build_container(settings)
        try:
            with ConsistentClient(create_app(container), raise_server_exceptions=False) as client:
                address = register(client, "consumer")
                token = verification_token(tmp_path / "data" / "outbox", address)
                assert client.post("/v1/auth/verify-email", json={"token": token}).is_success
                # a user id given: no read of /v1/auth/me, which waits for the projections
                account = login(client, address, user_id="-")
                postgres.stop()  # fast: connections cut (a crash would lose the last
                # commits of this test-tuned server, synchronous_commit off)
                # the endpoints' table and the access token's denylist are in PostgreSQL
                dropped = client.get("/v1/webhooks/endpoints", headers=account.headers)
                assert dropped.status_code == 503, dropped.text
                assert dropped.json()["error"]["code"] == "upstream_unavailable"
                postgres.start()
                again = lambda: client.get("/v1/webhooks/endpoints", headers=account.headers)  # noqa: E731
                wait_until(lambda: again().is_success, 60, "the API serving after the restart")
        finally:
            container.close()


def test_the_relay_records_its_place_once_the_stopped_database_is_back(
    cluster_settings: Settings, tmp_path: Path
) -> None:
    """The relay's position write meets a stopped PostgreSQL: it waits for the restart
    and records, rather than ending the relay with its batch unrecorded."""
    with private_postgres(tmp_path / "services") as postgres:
        url = postgres.env()["AIMARKET_DATABASE_URL"]
        ledger = relay_ledger(cluster_settings.model_copy(update={"database_url": url}))
        assert ledger is not None
        ledger.record(3, {("t.events.user", 0): 3})
        postgres.stop()  # fast: the pool's connections cut
        back = threading.Timer(3, postgres.start)
        back.start()
        ledger.record(7, {("t.events.user", 0): 7})  # the database is down as it starts
        back.join()
        assert ledger.position() == 7 and ledger.partitions() == {("t.events.user", 0): 7}


def test_a_process_starting_while_the_database_is_away_waits_for_it(tmp_path: Path) -> None:
    """Every process takes the schema lock at start: it waits for a restarting database
    rather than exiting (the chaos test's notifier, restarted then, exited)."""
    with private_postgres(tmp_path / "services") as postgres:
        postgres.stop()
        back = threading.Timer(3, postgres.start)
        back.start()
        with schema_lock(postgres.env()["AIMARKET_DATABASE_URL"]):
            pass
        back.join()
