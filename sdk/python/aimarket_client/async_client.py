"""The asyncio client: `AsyncClient` is `Client` with every call awaited (the operations
are the same code: aimarket_client.ops)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from aimarket_client.downloads import download_async
from aimarket_client.ops import account, billing, inference, models
from aimarket_client.ops.uploads import Progress, PushOptions, push, resume
from aimarket_client.session import USER_AGENT, Credentials, Session, TokensSaved
from aimarket_client.transport import AsyncTransport
from aimarket_client.types import (
    ApiKeyCreated,
    ApiKeyPublic,
    InferResponse,
    JobPublic,
    ModelPublic,
    ModelsPage,
    PaymentMethodPublic,
    PurchasePublic,
    UsageReportPublic,
    UserPublic,
    VersionOut,
)


class AsyncClient:
    def __init__(self, base_url: str, *, api_key: str | None = None,
                 access_token: str | None = None, refresh_token: str | None = None,
                 on_refresh: TokensSaved | None = None, timeout_s: float = 60.0,
                 max_retries: int = 3, http: httpx.AsyncClient | None = None) -> None:  # fmt: skip
        credentials = Credentials(api_key, access_token, refresh_token, on_refresh)
        self.session = Session(credentials, max_retries=max_retries)
        self.http = http or httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )
        self.transport = AsyncTransport(self.http, self.session)
        self.known: dict[str, str] = {}  # model slug -> id
        self.models = AsyncModels(self)
        self.jobs = AsyncJobs(self)
        self.keys = AsyncKeys(self)
        self.billing = AsyncBilling(self)
        self.purchases = AsyncPurchases(self)

    async def login(self, email: str, password: str) -> dict[str, str]:
        """Log in as a person; the client then sends (and renews) the access token."""
        pair = await self.transport.run(account.login(email, password))
        credentials = self.session.credentials
        credentials.api_key = None
        credentials.access_token = pair["access_token"]
        credentials.refresh_token = pair["refresh_token"]
        return pair

    async def logout(self) -> None:
        await self.transport.run(account.logout())

    async def me(self) -> UserPublic:
        return await self.transport.run(account.me())

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Resource:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.run = client.transport.run


class AsyncModels(_Resource):
    async def search(self, q: str | None = None, *, limit: int = 20, cursor: str | None = None,
               mine: bool = False, **filters: Any) -> ModelsPage:  # fmt: skip
        return await self.run(models.search(q, limit, cursor, mine, **filters))

    async def show(self, model: str) -> ModelPublic:
        return await self.run(models.show(await self.resolve(model)))

    async def resolve(self, model: str) -> str:
        """The id of a model named by id, slug or publisher_id/slug."""
        return await self.run(models.resolve(model, self.client.known))

    async def create(self, slug: str, name: str, **details: Any) -> str:
        return await self.run(models.create(slug, name, **details))

    async def push(self, path: str | Path, *, model: str, version: str, publish: bool = False,
             name: str | None = None, progress: Progress | None = None, parallel: int = 4,
             part_size: int | None = None, part_digests: bool = True) -> VersionOut:  # fmt: skip
        """Upload `path` as `version` of your model `model` (a slug: made as a draft
        named `name` if you have none), in parts sent side by side and resumed after
        dropped connections; validated; published too with `publish`."""
        options = PushOptions(parallel, part_size, part_digests, progress=progress)
        model_id = await self.run(models.created_or_found(model, name, self.client.known))
        done = await self.run(push(Path(path), model_id, version, options))
        if publish:
            await self.publish(model_id, version)
        return done

    async def resume_upload(self, path: str | Path, upload_id: str, *, parallel: int = 4,
                      progress: Progress | None = None) -> VersionOut:  # fmt: skip
        """Finish an upload an earlier push left (`UploadInterrupted.upload_id`)."""
        options = PushOptions(parallel, progress=progress)
        return await self.run(resume(Path(path), upload_id, options))

    async def publish(self, model: str, version: str) -> None:
        await self.run(models.publish(await self.resolve(model), version))

    async def infer(self, model: str, inputs: Mapping[str, Any], *, version: str | None = None,
              wait_loading_s: float = 0.0) -> InferResponse:  # fmt: skip
        """Call a model: `inputs` by name (numpy arrays or nested lists); `outputs` are
        numpy arrays when numpy is installed."""
        return await self.run(inference.infer(model, inputs, version, self.client.known,
                                        wait_loading_s))  # fmt: skip

    async def download(self, model: str, version: str, dest: str | Path) -> Path:
        """The version's artifact written to `dest`, its sha256 checked."""
        model_id = await self.resolve(model)
        url = await self.run(models.download_url(model_id, version))
        digest = (await self.run(models.version_of(model_id, version))).get("digest")
        return await download_async(self.client.http, url, Path(dest), digest)


class AsyncJobs(_Resource):
    async def create(self, model: str, inputs: Mapping[str, Any], *, version: str | None = None,
               webhook: bool = False) -> JobPublic:  # fmt: skip
        return await self.run(inference.create_job(model, inputs, version, webhook,
                                             self.client.known))  # fmt: skip

    async def get(self, job_id: str) -> JobPublic:
        return await self.run(inference.get_job(job_id))

    async def list(self, *, limit: int = 20, cursor: str | None = None) -> list[JobPublic]:
        return await self.run(inference.list_jobs(limit, cursor))

    async def cancel(self, job_id: str) -> JobPublic:
        return await self.run(inference.cancel_job(job_id))

    async def wait(self, job_id: str, *, timeout_s: float = 120.0,
                   poll_s: float = 0.2) -> JobPublic:  # fmt: skip
        return await self.run(inference.wait_job(job_id, timeout_s, poll_s))


class AsyncKeys(_Resource):
    async def create(self, name: str, scopes: list[str], *,
               expires_at: str | None = None) -> ApiKeyCreated:  # fmt: skip
        return await self.run(account.create_key(name, scopes, expires_at))

    async def list(self, *, include_revoked: bool = False) -> list[ApiKeyPublic]:
        return await self.run(account.list_keys(include_revoked))

    async def revoke(self, key_id: str) -> None:
        await self.run(account.revoke_key(key_id))

    async def rotate(self, key_id: str) -> ApiKeyCreated:
        return await self.run(account.rotate_key(key_id))


class AsyncBilling(_Resource):
    async def usage(self, first: date | str | None = None,
              last: date | str | None = None) -> UsageReportPublic:  # fmt: skip
        return await self.run(billing.usage(first, last))

    async def add_card(self, payment_method: str) -> str:
        return await self.run(billing.add_card(payment_method))

    async def cards(self) -> list[PaymentMethodPublic]:
        return await self.run(billing.cards())


class AsyncPurchases(_Resource):
    async def create(self, model: str, *, plan: str | None = None,
               idempotency_key: str | None = None) -> PurchasePublic:  # fmt: skip
        return await self.run(billing.purchase(model, plan, idempotency_key, self.client.known))

    async def get(self, purchase_id: str) -> PurchasePublic:
        return await self.run(billing.get_purchase(purchase_id))

    async def list(self, *, limit: int = 50) -> list[PurchasePublic]:
        return await self.run(billing.list_purchases(limit))

    async def wait(self, purchase_id: str, *, timeout_s: float = 60.0,
             poll_s: float = 0.2) -> PurchasePublic:  # fmt: skip
        return await self.run(billing.wait_purchase(purchase_id, timeout_s, poll_s))
