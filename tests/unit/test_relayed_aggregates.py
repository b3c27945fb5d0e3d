"""Every aggregate's events have a Kafka topic: the relay publishes only to the topics in
`workers.topics.AGGREGATES`, and an event of an aggregate missing there stalls the cluster's
pipeline at that event (found when the publishers' ledger was added)."""

from __future__ import annotations

import importlib
import pkgutil

from eventsourcing.domain import Aggregate

import domain
from workers.topics import AGGREGATES


def test_every_domain_aggregate_has_a_topic() -> None:
    found = set()
    for module in pkgutil.iter_modules(domain.__path__):
        loaded = importlib.import_module(f"domain.{module.name}")
        found.update(
            value.__name__.lower()
            for value in vars(loaded).values()
            if isinstance(value, type)
            and issubclass(value, Aggregate)
            and value.__module__ == loaded.__name__
        )
    assert "publisherledger" in found
    assert found - set(AGGREGATES) == set()
