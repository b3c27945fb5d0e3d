"""Rebuild and verify read models by replaying the whole event store.

A rebuild writes into scratch copies while live traffic keeps being served from
the current ones, then swaps them in (SQLite/MongoDB: rename; OpenSearch: alias).
An interrupted rebuild resumes from its scratch copy's recorded position.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.catalog import READ_MODELS, SEARCH_INDEXES
from projections.cursor import Cursor
from projections.ports import Browse, ReadStore, SearchIndex
from workers.notifications import last_position, read_after
from workers.projector import Projector

Report = Callable[[int, int], None]  # (position reached, end position)
BATCH = 1000


def replay(
    app: Any, projector: Projector, start: int, end: int, tracker: str, report: Report
) -> int:
    """Apply events after `start` up to `end`; return how many were applied."""
    position, applied = start, 0
    while position < end:
        batch = [(p, e) for p, e in read_after(app, position, BATCH) if p <= end]
        if not batch:
            break
        position = batch[-1][0]
        projector.project([e for _, e in batch], position, tracker)
        applied += len(batch)
        report(position, end)
    return applied


def _scratch_suffix(store: ReadStore, name: str, prefix: str) -> str:
    """The unfinished scratch copy to resume, or a new one."""
    existing = sorted(store.collections(f"{name}{prefix}"))
    return existing[-1][len(name) :] if existing else f"{prefix}{int(time.time())}"


@dataclass
class RebuildResult:
    events: int
    seconds: float


def rebuild(
    app: Any, store: ReadStore, search: SearchIndex | None, name: str, report: Report
) -> RebuildResult:
    started = time.monotonic()
    suffix = _scratch_suffix(store, name, "__rebuild_")
    scratch = Projector(store, search, [name], suffix=suffix)
    scratch.ensure_indexes()
    tracker = f"rebuild{suffix}"
    end = last_position(app)
    events = replay(app, scratch, store.position(f"{tracker}:{name}"), end, tracker, report)
    store.replace(name, name + suffix)
    if search is not None:
        for index in scratch.indexes:
            search.replace(index, index + suffix)
    # Events the live runner applied to the old copy during the swap: apply them again
    # to the new one (the version guard makes the overlap harmless).
    live = Projector(store, search, [name])
    events += replay(app, live, end, last_position(app), "rebuilt", report)
    return RebuildResult(events, time.monotonic() - started)


def all_documents(store: ReadStore, collection: str) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    cursor: Cursor | None = None
    while True:
        page = store.find(collection, limit=500, cursor=cursor)
        docs.update({str(d["_id"]): d for d in page.items})
        if page.next_cursor is None:
            return docs
        cursor = page.next_cursor


def differences(live: dict[str, dict[str, Any]], fresh: dict[str, dict[str, Any]]) -> list[str]:
    """Ids whose documents differ, are missing, or are extra in the live copy."""
    return sorted(i for i in live.keys() | fresh.keys() if live.get(i) != fresh.get(i))


def verify(
    app: Any,
    store: ReadStore,
    name: str,
    live_reached: Callable[[int], bool],
    report: Report,
    timeout_s: float = 60.0,
    search: SearchIndex | None = None,
) -> list[str]:
    """Rebuild `name` into a scratch copy and diff it with the live one at the same position;
    with `search`, each search index fed from `name` must hold the live documents too."""
    suffix = f"__verify_{int(time.time() * 1000)}"
    scratch = Projector(store, None, [name], suffix=suffix)
    position, deadline = 0, time.monotonic() + timeout_s
    try:
        while True:
            end = last_position(app)
            replay(app, scratch, position, end, f"verify{suffix}", report)
            position = end
            while not live_reached(end):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the live {name} read model did not reach {end}")
                time.sleep(0.05)
            if last_position(app) == end:  # nothing new came in meanwhile: compare now
                live = all_documents(store, name)
                found = differences(live, all_documents(store, name + suffix))
                return found + (index_differences(search, name, live) if search else [])
    finally:
        store.drop(name + suffix)


def index_differences(search: SearchIndex, name: str, live: dict[str, dict[str, Any]]) -> list[str]:
    """'index: id' for each document that a search index fed from read model `name` lacks,
    has extra, or holds otherwise than the read model (an index holds a document's body:
    its fields but `_id` and `_version`, which go in the index's own metadata)."""
    found = []
    for index, (source, *_) in SEARCH_INDEXES.items():
        if source == name:
            indexed = indexed_documents(search, index)
            found += [f"{index} index: {i}" for i in differences(_bodies(live), indexed)]
    return found


def indexed_documents(search: SearchIndex, index: str) -> dict[str, dict[str, Any]]:
    """Every document of a search index, by id (pages of a browse without text)."""
    search.refresh(index)
    docs: dict[str, dict[str, Any]] = {}
    cursor: Cursor | None = None
    while True:
        page = search.browse(index, Browse(limit=200, cursor=cursor))
        docs.update({hit.doc_id: hit.doc for hit in page.hits})
        if page.next_cursor is None:
            return docs
        cursor = page.next_cursor


def _bodies(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    meta = ("_id", "_version")
    return {i: {k: v for k, v in d.items() if k not in meta} for i, d in docs.items()}


def known(name: str) -> list[str]:
    if name == "all":
        return list(READ_MODELS)
    if name not in READ_MODELS:
        raise KeyError(f"no read model {name!r}; known: {', '.join(READ_MODELS)} or all")
    return [name]
