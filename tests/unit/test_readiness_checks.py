"""Readiness's own rules, on probes written here: checks run side by side within the
timeout, a hung one is not started again while it hangs, required and optional differ."""

from __future__ import annotations

import threading
import time

import pytest

from queries.health import Check, NotReady, Readiness


def test_a_hung_check_is_reported_and_not_started_again_while_it_hangs() -> None:
    release, started = threading.Event(), []

    def hangs() -> None:
        started.append(1)
        release.wait(10)

    readiness = Readiness([Check("hung", hangs), Check("fine", lambda: None)], timeout_s=0.3)
    try:
        for _ in range(3):
            begun = time.perf_counter()
            with pytest.raises(NotReady) as refused:
                readiness.check()
            assert time.perf_counter() - begun < 0.6
            checks = refused.value.details["checks"]
            assert checks["hung"]["ok"] is False and "no answer" in checks["hung"]["error"]
            assert checks["fine"]["ok"] is True
        assert len(started) == 1  # one thread held, not one per probe
        release.set()
        time.sleep(0.05)
        assert readiness.check()["status"] == "ready"
        assert len(started) == 2  # done: the next probe starts it again
    finally:
        release.set()
        readiness.close()


def test_an_optional_check_down_is_degraded_and_names_its_error_type_only() -> None:
    def refuses() -> None:
        raise ConnectionRefusedError("postgresql://user:secret@db/x refused")

    readiness = Readiness(
        [Check("db", lambda: 1), Check("provider", refuses, required=False, breaker="payments")],
        breakers=lambda: {"payments": "open"},
    )
    try:
        report = readiness.check()
    finally:
        readiness.close()
    assert report["status"] == "degraded"
    assert report["checks"]["provider"] == {
        "required": False, "ok": False, "latency_ms": None,
        "error": "ConnectionRefusedError", "breaker": "open",
    }  # fmt: skip
    assert report["breakers"] == {"payments": "open"}
