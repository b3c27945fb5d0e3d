"""The chaos test's load: a script drawn up front from one seeded `random.Random` (so a
seed names the same commands), played by a few client threads as careful programs are
written: a transport error, a 429 or a 5xx is sent again, the same request (the same
Idempotency-Key), with backoff, until the service is back. What each call answered is
kept for the invariants (tests/chaos_checks.py)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.sdk_support import X
from tests.support import Account

# Weights of the commands in the script; sign-ups, keys and cards are the setup's.
MIX = {"infer": 58, "job": 12, "purchase": 10, "edit": 8, "review": 5, "browse": 5,
       "purchase_again": 2}  # fmt: skip
EXPECTED = {  # the answers each command may give; anything else is a failure
    "infer": {200, 402}, "job": {202, 402}, "purchase": {202}, "purchase_again": {202},
    "edit": {200, 409}, "review": {200, 201, 403}, "browse": {200},
}  # fmt: skip


@dataclass(frozen=True)
class Consumer:
    account: Account
    key: str  # an API key with the scope `inference`
    secret: str  # its webhook endpoint's signing secret


@dataclass(frozen=True)
class Cast:
    """Who plays the script: publishers (each with one model) and consumers."""

    publishers: list[Account]
    models: list[str]
    consumers: list[Consumer]


@dataclass
class Observed:
    """What the calls answered."""

    infer_ok: list[str] = field(default_factory=list)  # usage request ids of the 200s
    jobs: dict[str, int] = field(default_factory=dict)  # job id -> consumer index
    purchases: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> purchase id
    answers: Counter[str] = field(default_factory=Counter)  # "infer 200", "job 202", ...
    unexpected: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def script(rng: random.Random, commands: int, cast: Cast) -> list[tuple[str, int, int]]:
    """(command, consumer index, model index) for each step."""
    kinds, weights = list(MIX), list(MIX.values())
    return [
        (rng.choices(kinds, weights)[0], rng.randrange(len(cast.consumers)),
         rng.randrange(len(cast.models)))
        for _ in range(commands)
    ]  # fmt: skip


class Retrying:
    """One client thread's HTTP, retrying what a service restart causes."""

    def __init__(self, base_url: str, patience_s: float = 240) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.patience_s = patience_s

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        deadline, wait = time.monotonic() + self.patience_s, 0.2
        while True:
            try:
                answer = self.http.request(method, url, **kwargs)
                if answer.status_code < 500 and answer.status_code != 429:
                    return answer
                failure = f"{answer.status_code} {answer.text[:200]}"
            except httpx.TransportError as error:
                failure = repr(error)
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {url} failed for {self.patience_s} s: {failure}")
            time.sleep(wait)
            wait = min(wait * 2, 3.0)


class Player:
    """Plays steps of the script and records what they answered."""

    def __init__(self, base_url: str, cast: Cast, seen: Observed) -> None:
        self.base_url, self.cast, self.seen = base_url, cast, seen
        self.local = threading.local()

    def play(self, steps: list[tuple[str, int, int]], threads: int = 4) -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(self.step, range(len(steps)), steps))

    def step(self, n: int, step: tuple[str, int, int]) -> None:
        if not hasattr(self.local, "client"):
            self.local.client = Retrying(self.base_url)
        kind, who, which = step
        answer = getattr(self, kind)(self.local.client, n, self.cast.consumers[who],
                                     self.cast.models[which], who)  # fmt: skip
        with self.seen.lock:
            self.seen.done += 1
            self.seen.answers[f"{kind} {answer.status_code}"] += 1
            if answer.status_code not in EXPECTED[kind]:
                self.seen.unexpected.append(f"step {n} {kind}: {answer.status_code} {answer.text}")

    def infer(self, http: Retrying, n: int, c: Consumer, model: str, _: int) -> httpx.Response:
        body = {"inputs": {"x": X[: 1 + n % 2].tolist()}}
        answer = http.call("POST", f"/v1/models/{model}/infer", json=body,
                           headers={"X-API-Key": c.key})  # fmt: skip
        if answer.status_code == 200:
            with self.seen.lock:
                self.seen.infer_ok.append(answer.json()["request_id"])
        return answer

    def job(self, http: Retrying, n: int, c: Consumer, model: str, who: int) -> httpx.Response:
        body = {"inputs": {"x": X[:1].tolist()}, "webhook": True}
        answer = http.call("POST", f"/v1/models/{model}/jobs", json=body, headers=c.account.headers)
        if answer.status_code == 202:
            with self.seen.lock:
                self.seen.jobs[answer.json()["id"]] = who
        return answer

    def purchase(self, http: Retrying, n: int, c: Consumer, model: str, _: int,
                 key: str | None = None) -> httpx.Response:  # fmt: skip
        key = key or f"chaos-{n}-{uuid.uuid4().hex[:8]}"
        answer = http.call("POST", f"/v1/models/{model}/purchases", json={},
                           headers={**c.account.headers, "Idempotency-Key": key})  # fmt: skip
        if answer.status_code == 202:
            with self.seen.lock:
                known = self.seen.purchases.setdefault(key, answer.json()["id"])
            if known != answer.json()["id"]:
                self.seen.unexpected.append(f"key {key}: purchase {known}, then {answer.text}")
        return answer

    def purchase_again(self, http: Retrying, n: int, c: Consumer, model: str,
                       who: int) -> httpx.Response:  # fmt: skip
        """The same Idempotency-Key sent again (a client unsure of its first answer)."""
        key = f"chaos-again-{who}-{model}"
        return self.purchase(http, n, c, model, who, key=key)

    def edit(self, http: Retrying, n: int, _c: Consumer, model: str, _: int) -> httpx.Response:
        owner = self.cast.publishers[self.cast.models.index(model)]
        body = {"description": f"Affine map, edit {n}"}
        return http.call("PATCH", f"/v1/models/{model}", json=body, headers=owner.headers)

    def review(self, http: Retrying, n: int, c: Consumer, model: str, _: int) -> httpx.Response:
        body = {"version": "1.0.0", "rating": 1 + n % 5, "title": "Chaos", "body": f"Step {n}."}
        return http.call("POST", f"/v1/models/{model}/reviews", json=body,
                         headers=c.account.headers)  # fmt: skip

    def browse(self, http: Retrying, n: int, _c: Consumer, _m: str, _: int) -> httpx.Response:
        return http.call("GET", "/v1/models", params={"q": "affine", "limit": 5})
