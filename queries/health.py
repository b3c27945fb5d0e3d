"""Readiness: can this process reach the stores it needs?"""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import Unavailable


class NotReady(Unavailable):
    code = "not_ready"


class Readiness:
    def __init__(self, checks: dict[str, Callable[[], object]]) -> None:
        self._checks = checks

    def check(self) -> dict[str, object]:
        failed: dict[str, str] = {}
        for name, probe in self._checks.items():
            try:
                probe()
            except Exception as error:  # any failure means not ready; report which and why
                failed[name] = type(error).__name__
        if failed:
            raise NotReady(f"not ready: {failed}")
        return {"status": "ready", "checks": sorted(self._checks)}
