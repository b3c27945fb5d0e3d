"""Pure projection logic: fold event envelopes into read documents.

A projection reads our JSON envelopes (the same dicts the relay publishes), so
the embedded runner and the Kafka workers call exactly the same code. Each
document carries `_version`, the aggregate version it reflects: an event at or
below it changes nothing, so redelivery and replay are harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from projections.ports import DocChange, Document

Envelope = dict[str, Any]
# A handler returns the new document, or None to delete it.
Handler = Callable[[Document, dict[str, Any], Envelope], Document | None]


@dataclass
class DocumentProjection:
    """One read document per aggregate, built by handlers keyed on event type."""

    name: str
    aggregate: str  # the topic suffix it consumes: aimarket.events.<aggregate>
    handlers: dict[str, Handler] = field(default_factory=dict)

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[event_type] = handler
            return handler

        return register

    def wants(self, envelope: Envelope) -> bool:
        return str(envelope["type"]).split(".", 1)[0].lower() == self.aggregate

    def apply(self, current: Document | None, envelope: Envelope) -> Document | None:
        """The document after `envelope`; `current` itself when the event is old news."""
        version = int(envelope["version"])
        if current is not None and int(current.get("_version", 0)) >= version:
            return current
        handler = self.handlers.get(str(envelope["type"]))
        if handler is None:  # an event this view ignores still moves its version on
            return None if current is None else {**current, "_version": version}
        new = handler(dict(current or {}), envelope["data"], envelope)
        if new is None:
            return {"_id": envelope["aggregate_id"], "_version": version, "_deleted": True}
        return {**new, "_id": str(envelope["aggregate_id"]), "_version": version}

    def changes(
        self, envelopes: Iterable[Envelope], load: Callable[[list[str]], dict[str, Document]]
    ) -> list[DocChange]:
        """Fold a batch into one change per document; `load` gets the stored documents
        of the batch's ids in one call."""
        mine = [e for e in envelopes if self.wants(e)]
        first_seen: dict[str, int] = {}
        for envelope in mine:
            first_seen.setdefault(str(envelope["aggregate_id"]), int(envelope["version"]))
        # An aggregate whose batch starts at version 1 is new: there is nothing to read.
        folded: dict[str, Document | None] = dict(
            load([doc_id for doc_id, version in first_seen.items() if version > 1])
        )
        for envelope in mine:
            doc_id = str(envelope["aggregate_id"])
            folded[doc_id] = self.apply(folded.get(doc_id), envelope)
        return [to_change(doc_id, doc) for doc_id, doc in folded.items() if doc is not None]


def to_change(doc_id: str, doc: Document) -> DocChange:
    version = int(doc["_version"])
    if doc.get("_deleted"):
        return DocChange(doc_id, version, None)
    body = {k: v for k, v in doc.items() if k not in {"_id", "_version"}}
    return DocChange(doc_id, version, body)
