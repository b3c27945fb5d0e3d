"""The cluster profile for a benchmark: the services it needs started (`aimarket
services`), and a database, topics, indexes and a data directory of the run's own."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr

from infra.services.manager import ServiceManager
from infra.settings import Settings
from infra.settings_gateway import RouteClass

# A benchmark drives one caller far past any route class's rate: buckets it never empties
# (still taken on every request, so their cost is in the figures).
_WIDE = RouteClass(capacity=10**9, per_minute=10**12, fail_open=True)
BENCH_LIMITS: dict[str, Any] = {
    f"rate_limit_{name}": _WIDE for name in ("auth", "reads", "writes", "inference")
} | {"inference_free_calls_per_minute": 10**9}


def wide_redis_check(redis_url: str, route_class: str) -> tuple[Any, list[Any]]:
    """The gateway's Redis check as the middleware makes it (the same adapter and script,
    a key's bucket and its user's) on buckets of its own that a benchmark never empties:
    the adapter and the limits to take with `take_all`."""
    from commands.rate_limits import Limit
    from infra.clock import SystemClock
    from infra.ratelimit_redis import RedisTokenBuckets

    prefix = f"bound:{uuid.uuid4()}:"
    buckets = RedisTokenBuckets.from_url(redis_url, SystemClock(), prefix, 1.0)
    spec = _WIDE.spec()
    return buckets, [
        Limit(f"{route_class}:key:bench", spec),
        Limit(f"{route_class}:user:bench", spec),
    ]


def fresh_cluster(
    services: list[str], prefix: str, **extra: Any
) -> tuple[Settings, dict[str, str]]:
    """Settings of a fresh cluster deployment (`extra` on top), and the services' env."""
    manager = ServiceManager()
    if manager.up(services):
        raise SystemExit("the services did not come up: see the messages above")
    env = dict(line.removeprefix("export ").split("=", 1) for line in manager.env_lines())
    tag = f"{prefix}{uuid.uuid4().hex[:6]}"
    admin_url = env["AIMARKET_DATABASE_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{tag}"')
    fields: dict[str, Any] = {
        "profile": "cluster", "database_url": admin_url.rsplit("/", 1)[0] + "/" + tag,
        "mongo_url": env["AIMARKET_MONGO_URL"], "mongo_database": tag,
        "opensearch_url": env["AIMARKET_OPENSEARCH_URL"], "search_prefix": tag,
        "kafka_bootstrap_servers": env["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"],
        "redis_url": env.get("AIMARKET_REDIS_URL"),
        "event_topic_prefix": f"{tag}.events.", "job_topic": f"{tag}.jobs",
        "worker_group": tag, "usage_topic": f"{tag}.usage",
        "jwt_secret": SecretStr("b" * 40), "data_dir": Path(tempfile.mkdtemp()),
        "payments": "simulated",  # no benchmark measures Stripe; stripe-mock is not Stripe
    }  # fmt: skip
    return Settings(**{**fields, **BENCH_LIMITS, **extra}), env
