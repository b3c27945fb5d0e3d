"""bench/billing.py's second part: purchases through the saga, offered at a fixed rate, on
the embedded and the cluster profile.

Our API runs in uvicorn in a process of its own on both profiles (embedded: with the
container's in-process runners, the saga's among them; cluster: beside `aimarket relay`,
`aimarket worker projections` and `aimarket worker purchases` as subprocesses, the
simulated provider shared through its file in the data directory). Each purchase is a
one-off `POST /v1/models/{id}/purchases` by one of C consumers with a saved card, of one of
M paid models, each (consumer, model) pair once, offered open-loop at R/s.

Latency: from sending the POST to the moment the purchase reads `completed` in the
`purchases` read model that `GET /v1/purchases/{id}` serves (the bench polls that store's
documents of the open purchases every 20 ms: one query for all, rather than a GET per open
purchase that would load the two cores it measures). When a purchase is seen completed,
one plain `GET /v1/purchases/{id}` is sent and timed: the same-run reference, and a check
that the API says `completed` too. There is no fair external baseline for a saga.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.cluster import BENCH_LIMITS
from bench.cpu import CpuMeter
from bench.results import record
from infra.settings import Settings
from infra.stores import read_stores
from tests.pipeline import start, stop

PRICING = {"currency": "EUR", "free_requests_per_month": 1, "price_per_request": 2,
           "purchase_price": 4900}  # fmt: skip
PASSWORD = "a long bench password 1"
POLL_S = 0.02
WARM = 5  # purchases before the clock: workers started, caches filled


@dataclass
class Outcome:
    sent: dict[str, float] = field(default_factory=dict)  # purchase id -> POST sent at
    done: dict[str, float] = field(default_factory=dict)  # purchase id -> read completed at
    failed: dict[str, str] = field(default_factory=dict)  # purchase id -> final state
    owner: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> buyer's headers
    posts: list[float] = field(default_factory=list)  # POST round trips, s
    gets: list[float] = field(default_factory=list)  # reference GET round trips, s
    steps: list[tuple[float, float]] = field(default_factory=list)  # to captured, to completed
    refused: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # process (or "machine") -> CPU s


def serve(settings: Settings, consumers: int, models: int, ready: Any) -> None:
    """Our API in uvicorn (embedded: its runners in this process), after the set-up."""
    import uvicorn

    from bench.inference import listening_socket
    from infra.bootstrap import build_container
    from infra.http.app import create_app

    container = build_container(settings)
    if settings.profile == "embedded":
        container.start_runner()
    app = create_app(container)
    ready.put(set_up(app, settings, consumers, models))
    sock = listening_socket()
    ready.put(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        container.close()


def account(client: Any, settings: Settings, role: str) -> dict[str, str]:
    from tests.support import verification_token

    email = f"bench-{role}-{uuid.uuid4().hex[:10]}@example.com"
    made = client.post("/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                  "role": role})  # fmt: skip
    assert made.status_code == 201, made.text
    token = verification_token(settings.data_dir / "outbox", email)
    assert client.post("/v1/auth/verify-email", json={"token": token}).status_code == 200
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def set_up(app: Any, settings: Settings, consumers: int, models: int) -> tuple[list[Any], ...]:
    """(consumers' headers, model ids): paid models of one publisher, consumers with a card."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    publisher = account(client, settings, "publisher")
    model_ids = []
    for n in range(models):
        body = {"slug": f"paid-{n}", "name": f"Paid {n}", "visibility": "public",
                "pricing": PRICING}  # fmt: skip
        made = client.post("/v1/models", json=body, headers=publisher)
        assert made.status_code == 201, made.text
        model_ids.append(made.json()["id"])
    heads = []
    for _ in range(consumers):
        headers = account(client, settings, "consumer")
        card = client.post("/v1/billing/payment-methods", json={"payment_method": "pm_card_visa"},
                           headers=headers)  # fmt: skip
        assert card.status_code == 201, card.text
        heads.append(headers)
    return heads, model_ids


async def buy(http: httpx.AsyncClient, headers: dict[str, str], model_id: str,
              out: Outcome) -> None:  # fmt: skip
    sent = time.perf_counter()
    answer = await http.post(f"/v1/models/{model_id}/purchases", json={},
                             headers={**headers, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    out.posts.append(time.perf_counter() - sent)
    if answer.status_code != 202:
        out.refused += 1
        print(f"  refused: {answer.status_code} {answer.text[:200]}")
        return
    purchase_id = answer.json()["id"]
    out.owner[purchase_id], out.sent[purchase_id] = headers, sent


async def reference_get(http: httpx.AsyncClient, headers: dict[str, str], purchase_id: str,
                        out: Outcome) -> None:  # fmt: skip
    sent = time.perf_counter()
    answer = await http.get(f"/v1/purchases/{purchase_id}", headers=headers)
    out.gets.append(time.perf_counter() - sent)
    if answer.status_code != 200 or answer.json()["state"] != "completed":
        out.failed[purchase_id] = f"GET says {answer.status_code} {answer.text[:120]}"
        return
    at = {s["event"]: datetime.fromisoformat(s["at"]) for s in answer.json()["history"]}
    began = at["Requested"]
    out.steps.append(((at["PaymentCaptured"] - began).total_seconds(),
                      (at["Completed"] - began).total_seconds()))  # fmt: skip


async def follow(store: Any, http: httpx.AsyncClient, out: Outcome, offering: asyncio.Task[None],
                 limit_s: float) -> None:  # fmt: skip
    """Poll the read model for the open purchases until every one has ended."""
    gets: list[asyncio.Task[None]] = []
    deadline = time.monotonic() + limit_s
    while not offering.done() or len(out.done) + len(out.failed) < len(out.sent):
        open_ids = [i for i in out.sent if i not in out.done and i not in out.failed]
        docs = await asyncio.to_thread(store.get_many, "purchases", open_ids) if open_ids else {}
        now = time.perf_counter()
        for purchase_id, doc in docs.items():
            if doc.get("state") == "completed":
                out.done[purchase_id] = now
                gets.append(asyncio.create_task(
                    reference_get(http, out.owner[purchase_id], purchase_id, out)))  # fmt: skip
            elif doc.get("state") in ("payment_failed", "canceled"):
                out.failed[purchase_id] = str(doc["state"])
        if time.monotonic() > deadline:
            print(f"  {len(open_ids)} purchases still open after {limit_s:.0f} s")
            break
        await asyncio.sleep(POLL_S)
    await asyncio.gather(*gets)


async def offer(port: int, store: Any, pairs: list[tuple[dict[str, str], str]],
                rate: float) -> Outcome:  # fmt: skip
    """Each (buyer, model) bought once, sent open-loop at `rate`/s, followed until ended."""
    out = Outcome()
    # Idle connections dropped before uvicorn's 5 s keep-alive closes them: a request sent
    # on one the server is closing ends in "Server disconnected without sending a response".
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200,
                          keepalive_expiry=2.0)  # fmt: skip
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                 limits=limits) as http:  # fmt: skip

        async def paced() -> None:
            tasks, began = [], time.perf_counter()
            for n, (headers, model_id) in enumerate(pairs):
                await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(buy(http, headers, model_id, out)))
            await asyncio.gather(*tasks)

        offering = asyncio.create_task(paced())
        await follow(store, http, out, offering, len(pairs) / rate + 120)
        await offering
    return out


def cluster_workers(settings: Settings, logs: Path, stack: ExitStack) -> dict[str, int]:
    """The relay, the projection worker and the saga's worker, as an operator starts them;
    their pids by name."""
    pids = {}
    for command in (["relay"], ["worker", "projections"], ["worker", "purchases"]):
        process = start(command, settings, logs / f"{'-'.join(command)}.log")
        stack.callback(stop, process)
        pids[command[-1]] = process.pid
    return pids


def run_profile(settings: Settings, count: int, rate: float, models: int = 10) -> Outcome:
    import multiprocessing

    from bench.inference_triton import ready_or_died

    consumers = -(-(count + WARM) // models)
    context = multiprocessing.get_context("spawn")
    ready: Any = context.Queue()
    server = context.Process(target=serve, daemon=True,
                             args=(settings, consumers, models, ready))  # fmt: skip
    server.start()
    with ExitStack() as stack:
        stack.callback(server.join, 10)
        stack.callback(server.terminate)
        heads, model_ids = ready_or_died(ready, server)
        port = ready_or_died(ready, server)
        pids = {"api": server.pid or 0}
        if settings.profile == "cluster":
            pids |= cluster_workers(settings, Path(tempfile.mkdtemp()), stack)
        store, _ = read_stores(settings)
        pairs = [(h, m) for m in model_ids for h in heads]
        warm = asyncio.run(offer(port, store, pairs[:WARM], 5.0))  # workers started, caches
        if len(warm.done) < WARM:
            raise SystemExit(f"warm-up purchases did not complete: {warm.failed}")
        with CpuMeter(pids) as meter:
            out = asyncio.run(offer(port, store, pairs[WARM : WARM + count], rate))
        out.cpu = meter.spent
        return out
    raise AssertionError("unreachable")


def quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def report(profile: str, rate: float, out: Outcome) -> float:
    """Print the profile's figures; return the latency p99 in ms."""
    latencies = [out.done[i] - out.sent[i] for i in out.done]
    first, last = min(out.sent.values()), max(out.done.values())
    p50, p99 = quantiles(latencies)
    post, get = quantiles(out.posts), quantiles(out.gets)
    print(
        f"{profile}: offered {rate:.0f}/s, {len(out.done)} completed, {len(out.failed)} "
        f"not, {out.refused} refused; {len(out.done) / (last - first):.1f} completed/s"
    )
    print(f"  POST -> reads completed  p50 {p50:7.0f} ms  p99 {p99:7.0f} ms")
    print(f"  POST /purchases          p50 {post[0]:7.1f} ms  p99 {post[1]:7.1f} ms")
    print(f"  GET /purchases/{{id}} (reference, same run)  p50 {get[0]:7.1f} ms  "
          f"p99 {get[1]:7.1f} ms")  # fmt: skip
    captured, completed = (statistics.median(x) * 1000 for x in zip(*out.steps, strict=True))
    print(
        f"  saga's own events (medians): Requested -> PaymentCaptured {captured:.0f} ms, "
        f"-> Completed {completed:.0f} ms; the rest is before Requested and read lag"
    )
    for purchase_id, why in list(out.failed.items())[:3]:
        print(f"  not completed: {purchase_id} {why}")
    report_cpu(out)
    return p99


def report_cpu(out: Outcome) -> None:
    """CPU per completed purchase, and the cores 50 purchases/s would need at that cost."""
    done = max(1, len(out.done))
    ours = ", ".join(f"{name} {s / done * 1000:.1f}" for name, s in out.cpu.items()
                     if name != "machine")  # fmt: skip
    machine = out.cpu["machine"] / done
    print(f"  CPU per completed purchase, ms: {ours}; the whole machine {machine * 1000:.1f} "
          f"(services and the bench included); 50/s would need {50 * machine:.2f} cores "
          f"of this machine's {psutil.cpu_count()}")  # fmt: skip


def purchases(cluster_settings: Callable[[], Settings], count: int, rate: float) -> None:
    lenient = {"argon2_time_cost": 1, "argon2_memory_kib": 8,
               "login_attempts_per_client_per_minute": 10**6}  # fmt: skip
    embedded = Settings(
        profile="embedded", data_dir=Path(tempfile.mkdtemp()), **lenient, **BENCH_LIMITS
    )
    print(f"purchases: {count} one-off purchases offered at {rate:.0f}/s per profile "
          "(no fair external baseline for a saga: the GET is the same-run reference)",
          flush=True)  # fmt: skip
    report("embedded", rate, run_profile(embedded, count, rate))
    cluster = cluster_settings().model_copy(update=lenient)
    p99 = report("cluster", rate, run_profile(cluster, count, rate))
    met = p99 < 1000 and rate >= 50
    print(f"goal: cluster p99 < 1 s at 50 purchases/s ({'met' if met else 'NOT met'})")
    record(
        f"purchases: POST -> completed p99, cluster, {rate:.0f}/s offered",
        p99,
        "ms",
        None,
        "none fair for a saga",
        None,
        "< 1000 ms at 50/s",
        met,
    )
