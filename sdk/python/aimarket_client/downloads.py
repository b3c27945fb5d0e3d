"""Downloading an artifact from its signed URL, checked against its sha256 as it is
written: a file that does not match is deleted and `DigestMismatch` raised."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from aimarket_client.errors import DigestMismatch, error_from

CHUNK = 1 << 20


def expected_digest(response: httpx.Response) -> str | None:
    """The hex sha256 the server names in `ETag: "sha256:<hex>"`."""
    tag = response.headers.get("etag", "").strip('"')
    return tag.removeprefix("sha256:") if tag.startswith("sha256:") else None


def check(response: httpx.Response) -> None:
    if not response.is_success:
        response.read()
        raise error_from(response)


def verified(dest: Path, hasher: Any, wanted: str | None) -> Path:
    got = hasher.hexdigest()
    if wanted is None or got != wanted.removeprefix("sha256:"):
        dest.unlink(missing_ok=True)
        raise DigestMismatch(f"{dest.name}: sha256 {got}, expected {wanted}")
    return dest


def download(http: httpx.Client, url: str, dest: Path, digest: str | None) -> Path:
    """`digest`: the version's published sha256; else the one the server's ETag names."""
    hasher = hashlib.sha256()
    with http.stream("GET", url) as response:
        check(response)
        with dest.open("wb") as file:
            for chunk in response.iter_bytes(CHUNK):
                hasher.update(chunk)
                file.write(chunk)
        return verified(dest, hasher, digest or expected_digest(response))


async def download_async(http: httpx.AsyncClient, url: str, dest: Path,
                         digest: str | None) -> Path:  # fmt: skip
    hasher = hashlib.sha256()
    async with http.stream("GET", url) as response:
        if not response.is_success:
            await response.aread()
            raise error_from(response)
        with dest.open("wb") as file:
            async for chunk in response.aiter_bytes(CHUNK):
                hasher.update(chunk)
                file.write(chunk)
        return verified(dest, hasher, digest or expected_digest(response))
