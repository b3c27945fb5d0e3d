"""Marketplace discovery through HTTP on both profiles: browse and search (FTS5 / OpenSearch),
filters, sorts, facets, cursor pages, who sees what, a model's page and its versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from fastapi.testclient import TestClient

from commands.conflicts import retried_on_conflict
from domain.model import Model
from infra.bootstrap import Container
from projections.base import to_change
from projections.ports import DocChange
from tests.support import Account, MovableClock, verified_account
from workers.rebuild import verify

SIGNATURE = {"inputs": [{"name": "image", "dtype": "float32", "shape": [1, 3, 224, 224]}],
             "outputs": [{"name": "label", "dtype": "int64", "shape": [1]}]}  # fmt: skip
DIGEST = "sha256:" + "c" * 64


def catalogue(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> Any:
    """GET /v1/models. The query goes in the URL: ConsistentClient adds `wait_for` there,
    and httpx would drop it if `params=` were passed as well."""
    return client.get(str(httpx.URL("/v1/models", params=params)), headers=headers or {})


def word() -> str:
    """A token no other test uses (letters then digits: one word to both engines)."""
    return "zq" + uuid.uuid4().hex[:10]


@dataclass
class Shop:
    client: TestClient
    container: Container
    publisher: Account

    def create(self, slug: str, name: str, **details: Any) -> str:
        body = {"slug": slug, "name": name, "visibility": "public", **details}
        response = self.client.post("/v1/models", json=body, headers=self.publisher.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def save(self, model: Model) -> None:
        written = self.container.app.write(model)
        # The client reads its own writes: this one did not go through HTTP.
        self.client.position = max(self.client.position, written.position)  # type: ignore[attr-defined]

    def publish(self, model_id: str, *versions: str) -> None:
        """Versions uploaded, validated and published straight on the aggregate (the upload
        flow is another route's business)."""
        model = self.container.app.load(Model, UUID(model_id))
        for version in versions or ("1.0.0",):
            model.upload_version(version, DIGEST, 1234, uuid.uuid4())
            model.validate_version(version, "onnx", SIGNATURE)
            model.publish_version(version)
        self.save(model)

    def stats(self, model_id: str, **stats: int) -> None:
        @retried_on_conflict  # the embedded deployer records its outcome on the model too
        def write() -> None:
            model = self.container.app.load(Model, UUID(model_id))
            model.update_stats(stats)
            self.save(model)

        write()

    def browse(self, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        response = catalogue(self.client, headers, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ids(self, **params: Any) -> list[str]:
        return [item["id"] for item in self.browse(**params)["items"]]


def open_shop(client: TestClient, container: Container, outbox: Path, name: str) -> Shop:
    publisher = verified_account(client, outbox, "publisher")
    renamed = client.patch("/v1/auth/me", json={"display_name": name}, headers=publisher.headers)
    assert renamed.status_code == 200, renamed.text
    return Shop(client, container, publisher)


def paid(price_per_request: int = 0, **more: Any) -> dict[str, Any]:
    return {"currency": "EUR", "price_per_request": price_per_request, **more}


def test_search_filters_and_facets(client: TestClient, container: Container, outbox: Path) -> None:
    tag, studio = word(), word()
    shop = open_shop(client, container, outbox, f"Studio {studio}")
    heron = shop.create(
        "heron", f"Heron {tag}", description="Detects herons in river photos",
        task="image-classification", framework="onnx", tags=[tag, "vision", "birds"],
        license="apache-2.0",
    )  # fmt: skip
    sparrow = shop.create(
        "sparrow", f"Sparrow {tag}", description="Transcribes birdsong recordings",
        task="audio-classification", framework="pytorch", tags=[tag, "audio", "birds"],
        license="mit", pricing=paid(5),
    )  # fmt: skip
    otter = shop.create(
        "otter", f"Otter {tag}", description="Segments otters", task="image-segmentation",
        framework="onnx", tags=[tag, "vision"], license="mit", pricing=paid(50),
        visibility="private",
    )  # fmt: skip
    public = client.patch(
        f"/v1/models/{otter}", json={"visibility": "public"}, headers=shop.publisher.headers
    )
    assert public.status_code == 200, public.text
    plans = [{"name": "pro", "monthly_price": 1900, "included_requests": 1000}]
    badger = shop.create(
        "badger", f"Badger {tag}", description="Summarises legal contracts",
        task="summarization", framework="tensorflow", tags=[tag, "text"],
        license="apache-2.0", pricing=paid(0, plans=plans),
    )  # fmt: skip
    for model_id in (heron, sparrow, otter, badger):
        shop.publish(model_id)
    mine = {"publisher": shop.publisher.id}

    # Words: in the name, the description, a tag, the publisher's name; every word must match.
    found = shop.browse(q=f"heron {tag}")
    assert [i["id"] for i in found["items"]] == [heron] and found["total"] == 1
    assert "<em>Heron</em>" in found["items"][0]["highlights"]["name"][0]
    assert found["items"][0]["score"] > 0
    assert shop.ids(q="birdsong", **mine) == [sparrow]
    assert set(shop.ids(q="birds", **mine)) == {heron, sparrow}
    assert set(shop.ids(q=studio)) == {heron, sparrow, otter, badger}
    assert shop.ids(q=f"{studio} contracts") == [badger]
    assert shop.ids(q=f"{studio} nothinglikethis") == []

    # Filters: any of a field's values, all fields together.
    assert shop.ids(task="image-classification", **mine) == [heron]
    both = shop.ids(task=["image-classification", "image-segmentation"], **mine)
    assert set(both) == {heron, otter}
    assert shop.ids(framework="onnx", tags="birds", **mine) == [heron]
    assert set(shop.ids(tags=["audio", "text"], **mine)) == {sparrow, badger}
    assert set(shop.ids(license="mit", **mine)) == {sparrow, otter}
    assert shop.ids(price="free", **mine) == [heron]
    assert set(shop.ids(price="paid", **mine)) == {sparrow, otter, badger}
    assert set(shop.ids(price_min=1, price_max=100, **mine)) == {sparrow, otter}
    # Plans only: paid, at 0 per request.
    assert set(shop.ids(price_max=10, **mine)) == {heron, sparrow, badger}
    assert set(shop.ids(price_max=10, currency="EUR", **mine)) == {sparrow, badger}

    # Facets: a field's counts ignore its own filter, not the others.
    page = shop.browse(task="image-classification", **mine)
    assert page["total"] == 1
    assert page["facets"]["task"] == {
        "image-classification": 1, "audio-classification": 1, "image-segmentation": 1,
        "summarization": 1,
    }  # fmt: skip
    assert page["facets"]["framework"] == {"onnx": 1}
    assert page["facets"]["price_kind"] == {"free": 1}
    everything = shop.browse(**mine)["facets"]
    assert everything["tag"][tag] == 4 and everything["tag"]["birds"] == 2
    assert everything["license"] == {"apache-2.0": 2, "mit": 2}
    assert everything["price_kind"] == {"paid": 3, "free": 1}

    entry = next(i for i in shop.browse(q=f"sparrow {tag}")["items"])
    assert entry["publisher"] == {"id": shop.publisher.id, "name": f"Studio {studio}"}
    assert entry["pricing"]["price_per_request"] == 5 and entry["price_kind"] == "paid"
    assert (entry["status"], entry["default_version"]) == ("published", "1.0.0")


def test_sorts_and_cursor_pages(client: TestClient, container: Container, outbox: Path) -> None:
    tag = word()
    shop = open_shop(client, container, outbox, "Sorter")
    charlie = shop.create("charlie", f"Charlie {tag}", tags=[tag])
    alpha = shop.create("alpha", f"alpha {tag}", tags=[tag])
    bravo = shop.create("bravo", f"Bravo {tag}", tags=[tag])
    for model_id in (charlie, alpha, bravo):
        shop.publish(model_id)
    shop.stats(alpha, invocations_7d=10, trending=500, rating_count=2, rating_sum=9)
    shop.stats(bravo, invocations_7d=30, trending=-100, rating_count=1, rating_sum=5)
    shop.stats(charlie, invocations_7d=20, trending=900)
    mine = {"publisher": shop.publisher.id}

    assert shop.ids(sort="name", **mine) == [alpha, bravo, charlie]  # case does not matter
    assert shop.ids(sort="recent", **mine) == [bravo, alpha, charlie]
    assert shop.ids(sort="popular", **mine) == [bravo, charlie, alpha]
    assert shop.ids(**mine) == [bravo, charlie, alpha]  # popular without words
    assert shop.ids(sort="trending", **mine) == [charlie, alpha, bravo]
    assert shop.ids(sort="rating", **mine) == [bravo, alpha, charlie]  # unrated last
    rated = shop.browse(q=f"alpha {tag}")["items"][0]
    assert rated["rating"] == {"average": 4.5, "count": 2}
    assert (rated["invocations_7d"], rated["trending"]) == (10, 500)

    walked, cursor, pages = [], None, 0
    while True:
        params = {"sort": "name", "limit": 1, **mine, **({"cursor": cursor} if cursor else {})}
        page = shop.browse(**params)
        assert page["total"] == 3
        walked += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (walked, pages) == ([alpha, bravo, charlie], 3)

    first = shop.browse(sort="name", limit=1, **mine)
    other_sort = catalogue(client, sort="popular", cursor=first["next_cursor"], **mine)
    assert other_sort.status_code == 422
    assert other_sort.json()["error"]["code"] == "invalid_cursor"


def test_who_sees_what(client: TestClient, container: Container, outbox: Path) -> None:
    tag = word()
    shop = open_shop(client, container, outbox, "Owner")
    stranger = verified_account(client, outbox, "consumer")
    made = {
        name: shop.create(name, f"{name} {tag}", tags=[tag], visibility=visibility)
        for name, visibility in (
            ("listed", "public"), ("secret", "private"), ("unlisted", "unlisted"),
            ("draft", "public"), ("retired", "public"), ("gone", "public"),
        )
    }  # fmt: skip
    for name in ("listed", "secret", "unlisted", "retired", "gone"):
        shop.publish(made[name])
    owner = shop.publisher.headers
    retired = client.post(
        f"/v1/models/{made['retired']}/deprecate", json={"reason": "old"}, headers=owner
    )
    assert retired.status_code == 200, retired.text
    assert client.delete(f"/v1/models/{made['gone']}", headers=owner).status_code == 200

    for headers in ({}, stranger.headers, owner):
        listed = shop.browse(headers=headers, q=tag)
        assert [i["id"] for i in listed["items"]] == [made["listed"]] and listed["total"] == 1
    own = shop.browse(headers=owner, mine="true", q=tag)
    assert {i["id"] for i in own["items"]} == {
        made[n] for n in ("listed", "secret", "unlisted", "draft", "retired")
    }
    assert {i["status"] for i in own["items"]} == {"published", "draft", "deprecated"}
    anonymous_mine = catalogue(client, mine="true")
    assert anonymous_mine.status_code == 401
    assert anonymous_mine.json()["error"]["code"] == "missing_credentials"

    def status(name: str, headers: dict[str, str]) -> int:
        return client.get(f"/v1/models/{made[name]}", headers=headers).status_code

    assert status("secret", {}) == status("secret", stranger.headers) == 404
    missing = client.get(f"/v1/models/{made['secret']}", headers=stranger.headers)
    assert missing.json()["error"]["code"] == "model_not_found"
    assert f"secret {tag}" not in missing.text
    assert status("secret", owner) == 200
    assert status("unlisted", {}) == 200 and status("retired", {}) == 200
    assert client.get(f"/v1/models/{made['retired']}").json()["status"] == "deprecated"
    assert status("gone", owner) == status("gone", {}) == 404
    assert client.get(f"/v1/models/{made['gone']}/versions", headers=owner).status_code == 404
    assert client.get(f"/v1/models/{made['secret']}/versions").status_code == 404


def test_model_page_and_versions(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock
) -> None:
    tag = word()
    shop = open_shop(client, container, outbox, "Pager")
    model_id = shop.create(
        "pager", f"Pager {tag}", description="# Pager\nA model card.", tags=[tag],
        pricing=paid(25, free_requests_per_month=100),
    )  # fmt: skip
    model = container.app.load(Model, UUID(model_id))
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        model.upload_version(version, DIGEST, 99, uuid.uuid4())
    model.validate_version("1.0.0", "onnx", SIGNATURE)
    model.validate_version("1.1.0", "onnx", {"inputs": [], "outputs": []})
    model.reject_version("2.0.0", ["no outputs"])
    model.publish_version("1.0.0")
    shop.save(model)
    repriced = client.put(
        f"/v1/models/{model_id}/pricing", json=paid(40), headers=shop.publisher.headers
    )
    assert repriced.status_code == 200, repriced.text
    effective_from = repriced.json()["effective_from"]

    page = client.get(f"/v1/models/{model_id}").json()
    assert (page["name"], page["description"], page["status"]) == (
        f"Pager {tag}", "# Pager\nA model card.", "published",
    )  # fmt: skip
    assert [v["version"] for v in page["versions"]] == ["1.0.0"]  # published only
    assert page["versions"][0]["digest"] == DIGEST and page["versions"][0]["size"] == 99
    assert (page["default_version"], page["signature"]) == ("1.0.0", SIGNATURE)
    assert page["pricing"]["price_per_request"] == 25
    assert page["pricing"]["free_requests_per_month"] == 100
    pending = page["pending_pricing"]
    assert pending["pricing"]["price_per_request"] == 40
    assert datetime.fromisoformat(pending["effective_from"]) == datetime.fromisoformat(
        effective_from
    )
    assert page["rating"] == {
        "average": None, "count": 0, "distribution": {str(n): 0 for n in range(1, 6)},
    }  # fmt: skip
    assert page["usage"]["invocations_total"] == 0
    assert page["publisher"]["name"] == "Pager"

    owners = client.get(f"/v1/models/{model_id}", headers=shop.publisher.headers).json()
    assert [(v["version"], v["status"]) for v in owners["versions"]] == [
        ("1.0.0", "published"), ("1.1.0", "validated"), ("2.0.0", "rejected"),
    ]  # fmt: skip
    assert owners["versions"][2]["reasons"] == ["no outputs"]
    listed = client.get(f"/v1/models/{model_id}/versions").json()["items"]
    assert [v["version"] for v in listed] == ["1.0.0"]
    own = client.get(f"/v1/models/{model_id}/versions", headers=shop.publisher.headers)
    assert [v["version"] for v in own.json()["items"]] == ["2.0.0", "1.1.0", "1.0.0"]

    shop.stats(model_id, invocations_total=7, consumers=2, rating_count=1, rating_sum=4,
               ratings_4=1)  # fmt: skip
    counted = client.get(f"/v1/models/{model_id}").json()
    assert (counted["usage"]["invocations_total"], counted["usage"]["consumers"]) == (7, 2)
    assert counted["rating"]["distribution"]["4"] == 1 and counted["rating"]["average"] == 4.0

    # Once the new period starts, the scheduled prices are the ones in force.
    now = datetime.fromisoformat(clock.now().isoformat())
    clock.advance((datetime.fromisoformat(effective_from) - now).total_seconds() + 1)
    later = client.get(f"/v1/models/{model_id}").json()
    assert later["pricing"]["price_per_request"] == 40 and later["pending_pricing"] is None
    listed_later = catalogue(client, q=f"pager {tag}").json()["items"]
    assert listed_later[0]["pricing"]["price_per_request"] == 40


def test_renamed_model_is_found_by_its_new_name(
    client: TestClient, container: Container, outbox: Path
) -> None:
    old, new = word(), word()
    shop = open_shop(client, container, outbox, "Renamer")
    model_id = shop.create("renamed", f"Model {old}")
    shop.publish(model_id)
    changed = client.patch(
        f"/v1/models/{model_id}", json={"name": f"Model {new}"}, headers=shop.publisher.headers
    )
    assert changed.status_code == 200, changed.text
    assert shop.ids(q=new) == [model_id]
    assert shop.ids(q=old) == []


def test_bad_queries_are_refused_with_stable_codes(client: TestClient) -> None:
    cases = [
        ({"sort": "cheapest"}, "invalid_sort"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "eyJub3QiOiJhIGxpc3QifQ"}, "invalid_cursor"),
        ({"price": "cheap"}, "invalid_price_filter"),
        ({"price_min": 10, "price_max": 5}, "invalid_price_filter"),
        ({"price_min": -1}, "invalid_input"),
        ({"limit": 0}, "invalid_input"),
        ({"limit": 1000}, "invalid_input"),
        ({"publisher": "someone"}, "invalid_input"),
        ({"q": "x" * 201}, "invalid_input"),
    ]
    for params, code in cases:
        response = catalogue(client, **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["code"] == code, params
    assert client.get("/v1/models/not-a-uuid").status_code == 422
    unknown = client.get(f"/v1/models/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    bad_token = client.get("/v1/models", headers={"Authorization": "Bearer nonsense"})
    assert bad_token.status_code == 401
    # Query syntax of either engine is only words to us.
    assert catalogue(client, q='title:"x" OR (NEAR* -').status_code == 200


def test_misspelt_words_find_models_where_the_engine_forgives_typos(
    client: TestClient, container: Container, outbox: Path, profile: str
) -> None:
    shop = open_shop(client, container, outbox, "Typist")
    model_id = shop.create("pelican", "Pelican detector")
    shop.publish(model_id)
    found = shop.ids(q="pelicna detector", publisher=shop.publisher.id)
    # OpenSearch matches with fuzziness AUTO; FTS5 has no fuzzy matching (documented).
    assert found == ([model_id] if profile == "cluster" else [])
    assert shop.ids(q="pelic", publisher=shop.publisher.id) == [model_id]  # a partial word


def test_models_read_model_replays_to_the_live_one(
    client: TestClient, container: Container, outbox: Path
) -> None:
    """Audit: the `models` read model rebuilt from the event store equals the live one, and
    the search index holds the live one's documents."""
    shop = open_shop(client, container, outbox, "Auditor")
    model_id = shop.create("audited", f"Audited {word()}", pricing=paid(3))
    shop.publish(model_id, "1.0.0", "1.1.0")
    shop.stats(model_id, invocations_7d=5, rating_count=1, rating_sum=3)
    assert client.get(f"/v1/models/{model_id}").status_code == 200  # the live one caught up
    progress, search = container.read.progress, container.read.search
    differing = verify(container.app, container.read.store, "models", progress.reached,
                       lambda *_: None, search=search)  # fmt: skip
    assert differing == []
    # The search index is held to the read model too: one it lost is reported.
    live = container.read.store.get("models", model_id)
    assert live is not None
    search.apply("models", [DocChange(model_id, live["_version"] + 1, None)])
    differing = verify(container.app, container.read.store, "models", progress.reached,
                       lambda *_: None, search=search)  # fmt: skip
    assert differing == [f"models index: {model_id}"]
    search.apply("models", [to_change(model_id, {**live, "_version": live["_version"] + 2})])
