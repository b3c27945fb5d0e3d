"""Sends one signed delivery over HTTP: through the SSRF guard, dialing the checked
address, short timeouts, redirects followed by hand (at most 3), each checked again.

Each destination (scheme, host and port as the endpoint names them) has its own breaker
of the `webhooks` family (infra/resilience.py): one customer's dead endpoint pauses only
its own deliveries. Unreachable, timed out or 5xx counts; a 4xx or a refused URL does not.
No retry here: the dispatcher retries a failed delivery on its own schedule."""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from commands.webhook_ports import Attempt
from infra.resilience import BreakerOpen, BreakerPolicy, BreakerRegistry, RetryPolicy
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


class ServerFailed(Exception):
    """A 5xx answer: the endpoint is up but failing (counts for its breaker)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"answered {status_code}")
        self.status_code = status_code


def endpoint_failed(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError | ServerFailed)


def destination(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class WebhookSender:
    def __init__(
        self, guard: UrlGuard, connect_timeout_s: float, read_timeout_s: float,
        breakers: BreakerRegistry | None = None,
    ) -> None:  # fmt: skip
        self.guard = guard
        breakers = breakers or BreakerRegistry(BreakerPolicy(), RetryPolicy())
        self.breakers = breakers.family("webhooks", endpoint_failed)
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        # No automatic redirects and no proxies from the environment: every hop is ours.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def send(self, url: str, body: bytes, headers: dict[str, str], at: float) -> Attempt:
        started = time.perf_counter()

        def attempt(outcome: str, status: int | None = None, error: str | None = None) -> Attempt:
            ms = round((time.perf_counter() - started) * 1000, 1)
            return Attempt(at=at, outcome=outcome, status_code=status, error=error, duration_ms=ms)

        try:
            with self.breakers.get(destination(url)).calling():
                status, why = self._follow(url, body, headers)
        except ServerFailed as failed:
            return attempt("failed", failed.status_code)
        except BreakerOpen:
            return attempt("failed", error="the endpoint keeps failing; deliveries are paused")
        except UrlRefused as refused:
            return attempt("refused", error=refused.message)
        except httpx.HTTPError as error:
            return attempt("failed", error=f"{type(error).__name__}: {error}"[:300])
        ok = why is None and 200 <= status < 300
        return attempt("delivered" if ok else "failed", status, why)

    def _follow(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
        """The final status (and why it is a failure, for too many redirects)."""
        for _ in range(MAX_REDIRECTS + 1):
            target = self.guard.check(url)
            response = self._post(target, body, headers)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                if response.status_code >= 500:
                    raise ServerFailed(response.status_code)
                return response.status_code, None
            url = urljoin(url, location)
        return response.status_code, f"more than {MAX_REDIRECTS} redirects"

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
