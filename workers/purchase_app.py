"""The cluster's purchase saga: a faust agent on `aimarket.events.purchase`, advancing
each purchase an event names, and a timer that sweeps the open ones.

At concurrency=1 (upstream issue 606); delivery is at-least-once and every step is
idempotent (commands/purchase_saga.py), so a redelivered event or a worker killed between
a provider call and its event changes nothing twice. The steps block: they run off the
event loop, each with a timeout. Events are taken in small batches and the batch's
purchases advanced side by side (each once: a step reads the purchase as it stands), so
their waits on the database and the provider overlap; a batch is done before the next is
taken, so no offset passes a purchase still in flight.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import faust

from commands.purchase_saga import PurchaseSaga
from workers.faust_app import worker_app
from workers.purchases import Sweep, advance_quietly
from workers.topics import EVENT_TOPIC_PREFIX
from workers.tracing import consumed, header, in_context

SIDE_BY_SIDE = 8  # purchases advanced at once (threads of the default executor)
BATCH_WITHIN_S = 0.02


def make_purchase_app(
    bootstrap: str,
    saga: PurchaseSaga,
    sweep: Sweep,
    app_id: str = "aimarket-purchases",
    topic_prefix: str = EVENT_TOPIC_PREFIX,
    step_timeout_s: float = 60.0,
    *,
    datadir: Path,
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir)
    topic = app.topic(
        topic_prefix + "purchase", key_type=bytes, value_type=bytes, value_serializer="raw"
    )

    async def run(purchase_id: UUID) -> None:
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(None, in_context(advance_quietly), saga, purchase_id)
        await asyncio.wait_for(call, step_timeout_s)

    async def follow(stream: faust.StreamT[bytes]) -> None:
        batches = cast(faust.Stream[bytes], stream).take_events(SIDE_BY_SIDE, within=BATCH_WITHIN_S)
        async for events in batches:
            named: dict[UUID, Any] = {}
            for event in events:  # each purchase once, under its first event's trace
                purchase_id = UUID(json.loads(event.value)["aggregate_id"])
                named.setdefault(purchase_id, header(event.headers))
            await asyncio.gather(
                *(traced(purchase_id, parent) for purchase_id, parent in named.items())
            )

    async def traced(purchase_id: UUID, parent: Any) -> None:
        # The saga's steps continue the trace the purchase's event was saved in.
        with consumed(topic_prefix + "purchase", [parent]):
            await run(purchase_id)

    app.agent(topic, name="purchase-saga", concurrency=1)(follow)

    async def sweep_open() -> None:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(None, sweep.run), step_timeout_s * 10)

    app.timer(interval=sweep.interval_s)(sweep_open)
    return app
