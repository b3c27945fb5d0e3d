"""Benchmark: usage metering beside a raw Kafka consume of the same records, and purchases
through the saga on both profiles, in one run.

    .venv/bin/python bench/billing.py [--part metering|purchases|all] [--records N]
                                      [--purchases N] [--rate R]

1. Metering (cluster profile). N usage records (CloudEvents, `commands/usage_events.encode`;
   a few hundred consumers x a few paid models with price lists in a fresh event store)
   are produced to a fresh usage topic, keyed by consumer as the API's sink does. Then
   `aimarket worker metering` runs as a subprocess, exactly as an operator starts it (the
   faust agent of workers/usage_app.py with its usage roll-up thread): records metered per
   second from the first record priced in PostgreSQL to the last (the ledger row and its
   pricing commit together, so a ledger row is a priced record). Beside it, in the same
   run: a plain confluent-kafka consumer reads the same records from the same topic
   (`json.loads` of each value, nothing more), from the first message to the last; and
   the floor (bench/billing_floor.py): the same faust agent with an ingest that only
   counts. Goal (issue 14): metering at least 0.5x the raw consume.
2. Purchases (bench/billing_purchases.py), on each profile.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from confluent_kafka import Consumer, Producer

from bench.billing_floor import faust_floor
from bench.cluster import fresh_cluster
from bench.results import record
from commands.accounts import AccountCommands
from commands.event_store import EventStore
from commands.metering_ports import CallStatus, UsageRecord
from commands.models import ModelCommands
from commands.usage_events import encode
from domain.principal import Principal
from domain.user import Role
from infra.clock import SystemClock
from infra.kafka.topics import ensure_topics
from infra.settings import Settings
from infra.stores import open_marketplace
from infra.usage.postgres import RECORDS
from tests.pipeline import start, stop

SERVICES = ["postgres", "kafka", "ferretdb", "opensearch"]
MODELS, CONSUMERS = 5, 300


def cluster_settings() -> Settings:
    """The cluster profile on the running services, with a database and names of its own."""
    settings, _ = fresh_cluster(
        SERVICES, "benchb", usage_sink="kafka",
        argon2_time_cost=1, argon2_memory_kib=8,
    )  # fmt: skip
    return settings


def paid_models(app: EventStore, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(model id, publisher id) of `count` paid models, each with its own price list."""
    accounts, models = AccountCommands(app), ModelCommands(app, SystemClock())
    user = accounts.register_user(f"pub-{uuid.uuid4().hex[:10]}@example.com", "$x", Role.CONSUMER)
    accounts.verify_email(user.id)
    accounts.change_role(user.id, Role.PUBLISHER)
    publisher = Principal(user.id, Role.PUBLISHER.value, True, "jwt")
    made = []
    for n in range(count):
        pricing = {"currency": "EUR", "free_requests_per_month": 20 * n,
                   "price_per_request": 1 + n, "purchase_price": 1000 + 100 * n}  # fmt: skip
        details = {"name": f"Bench {n}", "visibility": "public"}
        written = models.create_model(publisher, f"bench-{n}", details, pricing)
        made.append((written.id, user.id))
    return made


def usage_records(models: list[tuple[uuid.UUID, uuid.UUID]], count: int) -> list[bytes]:
    """`count` encoded records: consumers x models, mostly answered, a few failed or cold,
    each with a key half the time, in time order from now (after the price lists began)."""
    rng, start = random.Random(14), datetime.now(UTC)
    consumers = [(uuid.uuid4(), uuid.uuid4()) for _ in range(CONSUMERS)]
    out = []
    for i in range(count):
        consumer, key = rng.choice(consumers)
        model, publisher = rng.choice(models)
        status = CallStatus.SUCCEEDED if rng.random() < 0.97 else CallStatus.FAILED
        record = UsageRecord(
            request_id=uuid.uuid4().hex, consumer_id=consumer,
            api_key_id=key if rng.random() < 0.5 else None, model_id=model,
            publisher_id=publisher, version="1.0.0", units=rng.choice((1, 1, 1, 4)),
            compute_ms=rng.uniform(0.3, 20.0), status=status, cold_start=rng.random() < 0.01,
            cached=False, cost_amount=0, currency="EUR", at=start + timedelta(milliseconds=i),
        )  # fmt: skip
        out.append(encode(record))
    return out


def produce(settings: Settings, values: list[tuple[bytes, bytes]]) -> None:
    bootstrap = settings.require_kafka()
    ensure_topics(bootstrap, [settings.usage_topic], settings.event_partitions,
                  settings.usage_topic_retention_ms)  # fmt: skip
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 5})  # fmt: skip
    for key, value in values:
        while True:
            try:
                producer.produce(settings.usage_topic, value, key)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(60):
        raise SystemExit("the usage records were not all produced")


def raw_consume(settings: Settings, count: int) -> float:
    """The baseline: records/s of a plain consumer loop, `json.loads` of each value."""
    consumer = Consumer({"bootstrap.servers": settings.require_kafka(),
                         "group.id": f"{settings.worker_group}-raw",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([settings.usage_topic])
    seen, started = 0, 0.0
    while seen < count:
        batch = consumer.consume(1000, timeout=1.0)
        if batch and not started:
            started = time.perf_counter()
        for message in batch:
            if message.error() is None:
                json.loads(message.value() or b"")
                seen += 1
    rate = count / (time.perf_counter() - started)
    consumer.close()
    return rate


def ledger_rows(conn: psycopg.Connection[tuple[int]]) -> int:
    """Records in the ledger, so priced (0 until the worker has made its table)."""
    try:
        row = conn.execute(f"SELECT count(*) FROM {RECORDS}").fetchone()  # type: ignore[arg-type]
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def metered(settings: Settings, count: int, logs: Path) -> float:
    """Records/s of `aimarket worker metering`, from the first priced record to the last."""
    worker = start(["worker", "metering"], settings, logs / "metering.log")
    seen, first, started = 0, 0, 0.0
    deadline = time.monotonic() + 600
    try:
        with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
            while seen < count:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the metering worker stopped: see {logs}/metering.log")
                seen = ledger_rows(conn)
                if seen and not started:
                    first, started = seen, time.perf_counter()
                time.sleep(0.02)
            ended = time.perf_counter()
    finally:
        stop(worker)
    return (count - first) / (ended - started)


def metering(records: int) -> None:
    settings = cluster_settings()
    app = open_marketplace(settings)
    models = paid_models(app, MODELS)
    app.close()
    values = usage_records(models, records)
    keyed = [(json.loads(v)["subject"].encode(), v) for v in values]
    produce(settings, keyed)
    size = sum(map(len, values)) / len(values)
    print(f"metering: {records} records ({size:.0f} B), {CONSUMERS} consumers x {MODELS} "
          f"models, {settings.event_partitions} partitions", flush=True)  # fmt: skip
    raw = raw_consume(settings, records)
    floor = faust_floor(settings.require_kafka(), settings.usage_topic, records)
    bare = faust_floor(settings.require_kafka(), settings.usage_topic, records, bare=True)
    ours = metered(settings, records, Path(tempfile.mkdtemp()))
    ratio = ours / raw
    print(f"{'raw confluent-kafka consume + json.loads (baseline)':52} {raw:10.0f}/s {1.0:6.2f}")
    print(f"{'floor: a bare faust agent, counting values':52} {bare:10.0f}/s {bare / raw:6.2f}")
    print(f"{'floor: the same faust agent + decode, no ledger':52} {floor:10.0f}/s "
          f"{floor / raw:6.2f}")  # fmt: skip
    print(f"{'aimarket worker metering: Kafka -> priced in PG':52} {ours:10.0f}/s {ratio:6.2f}")
    print(f"goal: metering >= 0.5x raw consume ({'met' if ratio >= 0.5 else 'NOT met'})")
    record(
        "metering: Kafka -> priced in PostgreSQL",
        ours,
        "records/s",
        raw,
        "raw confluent-kafka consume + json.loads",
        ratio,
        ">= 0.5x",
        ratio >= 0.5,
        f"floors: bare faust agent {bare:.0f}/s, our agent + decode {floor:.0f}/s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=["metering", "purchases", "all"], default="all")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--purchases", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="purchases offered per second")
    args = parser.parse_args()
    if args.part in ("metering", "all"):
        metering(args.records)
    if args.part in ("purchases", "all"):
        from bench.billing_purchases import purchases

        purchases(cluster_settings, args.purchases, args.rate)


if __name__ == "__main__":
    main()
