"""Shared by the job and webhook tests: a stand-in for the inference service's two
methods (the port jobs use; the real service lands with the inference handler), and the
job and webhook parts built on a profile's real store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.inference_types import Cost, InferenceResult
from commands.job_ports import Job
from domain.errors import Forbidden, InvalidInput
from domain.principal import Principal
from infra.settings import Settings

FORBIDDEN_MODEL = UUID(int=403)


class InferenceDouble:
    """admit refuses FORBIDDEN_MODEL; infer doubles `x`, or fails on a non-number."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.before_result: Callable[[], None] | None = None

    async def admit(self, caller: Principal, model_id: UUID, version: str | None) -> None:
        if model_id == FORBIDDEN_MODEL:
            raise Forbidden("no access to this model", code="access_required")

    async def infer(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        inputs: Mapping[str, Any],
        request_id: str,
        output_format: str = "json",
    ) -> InferenceResult:
        self.calls.append(request_id)
        if self.before_result is not None:
            self.before_result()
        values = inputs.get("x")
        if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
            raise InvalidInput("input 'x' must be a list of numbers", code="input_dtype")
        return InferenceResult(
            request_id=request_id,
            model_id=model_id,
            version=version or "1.0.0",
            outputs={"y": [2 * v for v in values]},
            timings_ms={"queue": 0.0, "compute": 0.1, "total": 0.2},
            cost=Cost(units=1, amount=0, currency="EUR"),
        )


class Finished:
    """A JobListener that keeps what it was told."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def job_finished(self, job: Job) -> None:
        self.jobs.append(job)


def principal(role: str = "consumer") -> Principal:
    return Principal(uuid.uuid4(), role, True, "api_key", frozenset({"inference"}), uuid.uuid4())


@contextmanager
def profile_settings(
    profile: str, tmp_path: Path, database_url: str | None, **extra: Any
) -> Iterator[tuple[Settings, ConnectionPool | None]]:
    """Settings on the profile's real store: SQLite files, or the test session's PostgreSQL
    (only the job and webhook tables are used here, so no pipeline is needed)."""
    if profile == "embedded":
        yield Settings(profile="embedded", data_dir=tmp_path, **extra), None
        return
    assert database_url is not None
    settings = Settings(
        profile="cluster",
        database_url=database_url,
        mongo_url="mongodb://unused",
        opensearch_url="http://unused",
        jwt_secret="test-signing-secret-that-is-long-enough-0123456789",
        data_dir=tmp_path,
        **extra,
    )
    pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True,
                          kwargs={"autocommit": True})  # fmt: skip
    try:
        yield settings, pool
    finally:
        pool.close()
