"""A job as a row, the same columns in both stores (JSON as text, times as epoch seconds)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from commands.job_ports import Job

COLUMNS = (
    "id, owner_id, caller, model_id, version, inputs, webhook, status, queued_at, "
    "started_at, finished_at, expires_at, token, attempts, result, error"
)


def table_sql(table: str, float_type: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, "
        f"caller TEXT NOT NULL, model_id TEXT NOT NULL, version TEXT, inputs TEXT NOT NULL, "
        f"webhook BOOLEAN NOT NULL, status TEXT NOT NULL, queued_at {float_type} NOT NULL, "
        f"started_at {float_type}, finished_at {float_type}, expires_at {float_type}, "
        f"token TEXT, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT)",
        f"CREATE INDEX IF NOT EXISTS {table}_owner ON {table} (owner_id, queued_at, id)",
        f"CREATE INDEX IF NOT EXISTS {table}_expires ON {table} (expires_at)",
    ]


def to_row(job: Job) -> tuple[Any, ...]:
    return (
        str(job.id),
        str(job.owner_id),
        json.dumps(job.caller),
        str(job.model_id),
        job.version,
        json.dumps(job.inputs, separators=(",", ":")),
        job.webhook,
        job.status,
        job.queued_at,
        job.started_at,
        job.finished_at,
        job.expires_at,
        job.token,
        job.attempts,
        _dump(job.result),
        _dump(job.error),
    )


def from_row(row: Sequence[Any]) -> Job:
    return Job(
        id=UUID(row[0]),
        owner_id=UUID(row[1]),
        caller=json.loads(row[2]),
        model_id=UUID(row[3]),
        version=row[4],
        inputs=json.loads(row[5]),
        webhook=bool(row[6]),
        status=row[7],
        queued_at=row[8],
        started_at=row[9],
        finished_at=row[10],
        expires_at=row[11],
        token=row[12],
        attempts=row[13],
        result=_load(row[14]),
        error=_load(row[15]),
    )


def _dump(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
