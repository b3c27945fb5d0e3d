"""Sends one signed delivery over HTTP: through the SSRF guard, dialing the checked
address, short timeouts, redirects followed by hand (at most 3), each checked again."""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from commands.webhook_ports import Attempt
from infra.webhooks.ssrf import Target, UrlGuard, UrlRefused

MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def pinned_url(target: Target) -> str:
    """The target's URL with its host replaced by the checked address."""
    parts = urlsplit(target.url)
    host = f"[{target.address}]" if ":" in target.address else target.address
    return urlunsplit((parts.scheme, f"{host}:{target.port}", parts.path, parts.query, ""))


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    return target.host if target.port == default else f"{target.host}:{target.port}"


class WebhookSender:
    def __init__(self, guard: UrlGuard, connect_timeout_s: float, read_timeout_s: float) -> None:
        self.guard = guard
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        # No automatic redirects and no proxies from the environment: every hop is ours.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def send(self, url: str, body: bytes, headers: dict[str, str], at: float) -> Attempt:
        started = time.perf_counter()

        def attempt(outcome: str, status: int | None = None, error: str | None = None) -> Attempt:
            ms = round((time.perf_counter() - started) * 1000, 1)
            return Attempt(at=at, outcome=outcome, status_code=status, error=error, duration_ms=ms)

        try:
            for _ in range(MAX_REDIRECTS + 1):
                target = self.guard.check(url)
                response = self._post(target, body, headers)
                location = response.headers.get("location")
                if response.status_code not in REDIRECTS or not location:
                    ok = 200 <= response.status_code < 300
                    return attempt("delivered" if ok else "failed", response.status_code)
                url = urljoin(url, location)
            return attempt("failed", response.status_code, f"more than {MAX_REDIRECTS} redirects")
        except UrlRefused as refused:
            return attempt("refused", error=refused.message)
        except httpx.HTTPError as error:
            return attempt("failed", error=f"{type(error).__name__}: {error}"[:300])

    def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> httpx.Response:
        request = self._client.build_request(
            "POST",
            pinned_url(target),
            content=body,
            headers={**headers, "host": host_header(target), "content-type": "application/json"},
        )
        if target.scheme == "https":  # present the name for SNI and the certificate check
            request.extensions["sni_hostname"] = target.host
        response = self._client.send(request)
        response.close()
        return response

    def close(self) -> None:
        self._client.close()
