"""The blocking client: `Client(base_url, api_key=...)`, or `Client(base_url)` then
`client.login(email, password)`. Resources mirror the API: `client.models`, `client.jobs`,
`client.keys`, `client.billing`, `client.purchases`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from aimarket_client.downloads import download
from aimarket_client.ops import account, billing, inference, models
from aimarket_client.ops.uploads import Progress, PushOptions, push, resume
from aimarket_client.session import USER_AGENT, Credentials, Session, TokensSaved
from aimarket_client.transport import SyncTransport
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


class Client:
    def __init__(self, base_url: str, *, api_key: str | None = None,
                 access_token: str | None = None, refresh_token: str | None = None,
                 on_refresh: TokensSaved | None = None, timeout_s: float = 60.0,
                 max_retries: int = 3, http: httpx.Client | None = None) -> None:  # fmt: skip
        credentials = Credentials(api_key, access_token, refresh_token, on_refresh)
        self.session = Session(credentials, max_retries=max_retries)
        self.http = http or httpx.Client(
            base_url=base_url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )
        self.transport = SyncTransport(self.http, self.session)
        self.known: dict[str, str] = {}  # model slug -> id
        self.models = Models(self)
        self.jobs = Jobs(self)
        self.keys = Keys(self)
        self.billing = Billing(self)
        self.purchases = Purchases(self)

    def login(self, email: str, password: str) -> dict[str, str]:
        """Log in as a person; the client then sends (and renews) the access token."""
        pair = self.transport.run(account.login(email, password))
        credentials = self.session.credentials
        credentials.api_key = None
        credentials.access_token = pair["access_token"]
        credentials.refresh_token = pair["refresh_token"]
        return pair

    def logout(self) -> None:
        self.transport.run(account.logout())

    def me(self) -> UserPublic:
        return self.transport.run(account.me())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.run = client.transport.run


class Models(_Resource):
    def search(self, q: str | None = None, *, limit: int = 20, cursor: str | None = None,
               mine: bool = False, **filters: Any) -> ModelsPage:  # fmt: skip
        return self.run(models.search(q, limit, cursor, mine, **filters))

    def show(self, model: str) -> ModelPublic:
        return self.run(models.show(self.resolve(model)))

    def resolve(self, model: str) -> str:
        """The id of a model named by id, slug or publisher_id/slug."""
        return self.run(models.resolve(model, self.client.known))

    def create(self, slug: str, name: str, **details: Any) -> str:
        return self.run(models.create(slug, name, **details))

    def push(self, path: str | Path, *, model: str, version: str, publish: bool = False,
             name: str | None = None, progress: Progress | None = None, parallel: int = 4,
             part_size: int | None = None, part_digests: bool = True) -> VersionOut:  # fmt: skip
        """Upload `path` as `version` of your model `model` (a slug: made as a draft
        named `name` if you have none), in parts sent side by side and resumed after
        dropped connections; validated; published too with `publish`."""
        options = PushOptions(parallel, part_size, part_digests, progress=progress)
        model_id = self.run(models.created_or_found(model, name, self.client.known))
        done = self.run(push(Path(path), model_id, version, options))
        if publish:
            self.publish(model_id, version)
        return done

    def resume_upload(self, path: str | Path, upload_id: str, *, parallel: int = 4,
                      progress: Progress | None = None) -> VersionOut:  # fmt: skip
        """Finish an upload an earlier push left (`UploadInterrupted.upload_id`)."""
        options = PushOptions(parallel, progress=progress)
        return self.run(resume(Path(path), upload_id, options))

    def publish(self, model: str, version: str) -> None:
        self.run(models.publish(self.resolve(model), version))

    def infer(self, model: str, inputs: Mapping[str, Any], *, version: str | None = None,
              wait_loading_s: float = 0.0) -> InferResponse:  # fmt: skip
        """Call a model: `inputs` by name (numpy arrays or nested lists); `outputs` are
        numpy arrays when numpy is installed."""
        return self.run(inference.infer(model, inputs, version, self.client.known,
                                        wait_loading_s))  # fmt: skip

    def download(self, model: str, version: str, dest: str | Path) -> Path:
        """The version's artifact written to `dest`, its sha256 checked."""
        model_id = self.resolve(model)
        url = self.run(models.download_url(model_id, version))
        digest = self.run(models.version_of(model_id, version)).get("digest")
        return download(self.client.http, url, Path(dest), digest)


class Jobs(_Resource):
    def create(self, model: str, inputs: Mapping[str, Any], *, version: str | None = None,
               webhook: bool = False) -> JobPublic:  # fmt: skip
        return self.run(inference.create_job(model, inputs, version, webhook,
                                             self.client.known))  # fmt: skip

    def get(self, job_id: str) -> JobPublic:
        return self.run(inference.get_job(job_id))

    def list(self, *, limit: int = 20, cursor: str | None = None) -> list[JobPublic]:
        return self.run(inference.list_jobs(limit, cursor))

    def cancel(self, job_id: str) -> JobPublic:
        return self.run(inference.cancel_job(job_id))

    def wait(self, job_id: str, *, timeout_s: float = 120.0, poll_s: float = 0.2) -> JobPublic:
        return self.run(inference.wait_job(job_id, timeout_s, poll_s))


class Keys(_Resource):
    def create(self, name: str, scopes: list[str], *,
               expires_at: str | None = None) -> ApiKeyCreated:  # fmt: skip
        return self.run(account.create_key(name, scopes, expires_at))

    def list(self, *, include_revoked: bool = False) -> list[ApiKeyPublic]:
        return self.run(account.list_keys(include_revoked))

    def revoke(self, key_id: str) -> None:
        self.run(account.revoke_key(key_id))

    def rotate(self, key_id: str) -> ApiKeyCreated:
        return self.run(account.rotate_key(key_id))


class Billing(_Resource):
    def usage(self, first: date | str | None = None,
              last: date | str | None = None) -> UsageReportPublic:  # fmt: skip
        return self.run(billing.usage(first, last))

    def add_card(self, payment_method: str) -> str:
        return self.run(billing.add_card(payment_method))

    def cards(self) -> list[PaymentMethodPublic]:
        return self.run(billing.cards())


class Purchases(_Resource):
    def create(self, model: str, *, plan: str | None = None,
               idempotency_key: str | None = None) -> PurchasePublic:  # fmt: skip
        return self.run(billing.purchase(model, plan, idempotency_key, self.client.known))

    def get(self, purchase_id: str) -> PurchasePublic:
        return self.run(billing.get_purchase(purchase_id))

    def list(self, *, limit: int = 50) -> list[PurchasePublic]:
        return self.run(billing.list_purchases(limit))

    def wait(self, purchase_id: str, *, timeout_s: float = 60.0,
             poll_s: float = 0.2) -> PurchasePublic:  # fmt: skip
        return self.run(billing.wait_purchase(purchase_id, timeout_s, poll_s))
