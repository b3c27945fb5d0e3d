"""Crash and recovery: the whole cluster (tests/system_support.py) under a scripted load of
purchases, inference calls, jobs, reviews and model edits while the relay and each worker
are SIGKILLed at seeded moments and restarted, and a Kafka (SIGKILL) and a PostgreSQL
(fast stop) of the test's own (tests/chaos_services.py) are each restarted once. Once the load has
drained, every invariant of tests/chaos_checks.py must hold.

Seeded: `CHAOS_SEED` (else a random one), printed at the start and in every failure;
`CHAOS_COMMANDS` sets the load's length (`make chaos` runs a longer one)."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.load.deployment import LENIENT
from infra.bootstrap import pipeline_status
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.chaos_checks import (
    jobs_ended_once,
    ledger_balanced,
    purchases_settled,
    rows,
    usage_counted_once,  # fmt: skip
    webhooks_once,
)
from tests.chaos_load import Cast, Consumer, Observed, Player, script
from tests.chaos_services import Private, private_services
from tests.e2e.test_pipeline import cli
from tests.e2e.test_whole_system import published_and_deployed, signed_up
from tests.integration.test_webhooks import Receiver, receiving
from tests.sdk_support import sdk_for
from tests.support import ConsistentHttp
from tests.system_support import WORKERS, Inbox, System, smtp_server, system_processes

pytestmark = pytest.mark.services("postgres", "kafka", "ferretdb", "opensearch", "redis", "triton")
SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(10**6))
COMMANDS = int(os.environ.get("CHAOS_COMMANDS") or 2000)
CONSUMERS, DECLINING = 10, 3  # the last DECLINING consumers' charges all fail
PAYS, DECLINES = "4242424242424242", "4000000000000341"  # the second: saved, then declined
VICTIMS = ("relay", *WORKERS, "kafka", "postgres")
Schedule = list[tuple[float, str]]  # (at which step, whom to crash)


@pytest.fixture
def deployment(
    tmp_path: Path, cluster_inference_settings: Settings
) -> Iterator[tuple[Settings, Private, Private]]:
    """A deployment of the test's own on a PostgreSQL and a Kafka of its own (they are
    crashed); read stores, search, Redis and Triton shared, under names of its own."""
    tag = f"x{uuid.uuid4().hex[:8]}"
    with private_services(tmp_path / "services") as (postgres, kafka):
        settings = cluster_inference_settings.model_copy(update={
            "database_url": postgres.env()["AIMARKET_DATABASE_URL"],
            "kafka_bootstrap_servers": kafka.env()["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"],
            "mongo_database": tag, "search_prefix": tag, "event_topic_prefix": f"{tag}.events.",
            "worker_group": f"{tag}-group", "job_topic": f"{tag}.jobs", "usage_sink": "kafka",
            "usage_topic": f"{tag}.usage", "rate_limits": "off", "partner_feed_key": "k" * 40,
            "data_dir": tmp_path / "data", "webhook_allowed_hosts": "127.0.0.1",
            # A job a killed inference worker held is taken up 20 s on; the shared Redis
            # of a busy machine answers the auth routes' limiter late.
            "job_lease_s": 20.0, "rate_limit_timeout_s": 2.0, **LENIENT,
        })  # fmt: skip
        yield settings, postgres, kafka


def test_the_marketplace_survives_crashes_under_load(
    deployment: tuple[Settings, Private, Private], tmp_path: Path
) -> None:
    print(f"chaos seed {SEED} (CHAOS_SEED={SEED} repeats it), {COMMANDS} commands")
    rng, started = random.Random(SEED), time.monotonic()
    ours, postgres, kafka = deployment
    with smtp_server() as (inbox, smtp_port), receiving(Receiver()) as hooks:
        settings = ours.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port})
        with system_processes(settings, tmp_path / "logs") as system:
            cast = cast_of(system.base_url, inbox, hooks, tmp_path)
            print(f"set up in {time.monotonic() - started:.0f} s")
            steps, seen = script(rng, COMMANDS, cast), Observed()
            schedule = crash_schedule(rng)
            done = crashing(system, postgres, kafka, schedule, seen, steps, cast)
            print(f"load played in {time.monotonic() - started:.0f} s; crashes: {done}")
            drain(settings, seen)
            print(f"drained at {time.monotonic() - started:.0f} s")
            check(settings, cast, seen, hooks)
    print(f"chaos seed {SEED}: every invariant held, {time.monotonic() - started:.0f} s in all")


def crash_schedule(rng: random.Random) -> Schedule:
    """Each victim once, in a seeded order, at seeded steps of the load's 5 % to 85 %."""
    moments = sorted(rng.uniform(0.05, 0.85) * COMMANDS for _ in VICTIMS)
    return list(zip(moments, rng.sample(VICTIMS, len(VICTIMS)), strict=True))


def cast_of(base_url: str, inbox: Inbox, hooks: Receiver, tmp_path: Path) -> Cast:
    """Two publishers with a deployed model each; consumers with a key, a card and a
    webhook endpoint (the setup, before any crash)."""
    with ConsistentHttp(base_url=base_url, timeout=60) as http:
        publishers = [signed_up(http, inbox, "publisher") for _ in range(2)]
        models = []
        for publisher in publishers:
            with sdk_for(base_url, publisher) as sdk:
                models.append(published_and_deployed(sdk, http, publisher, tmp_path))
        consumers = []
        for n in range(CONSUMERS):
            account = signed_up(http, inbox, "consumer")
            with sdk_for(base_url, account) as sdk:
                key = sdk.keys.create("chaos", ["inference"]).key
                sdk.billing.add_card(DECLINES if n >= CONSUMERS - DECLINING else PAYS)
            made = http.post("/v1/webhooks/endpoints", json={"url": hooks.url},
                             headers=account.headers)  # fmt: skip
            assert made.status_code == 201, made.text
            consumers.append(Consumer(account, key, made.json()["secret"]))
    return Cast(publishers, models, consumers)


def crashing(
    system: System, postgres: Private, kafka: Private, schedule: Schedule, seen: Observed,
    steps: list[tuple[str, int, int]], cast: Cast,
) -> list[str]:  # fmt: skip
    """Play the script while a thread crashes each victim once at its scheduled step."""
    done: list[str] = []

    def crash() -> None:
        for at, victim in schedule:
            while seen.done < at:
                time.sleep(0.1)
            began = time.monotonic()
            if victim == "kafka":  # SIGKILL: what it acknowledged is in the page cache
                kafka.restart()
            elif victim == "postgres":
                # A fast stop (connections cut mid-request, as a crash looks to clients):
                # SIGKILL would lose acknowledged commits of this test-tuned server
                # (synchronous_commit and fsync off, infra/services/postgres.py).
                postgres.restart(crash=False)
            else:
                system.kill_and_restart(victim)
            done.append(f"{victim}@{seen.done} ({time.monotonic() - began:.1f} s)")

    chaos = threading.Thread(target=crash, name="chaos", daemon=True)
    chaos.start()
    Player(system.base_url, cast, seen).play(steps)
    chaos.join(timeout=300)
    print(f"answers: {dict(seen.answers)}")
    assert not chaos.is_alive() and len(done) == len(VICTIMS), f"seed {SEED}: crashes {done}"
    assert not system.exited, f"seed {SEED}: processes that exited on their own {system.exited}"
    assert not seen.unexpected, f"seed {SEED}: unexpected answers {seen.unexpected[:20]}"
    return done


def drain(settings: Settings, seen: Observed, timeout_s: float = 300) -> None:
    """Wait until the relay and every worker have caught up with what the load left."""
    app, deadline = open_marketplace(settings), time.monotonic() + timeout_s
    try:
        while (left := still_to_do(settings, app, seen)) and time.monotonic() < deadline:
            time.sleep(2)
    finally:
        app.close()
    assert not left, f"seed {SEED}: the load did not drain in {timeout_s:.0f} s: {left}"


def still_to_do(settings: Settings, app: Any, seen: Observed) -> dict[str, Any]:
    """What the pipeline has yet to do (empty: drained)."""
    status = pipeline_status(settings)
    left = {n: m["positions_behind"] for n, m in status["read_models"].items()
            if m["positions_behind"]}  # fmt: skip
    if status["relay"]["positions_behind"]:
        left["relay"] = status["relay"]["positions_behind"]
    [(open_jobs, open_hooks, unrolled, records, ran)] = rows(settings, PENDING_WORK)
    wanted = len(seen.infer_ok) + ran  # a job that failed its entitlement records nothing
    left |= {"jobs": open_jobs, "webhooks": open_hooks, "usage unrolled": unrolled,
             "usage records missing": max(0, wanted - records)}  # fmt: skip
    left["purchases"] = sum(
        not app.repository.get(uuid.UUID(p)).is_final for p in seen.purchases.values()
    )
    return {name: n for name, n in left.items() if n}


PENDING_WORK = (
    "SELECT (SELECT count(*) FROM aimarket_jobs WHERE status NOT IN "
    "('succeeded', 'failed', 'canceled')), "
    "(SELECT count(*) FROM aimarket_webhook_deliveries WHERE status = 'pending'), "
    "(SELECT count(*) FROM aimarket_usage_records r LEFT JOIN aimarket_usage_batches b "
    "USING (batch_id) WHERE b.finished_at IS NULL), "
    "(SELECT count(*) FROM aimarket_usage_records), "
    "(SELECT count(*) FROM aimarket_jobs WHERE status = 'succeeded')"
)


def check(settings: Settings, cast: Cast, seen: Observed, hooks: Receiver) -> None:
    verified = cli(settings, "projections", "verify", "all", timeout=600)
    assert verified.returncode == 0, f"seed {SEED}: {verified.stdout}{verified.stderr[-3000:]}"
    app = open_marketplace(settings)
    try:
        wrong = {
            "purchases": purchases_settled(app, settings, seen),
            "ledger": ledger_balanced(app, cast, seen),
            "usage": usage_counted_once(app, settings, seen),
            "jobs": jobs_ended_once(settings, seen),
            "webhooks": webhooks_once(seen, cast, hooks.got),
        }
    finally:
        app.close()
    broken = {name: found[:10] for name, found in wrong.items() if found}
    assert not broken, f"seed {SEED}: invariants broken: {broken}"
    counts = rows(settings, CHECKED)[0]
    summary = dict(zip(("usage records", "jobs", "priced calls"), counts, strict=True))
    summary |= {"purchases": len(seen.purchases), "webhooks received": len(hooks.got)}
    print(f"verified: {' '.join(verified.stdout.split()[-40:])}\nchecked: {summary}")


CHECKED = (  # what the invariants were checked over, for the run's report
    "SELECT (SELECT count(*) FROM aimarket_usage_records), (SELECT count(*) FROM aimarket_jobs), "
    "(SELECT coalesce(sum(calls), 0) FROM billing_usage_days)"
)
