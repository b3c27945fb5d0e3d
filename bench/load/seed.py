"""The marketplace a load run starts from, made through the HTTP API as its users would:
publishers with a catalogue of published models (tasks, tags, licences and prices varied,
for facets), a few ONNX models deployed on Triton, and consumers with a saved card and an
API key."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.gateway import verification_token

PASSWORD = "a long load password 1"
TASKS = ("image-classification", "text-classification", "translation", "summarization",
         "object-detection", "speech-recognition", "embedding", "tabular-regression")  # fmt: skip
TAGS = ("vision", "nlp", "audio", "small", "fast", "multilingual", "edge", "research")
LICENSES = ("mit", "apache-2.0", "cc-by-4.0", "proprietary")
WORDS = ("resnet", "bert", "whisper", "yolo", "t5", "clip", "marian", "xgboost", "gpt", "vit")
PAID = {"currency": "EUR", "free_requests_per_month": 1, "price_per_request": 2,
        "purchase_price": 4900}  # fmt: skip


@dataclass
class Seed:
    """What the swarm needs: ids and credentials, as JSON."""

    base_url: str
    model_file: str
    catalogue: list[str] = field(default_factory=list)  # published model ids
    paid: list[str] = field(default_factory=list)  # catalogue models sold outright
    free_deployed: list[str] = field(default_factory=list)  # on Triton, free to call
    paid_deployed: list[str] = field(default_factory=list)  # on Triton, 402 until bought
    publishers: list[str] = field(default_factory=list)  # bearer tokens
    consumers: list[dict[str, str]] = field(default_factory=list)  # {token, key}

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def account(http: httpx.Client, data_dir: Path, role: str) -> str:
    """A verified account's access token."""
    email = f"load-{role}-{uuid.uuid4().hex[:10]}@example.com"
    made = http.post("/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                "role": role})  # fmt: skip
    made.raise_for_status()
    token = verification_token(data_dir, email)
    http.post("/v1/auth/verify-email", json={"token": token}).raise_for_status()
    login = http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return str(login.json()["access_token"])


def consumer(http: httpx.Client, data_dir: Path) -> dict[str, str]:
    """A consumer with a card saved and an inference key."""
    token = account(http, data_dir, "consumer")
    auth = {"Authorization": f"Bearer {token}"}
    card = http.post("/v1/billing/payment-methods", json={"payment_method": "pm_card_visa"},
                     headers=auth)  # fmt: skip
    card.raise_for_status()
    key = http.post("/v1/auth/api-keys", json={"name": "load", "scopes": ["inference"]},
                    headers=auth)  # fmt: skip
    key.raise_for_status()
    return {"token": token, "key": str(key.json()["key"])}


def publish(http: httpx.Client, token: str, content: bytes, details: dict[str, Any]) -> str:
    """A model created, its one version uploaded and published: its id."""
    auth = {"Authorization": f"Bearer {token}"}
    made = http.post("/v1/models", json=details, headers=auth)
    made.raise_for_status()
    model_id = str(made.json()["id"])
    upload_id = upload(http, auth, model_id, content)
    done = http.post(f"/v1/uploads/{upload_id}/complete", headers=auth)
    done.raise_for_status()
    assert done.json()["status"] == "validated", done.text
    http.post(f"/v1/models/{model_id}/versions/1.0.0/publish", headers=auth).raise_for_status()
    return model_id


def upload_body(content: bytes) -> dict[str, Any]:
    """Version 1.0.0 of `content`, in one part (a part is at least 1 KiB)."""
    digest = hashlib.sha256(content).hexdigest()
    return {"version": "1.0.0", "size": len(content), "sha256": digest,
            "part_size": max(1024, len(content))}  # fmt: skip


def upload(http: httpx.Client, auth: dict[str, str], model_id: str, content: bytes) -> str:
    """Version 1.0.0's bytes sent in one part: the upload's id, ready to complete."""
    body = upload_body(content)
    started = http.post(f"/v1/models/{model_id}/uploads", json=body, headers=auth)
    started.raise_for_status()
    upload_id = str(started.json()["upload_id"])
    put = http.put(f"/v1/uploads/{upload_id}/parts/1", content=content,
                   headers={**auth, "Content-Type": "application/octet-stream"})  # fmt: skip
    put.raise_for_status()
    return upload_id


def details(n: int, rng: random.Random, paid: bool) -> dict[str, Any]:
    word = rng.choice(WORDS)
    return {"slug": f"{word}-{n}-{uuid.uuid4().hex[:6]}", "name": f"{word.upper()} {n}",
            "description": f"A {word} model for {rng.choice(TASKS)}, number {n}.",
            "task": rng.choice(TASKS), "tags": rng.sample(TAGS, 2),
            "license": rng.choice(LICENSES), "visibility": "public",
            **({"pricing": PAID} if paid else {})}  # fmt: skip


def catalogue(seed: Seed, data_dir: Path, content: bytes, models: int, threads: int = 4) -> None:
    """`models` published models over a few publishers; a third of them sold outright."""
    rng = random.Random(18)
    with httpx.Client(base_url=seed.base_url, timeout=120) as http:
        seed.publishers = [account(http, data_dir, "publisher") for _ in range(5)]
        plan = [(n, details(n, rng, paid=n % 3 == 0)) for n in range(models)]
        with ThreadPoolExecutor(threads) as pool:
            ids = list(pool.map(lambda nd: publish(http, seed.publishers[nd[0] % 5], content,
                                                   nd[1]), plan))  # fmt: skip
    seed.catalogue = ids
    seed.paid = [model_id for (n, _), model_id in zip(plan, ids, strict=True) if n % 3 == 0]


def deployed(seed: Seed, content: bytes, alive: Callable[[], None], count: int = 2) -> None:
    """`count` free and `count` paid models published for the deployer, waited for
    (`alive` raises when a process of the deployment has died meanwhile)."""
    rng = random.Random(19)
    with httpx.Client(base_url=seed.base_url, timeout=120) as http:
        token = seed.publishers[0]
        seed.free_deployed = [publish(http, token, content, details(9000 + n, rng, False))
                              for n in range(count)]  # fmt: skip
        seed.paid_deployed = [publish(http, token, content, details(9100 + n, rng, True))
                              for n in range(count)]  # fmt: skip
        for model_id in seed.free_deployed + seed.paid_deployed:
            wait_deployed(http, model_id, alive)


def wait_deployed(http: httpx.Client, model_id: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        alive()
        page = http.get(f"/v1/models/{model_id}")
        if page.status_code == 200:
            [version] = page.json()["versions"]
            status = (version.get("deployment") or {}).get("status")
            if status == "deployed":
                return
            if status == "failed":
                raise SystemExit(f"{model_id} failed to deploy: {version['deployment']}")
        time.sleep(0.5)
    raise SystemExit(f"{model_id} was not deployed in 5 minutes")


def consumers(seed: Seed, data_dir: Path, count: int, threads: int = 4) -> None:
    with (
        httpx.Client(base_url=seed.base_url, timeout=120) as http,
        ThreadPoolExecutor(threads) as pool,
    ):
        seed.consumers = list(pool.map(lambda _: consumer(http, data_dir), range(count)))
