"""The cluster's notifier: a faust agent per topic of the aggregates whose events notify
(commands/notices.py), handing each event to the notifier off the event loop.

At concurrency=1 (upstream issue 606); delivery is at-least-once and every channel is
idempotent per (event id, channel), so a redelivered event sends nothing twice. A failed
channel (the SMTP server away) is retried a few times with backoff; then it raises out of
the agent and the worker stops, to be restarted, rather than commit past an event whose
notifications did not all go out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import faust

from commands.notices import AGGREGATES
from commands.notifier import Notifier
from workers.faust_app import worker_app
from workers.topics import EVENT_TOPIC_PREFIX

log = logging.getLogger("aimarket.notifier")
RETRIES = 5


def make_notifier_app(
    bootstrap: str,
    notifier: Notifier,
    app_id: str = "aimarket-notifier",
    topic_prefix: str = EVENT_TOPIC_PREFIX,
    step_timeout_s: float = 60.0,
    *,
    datadir: Path,
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir)
    for aggregate in AGGREGATES:
        _notify_from(app, topic_prefix + aggregate, notifier, step_timeout_s)
    return app


def _notify_from(app: faust.App, topic_name: str, notifier: Notifier, timeout_s: float) -> None:
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")

    async def handle(envelope: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(RETRIES + 1):
            try:
                call = loop.run_in_executor(None, notifier.handle, envelope)
                await asyncio.wait_for(call, timeout_s)
                return
            except Exception:
                if attempt == RETRIES:
                    raise
                log.exception("notifying %s failed; retrying", envelope.get("id"))
                await asyncio.sleep(min(2.0**attempt, 30.0))

    async def notify(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            await handle(json.loads(value))

    app.agent(topic, name=f"notify-{topic_name}", concurrency=1)(notify)
