"""Applies a batch of envelopes to every read model and search index.

Shared by all runners (the embedded thread, the Kafka workers, rebuilds): they
differ only in where envelopes come from and how positions are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from projections.base import DocumentProjection, Envelope
from projections.catalog import READ_MODELS, SEARCH_INDEXES
from projections.ports import DocChange, Position, ReadStore, SearchIndex
from workers.doc_cache import DocumentCache


class Projector:
    def __init__(
        self,
        store: ReadStore,
        search: SearchIndex | None,
        names: Sequence[str] | None = None,
        suffix: str = "",
        cache: DocumentCache | None = None,
    ) -> None:
        """`names` picks read models (default all); `suffix` writes to other collections
        and indexes (a rebuild's scratch copies) instead of the live ones; `cache` keeps
        what this process wrote, for a worker that owns its partitions."""
        self.store, self.search, self.suffix, self.cache = store, search, suffix, cache
        self._ensured = False
        self.models: list[DocumentProjection] = [
            READ_MODELS[n] for n in (names if names is not None else READ_MODELS)
        ]
        self.indexes = {
            index: spec
            for index, spec in SEARCH_INDEXES.items()
            if spec[0] in {m.name for m in self.models}
        }

    def ensure_indexes(self) -> None:
        self._ensured = True
        if self.search is not None:
            for index, (_, text, keywords, numbers) in self.indexes.items():
                self.search.ensure(index + self.suffix, text, keywords, numbers)

    def project(self, envelopes: list[Envelope], position: int | None, tracker: str) -> None:
        """Apply the batch; record `position` under `<tracker>:<model>` with each model's
        changes (one transaction where the store allows)."""
        if not self._ensured:
            self.ensure_indexes()
        try:
            for model in self.models:
                self._project_model(model, envelopes, position, tracker)
        except BaseException:
            if self.cache is not None:
                self.cache.clear()  # what was written is unknown now: read it back next time
            raise

    def _project_model(
        self,
        model: DocumentProjection,
        envelopes: list[Envelope],
        position: int | None,
        tracker: str,
    ) -> None:
        collection = model.name + self.suffix
        reads = self.cache.get_many if self.cache is not None else self.store.get_many
        changes = model.changes(envelopes, partial(reads, collection))
        mark = None if position is None else Position(f"{tracker}:{model.name}", position)
        # The index first: the position goes in with the read model's changes, so a crash
        # in between replays the batch, and the versioned index writes shrug it off.
        self._index(model.name, changes)
        self.store.apply(collection, changes, mark)
        if self.cache is not None:
            self.cache.remember(collection, changes)

    def _index(self, model: str, changes: list[DocChange]) -> None:
        if self.search is None or not changes:
            return
        for index, (source, *_) in self.indexes.items():
            if source == model:
                # The whole document: the engine indexes the declared fields and returns
                # the rest as the hit's source, so a catalogue page needs no second read.
                self.search.apply(index + self.suffix, changes)
