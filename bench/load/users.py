"""The marketplace's users, weighted as its traffic is: many browse and search the
catalogue and open model pages, consumers call models and buy them, a few publishers
upload. Each request names its route template, so figures are per endpoint.

A 4xx is an error unless the task says it expects it (`expect`: status and error code),
e.g. 402 `payment_required` for a paid model called before its purchase completed."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from locust import FastHttpUser, between, task

from bench.load.routes import BROWSE, INFER, INFER_PAID, PAGE, SEARCH, VERSIONS
from bench.load.seed import LICENSES, TAGS, TASKS, WORDS, upload_body

SEED: dict[str, Any] = {}  # set by the swarm before users start
MODEL_BYTES = b""
X = {"inputs": {"x": [[1.0, 2.0, 3.0, 4.0]]}}
EXPECTED: dict[str, dict[int, int]] = {}  # route -> status -> deliberate 4xx answers
_turns = itertools.count()


class MarketUser(FastHttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)

    def call(self, method: str, path: str, name: str, expect: Iterable[tuple[int, str]] = (),
             **kwargs: Any) -> Any:  # fmt: skip
        """One request; a 4xx counts as deliberate only when `expect` names it."""
        with self.client.request(method, path, name=name, catch_response=True,
                                 **kwargs) as response:  # fmt: skip
            status = response.status_code
            if 200 <= status < 300:
                response.success()
            elif (status, error_code(response)) in set(expect):
                response.success()
                counts = EXPECTED.setdefault(name, {})
                counts[status] = counts.get(status, 0) + 1
            else:
                response.failure(f"{status} {(response.text or '')[:160]}")
            return response

    def browse(self) -> None:
        sort = random.choice(("popular", "recent", "rating", "name"))
        self.call("GET", f"/v1/models?sort={sort}&limit=20", BROWSE)

    def search(self) -> None:
        query = [f"q={random.choice(WORDS)}", f"task={random.choice(TASKS)}"]
        query += random.sample([f"tags={random.choice(TAGS)}", f"license={random.choice(LICENSES)}",
                                f"price={random.choice(('free', 'paid'))}"], 1)  # fmt: skip
        self.call("GET", "/v1/models?" + "&".join(query), SEARCH)

    def page(self) -> None:
        self.call("GET", f"/v1/models/{random.choice(SEED['catalogue'])}", PAGE)

    def versions(self) -> None:
        self.call("GET", f"/v1/models/{random.choice(SEED['catalogue'])}/versions", VERSIONS)


class Visitor(MarketUser):
    """Anonymous: the catalogue only."""

    weight = 10

    @task(4)
    def browsing(self) -> None:
        self.browse()

    @task(4)
    def searching(self) -> None:
        self.search()

    @task(5)
    def model_page(self) -> None:
        self.page()

    @task(1)
    def model_versions(self) -> None:
        self.versions()


class Consumer(MarketUser):
    """Signed in with a card and a key: looks around, calls models, buys some."""

    weight = 8

    def on_start(self) -> None:
        mine = SEED["consumers"][next(_turns) % len(SEED["consumers"])]
        self.bearer = {"Authorization": f"Bearer {mine['token']}"}
        self.key = {"X-API-Key": mine["key"]}

    @task(6)
    def call_free_model(self) -> None:
        model_id = random.choice(SEED["free_deployed"])
        self.call("POST", f"/v1/models/{model_id}/infer", INFER, json=X, headers=self.key)

    @task(2)
    def call_paid_model(self) -> None:
        """402 until this consumer's purchase of it has completed: deliberate."""
        model_id = random.choice(SEED["paid_deployed"])
        self.call("POST", f"/v1/models/{model_id}/infer", INFER_PAID, json=X,
                  headers=self.key, expect=[(402, "payment_required")])  # fmt: skip

    @task(1)
    def buy(self) -> None:
        model_id = random.choice(SEED["paid"] + SEED["paid_deployed"])
        headers = {**self.bearer, "Idempotency-Key": uuid.uuid4().hex}
        self.call("POST", f"/v1/models/{model_id}/purchases", "POST /v1/models/{id}/purchases",
                  json={}, headers=headers)  # fmt: skip

    @task(3)
    def model_page(self) -> None:
        self.page()

    @task(2)
    def searching(self) -> None:
        self.search()


class Publisher(MarketUser):
    """Uploads small models (not published: publishing loads each into Triton) and looks
    at their own."""

    weight = 1

    def on_start(self) -> None:
        token = SEED["publishers"][next(_turns) % len(SEED["publishers"])]
        self.bearer = {"Authorization": f"Bearer {token}"}

    @task(1)
    def upload_model(self) -> None:
        body = {"slug": f"up-{uuid.uuid4().hex[:12]}", "name": "Uploaded", "visibility": "public"}
        made = self.call("POST", "/v1/models", "POST /v1/models", json=body, headers=self.bearer)
        if made.status_code != 201:
            return
        model_id = made.json()["id"]
        started = self.call("POST", f"/v1/models/{model_id}/uploads",
                            "POST /v1/models/{id}/uploads", json=upload_body(MODEL_BYTES),
                            headers=self.bearer)  # fmt: skip
        if started.status_code != 201:
            return
        upload_id = started.json()["upload_id"]
        part = {**self.bearer, "Content-Type": "application/octet-stream"}
        self.call("PUT", f"/v1/uploads/{upload_id}/parts/1", "PUT /v1/uploads/{id}/parts/{n}",
                  data=MODEL_BYTES, headers=part)  # fmt: skip
        self.call("POST", f"/v1/uploads/{upload_id}/complete",
                  "POST /v1/uploads/{id}/complete", headers=self.bearer)  # fmt: skip

    @task(2)
    def own_models(self) -> None:
        self.call("GET", "/v1/models?mine=true", "GET /v1/models?mine=true", headers=self.bearer)


class Unloaded(MarketUser):
    """The single-user pass before the load: every catalogue and inference route in turn,
    no think time, for each route's unloaded p99."""

    wait_time = between(0, 0)
    on_start = Consumer.on_start
    tasks: ClassVar[list[Any]] = [MarketUser.browse, MarketUser.search, MarketUser.page,
                                  MarketUser.versions, Consumer.call_free_model]  # fmt: skip


def error_code(response: Any) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""
