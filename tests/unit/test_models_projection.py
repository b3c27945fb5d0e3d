"""The `models` read model: every Model event folded in, redelivery harmless, and the
fields the `models` search index declares present on every document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.envelope import envelope
from domain.errors import DomainError
from domain.model import Model
from domain.pricing import FREE, Pricing
from infra.readstore.sqlite import SqliteReadStore
from infra.search.sqlite_fts import SqliteSearchIndex
from projections.models import (
    KEYWORD_FIELDS,
    NUMERIC_FIELDS,
    TEXT_FIELDS,
    models,
    pending_at,
    pricing_at,
)
from projections.ports import Browse, NumberRange
from tests.unit.test_projections import fold, redeliver
from workers.projector import Projector

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PAID = Pricing(currency="EUR", price_per_request=25)
SIGNATURE = {"inputs": [{"name": "x", "dtype": "float32", "shape": [1, 3]}], "outputs": []}
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(autouse=True)
def events_happen_at_now() -> Iterator[None]:
    """The aggregate stamps its events with the wall clock; the prices here are written
    against NOW, so the events must happen then, whatever today's date is."""
    with time_machine.travel(NOW, tick=False):
        yield


def new_model(name: str = "Resnet Fifty", **details: Any) -> Model:
    return Model(
        publisher_id=uuid.uuid4(), publisher_name="Acme Labs", slug="resnet-50",
        details={"name": name, "description": "Classifies images", "task": "image-classification",
                 "tags": ["vision", "cnn"], "visibility": "public", **details},
        pricing=FREE.as_dict(),
    )  # fmt: skip


def envelopes(model: Model) -> list[dict[str, Any]]:
    return [envelope(event) for event in model.collect_events()]


def full_history(model: Model) -> Model:
    model.update_details({"license": "apache-2.0", "tags": ["vision"]}, "Acme AI")
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        model.upload_version(version, DIGEST, 10, uuid.uuid4())
    model.validate_version("1.1.0", "onnx", SIGNATURE)
    model.validate_version("1.0.0", "onnx", SIGNATURE)
    model.reject_version("2.0.0", ["no outputs"])
    model.publish_version("1.0.0")
    model.publish_version("1.1.0")
    model.set_default_version("1.1.0")
    model.change_pricing(PAID, NOW)  # published: applies from 2026-12-01
    model.update_stats(
        {"invocations_7d": 70, "trending": -150, "rating_count": 4, "rating_sum": 14,
         "ratings_4": 2, "ratings_3": 1, "ratings_5": 1}
    )  # fmt: skip
    return model


def test_model_document_follows_every_event() -> None:
    model = full_history(new_model())
    model.deprecate("superseded")
    (doc,) = fold(models, envelopes(model)).values()
    assert doc["_version"] == model.version
    assert (doc["name"], doc["publisher_name"], doc["license"]) == (
        "Resnet Fifty", "Acme AI", "apache-2.0",
    )  # fmt: skip
    assert (doc["status"], doc["deprecation_reason"]) == ("deprecated", "superseded")
    assert [(v["version"], v["status"]) for v in doc["versions"]] == [
        ("1.0.0", "published"), ("1.1.0", "published"), ("2.0.0", "rejected"),
    ]  # fmt: skip
    one_one = doc["versions"][1]
    assert one_one["signature"] == SIGNATURE and one_one["framework"] == "onnx"
    assert one_one["published_at"] is not None
    assert doc["versions"][2]["reasons"] == ["no outputs"]
    assert doc["default_version"] == "1.1.0"
    assert doc["published_at"] is not None and isinstance(doc["published_ts"], float)
    assert [e["effective_from"] for e in doc["price_schedule"]] == ["", "2026-12-01T00:00:00+00:00"]
    # Search fields: the stats as numbers, the price in force at the events' time (free).
    assert (doc["invocations_7d"], doc["trending"], doc["rating_count"]) == (70, -150, 4)
    assert doc["rating_average"] == 3.5
    assert (doc["price_kind"], doc["price_per_request"], doc["currency"]) == ("free", 0, "USD")
    assert (doc["tag"], doc["name_key"]) == (["vision"], "resnet fifty")


def test_every_indexed_field_is_a_top_level_field() -> None:
    (doc,) = fold(models, envelopes(new_model())).values()
    for name in (*TEXT_FIELDS, *KEYWORD_FIELDS, *NUMERIC_FIELDS):
        assert name in doc, name
    assert doc["rating_average"] is None and doc["published_ts"] is None  # sorted last


def test_schedule_picks_the_price_in_force_and_the_pending_one() -> None:
    model = full_history(new_model())
    (doc,) = fold(models, envelopes(model)).values()
    schedule = doc["price_schedule"]
    before, after = "2026-11-30T23:59:59+00:00", "2026-12-01T00:00:00+00:00"
    assert pricing_at(schedule, before)["price_per_request"] == 0
    assert pending_at(schedule, before) == {"effective_from": after, "pricing": PAID.as_dict()}
    assert pricing_at(schedule, after) == PAID.as_dict()
    assert pending_at(schedule, after) is None
    # The aggregate agrees.
    for when in (before, after):
        assert model.pricing_at(datetime.fromisoformat(when)).as_dict() == pricing_at(
            schedule, when
        )


def test_a_second_change_for_the_same_period_replaces_the_pending_one() -> None:
    model = full_history(new_model())
    model.change_pricing(Pricing(currency="EUR", price_per_request=30), NOW + timedelta(hours=1))
    (doc,) = fold(models, envelopes(model)).values()
    assert len(doc["price_schedule"]) == 2
    assert doc["price_schedule"][-1]["pricing"]["price_per_request"] == 30


def test_rejected_version_uploaded_again_starts_afresh() -> None:
    model = new_model()
    model.upload_version("1.0.0", DIGEST, 10, uuid.uuid4())
    model.reject_version("1.0.0", ["bad"])
    model.upload_version("1.0.0", "sha256:" + "b" * 64, 12, uuid.uuid4())
    (doc,) = fold(models, envelopes(model)).values()
    (version,) = doc["versions"]
    assert (version["status"], version["reasons"], version["size"]) == ("uploaded", [], 12)


def test_deleted_model_leaves_a_tombstone_and_old_events_do_not_revive_it() -> None:
    model = full_history(new_model())
    model.delete()
    events = envelopes(model)
    (doc,) = fold(models, events).values()
    assert doc["_deleted"] is True
    for old in events:
        assert models.apply(doc, old) is doc


def test_a_drafts_new_prices_apply_at_once() -> None:
    model = new_model(visibility="private")
    model.change_pricing(PAID, datetime.now(UTC))  # a draft's prices change at once
    (doc,) = fold(models, envelopes(model)).values()
    assert doc["status"] == "draft" and doc["visibility"] == "private"
    assert (doc["price_kind"], doc["price_per_request"], doc["currency"]) == ("paid", 25, "EUR")


OPS = st.lists(
    st.sampled_from(
        ["details", "pricing", "upload", "validate", "reject", "publish", "default", "stats",
         "deprecate", "delete"]
    ),
    max_size=14,
)  # fmt: skip


def random_history(ops: list[str]) -> list[dict[str, Any]]:
    """Envelopes of a command sequence; commands the model refuses are skipped, as the API
    would refuse them."""
    model = new_model()
    versions: list[str] = []
    for step, op in enumerate(ops):
        latest = versions[-1] if versions else "0.0.1"
        try:
            if op == "details":
                model.update_details({"name": f"Model {step}", "tags": [f"t{step}"]}, "Acme")
            elif op == "pricing":
                model.change_pricing(Pricing(currency="EUR", price_per_request=step), NOW)
            elif op == "upload":
                versions.append(f"1.{step}.0")
                model.upload_version(versions[-1], DIGEST, step, uuid.uuid4())
            elif op == "validate":
                model.validate_version(latest, "onnx", SIGNATURE)
            elif op == "reject":
                model.reject_version(latest, ["no"])
            elif op == "publish":
                model.publish_version(latest)
            elif op == "default":
                model.set_default_version(latest)
            elif op == "stats":
                model.update_stats({"invocations_7d": step, "rating_count": 1, "rating_sum": 4})
            elif op == "deprecate":
                model.deprecate("old")
            elif op == "delete":
                model.delete()
        except DomainError:
            pass
    return envelopes(model)


@settings(max_examples=40, deadline=None)
@given(OPS, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10)), max_size=6))
def test_redelivered_streams_project_like_the_deduplicated_stream(
    ops: list[str], crashes: list[tuple[int, int]]
) -> None:
    events = random_history(ops)
    delivered = redeliver(events, crashes)
    assert fold(models, delivered) == fold(models, events)
    (doc,) = fold(models, events).values()
    assert doc["_version"] == len(events)


def test_projected_documents_browse_on_the_embedded_index(tmp_path: Path) -> None:
    """Through the projector into SQLite and FTS5: the index takes the document as it is."""
    store = SqliteReadStore(tmp_path / "read.sqlite")
    search = SqliteSearchIndex(tmp_path / "search.sqlite")
    cheap, dear = new_model("Cheap Vision"), new_model("Dear Vision")
    cheap.change_pricing(Pricing(currency="EUR", price_per_request=5), datetime.now(UTC))
    dear.change_pricing(Pricing(currency="EUR", price_per_request=500), datetime.now(UTC))
    projector = Projector(store, search, ["models"])
    projector.project([*envelopes(cheap), *envelopes(dear)], 1, "test")
    result = search.browse(
        "models",
        Browse(
            text="vision",
            filters={"tag": ["cnn"], "status": ["draft"]},
            ranges=(NumberRange("price_per_request", lte=100),),
            facets=("price_kind",),
        ),
    )
    assert [hit.doc["name"] for hit in result.hits] == ["Cheap Vision"]
    assert result.hits[0].doc["price_schedule"]  # the whole document comes back
    assert result.facets == {"price_kind": {"paid": 1}}
    stored = store.get("models", str(cheap.id))
    assert stored is not None and stored["name"] == "Cheap Vision"
