"""The SDK against a live server (uvicorn on a real socket) on both profiles: a real ONNX
model pushed in parts through a proxy that drops every connection midway (the upload
asks for its missing parts and resumes), published, deployed, called and compared with
onnxruntime; a paid model bought with a test card, then usage and cost read back."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from aimarket_client import AsyncClient, Client, NotFound, PaymentRequired
from aimarket_client.types import Money
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import affine_model, run_directly, wait_deployed
from tests.pipeline import wait_until
from tests.sdk_support import (
    PRICING,
    WEIGHTS,
    X,
    live_server,
    live_settings,
    model_file,
    sdk_for,
    unused_port,
)
from tests.support import PASSWORD, Account, verified_account
from tests.tcp_proxy import Proxy, proxy_to


@pytest.fixture
def port() -> int:
    return unused_port()


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest,
             port: int) -> Settings:  # fmt: skip
    return live_settings(settings, profile, request, port)


class Dropper:
    """Cuts the proxy once a third of the upload is in, and restores it shortly after."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy, self.dropped = proxy, threading.Event()

    def __call__(self, done: int, total: int) -> None:
        if done * 3 >= total and not self.dropped.is_set():
            self.dropped.set()
            self.proxy.down()
            threading.Timer(0.5, self.proxy.up).start()


def test_a_pushed_model_resumes_after_a_drop_and_is_bought_called_and_billed(
    client: TestClient, container: Container, outbox: Path, port: int, tmp_path: Path,
    metering: None,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    slug = f"sdk-{uuid.uuid4().hex[:8]}"
    with live_server(container, port) as base_url:
        with proxy_to(base_url.removeprefix("http://")) as proxy:
            model_id, sent = _push_through_drop(f"http://{proxy.address}", publisher, slug,
                                                tmp_path, proxy)  # fmt: skip
        parts = -(-len(affine_model(WEIGHTS)) // 1024)
        # the parts cut off were sent again, after a second round of asking what is missing
        assert sent["PUT"] > parts and sent["GET status"] >= 3
        assert wait_deployed(container, model_id) == "deployed"
        with sdk_for(base_url, consumer) as buyer:
            _call_buy_and_read_usage(buyer, base_url, publisher, slug, model_id, tmp_path)


def _push_through_drop(url: str, publisher: Account, slug: str, tmp_path: Path,
                       proxy: Proxy) -> tuple[str, dict[str, int]]:  # fmt: skip
    sent = {"PUT": 0, "GET status": 0}

    def count(request: httpx.Request) -> None:
        if request.method == "PUT":
            sent["PUT"] += 1
        elif request.method == "GET" and request.url.path.startswith("/v1/uploads/"):
            sent["GET status"] += 1

    with sdk_for(url, publisher, {"request": [count]}) as sdk:
        model_id = sdk.models.create(slug, "Wide affine", visibility="public", pricing=PRICING)
        done = sdk.models.push(model_file(tmp_path), model=slug, version="1.0.0", publish=True,
                               part_size=1024, progress=Dropper(proxy))  # fmt: skip
    assert (done.status, done.id, done.signature["inputs"][0]["name"]) == (  # type: ignore[index]
        "validated", model_id, "x",
    )  # fmt: skip
    return model_id, sent


def _call_buy_and_read_usage(buyer: Client, base_url: str, publisher: Account, slug: str,
                             model_id: str, tmp_path: Path) -> None:  # fmt: skip
    key = buyer.keys.create("calls", ["inference", "billing:read"])
    assert key.key.startswith("aimpk_") and key.id in {k.id for k in buyer.keys.list()}
    with Client(base_url, api_key=key.key) as caller:
        free = caller.models.infer(f"{publisher.id}/{slug}", {"x": X})
        assert isinstance(free.outputs["y"], np.ndarray) and free.cost.amount == 0
        np.testing.assert_allclose(free.outputs["y"], run_directly(affine_model(WEIGHTS), X),
                                   atol=1e-6)  # fmt: skip
        with pytest.raises(PaymentRequired) as refused:
            caller.models.infer(model_id, {"x": X})
        assert refused.value.code == "payment_required"

        buyer.billing.add_card("4242424242424242")  # Stripe's test Visa
        bought = buyer.purchases.wait(buyer.purchases.create(model_id).id)
        assert (bought.state, bought.amount) == ("completed", Money(4900, "EUR"))
        paid = caller.models.infer(model_id, {"x": X.tolist()})
        assert (paid.cost.units, paid.cost.amount, paid.cost.currency) == (1, 2, "EUR")
        wait_until(lambda: _billed(caller) == 2, 60, "the paid call priced")
        day = next(d for d in caller.billing.usage().days if d.model_id == model_id)
        assert (day.cost.amount, day.billable_units) == (2, 1)
    saved = buyer.models.download(model_id, "1.0.0", tmp_path / "got.onnx")
    assert saved.read_bytes() == affine_model(WEIGHTS)


def _billed(caller: Client) -> int:
    return sum(total.amount for total in caller.billing.usage().totals)


def test_a_job_ends_with_the_outputs_of_a_direct_call(
    client: TestClient, container: Container, outbox: Path, port: int, tmp_path: Path
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    with live_server(container, port) as base_url, sdk_for(base_url, publisher) as sdk:
        done = sdk.models.push(model_file(tmp_path), model=f"job-{uuid.uuid4().hex[:8]}",
                               version="1.0.0", publish=True)  # fmt: skip
        assert wait_deployed(container, done.id) == "deployed"
        job = sdk.jobs.create(done.id, {"x": X})
        assert job.status in ("queued", "running", "succeeded")
        ended = sdk.jobs.wait(job.id, timeout_s=60)
        assert ended.status == "succeeded" and ended.result is not None, ended
        np.testing.assert_allclose(ended.result["outputs"]["y"],
                                   run_directly(affine_model(WEIGHTS), X), atol=1e-6)  # fmt: skip
        assert job.id in {j.id for j in sdk.jobs.list()}


def test_the_async_client_pushes_in_parallel_and_reads_what_it_just_created(
    client: TestClient, container: Container, outbox: Path, port: int, tmp_path: Path
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    slug = f"async-{uuid.uuid4().hex[:8]}"
    seen: list[int] = []

    async def journey(base_url: str) -> None:
        async with AsyncClient(base_url) as sdk:
            await sdk.login(publisher.email, PASSWORD)
            model_id = await sdk.models.create(slug, "Async affine")
            assert (await sdk.models.show(slug)).id == model_id  # its own, by slug
            mine = await sdk.models.search(mine=True)
            assert model_id in {m.id for m in mine.items}
            done = await sdk.models.push(
                model_file(tmp_path), model=slug, version="0.1.0", part_size=4096,
                progress=lambda done, total: seen.append(done),
            )  # fmt: skip
            page = await sdk.models.show(slug)
            assert [(v.version, v.status, v.digest) for v in page.versions] == [
                ("0.1.0", "validated", done.digest)
            ]
            with pytest.raises(NotFound):
                await sdk.models.show(str(uuid.uuid4()))

    with live_server(container, port) as base_url:
        asyncio.run(journey(base_url))
    assert seen == sorted(seen) and seen[-1] == model_file(tmp_path).stat().st_size
