"""Kafka topic names for our events, derived from the envelope.

The prefix is a setting (AIMARKET_EVENT_TOPIC_PREFIX) so that tests sharing one
broker, or two deployments sharing one cluster, never read each other's events.
"""

from __future__ import annotations

from typing import Any

EVENT_TOPIC_PREFIX = "aimarket.events."
# Every aggregate whose events the relay publishes; a new aggregate adds its name here.
AGGREGATES = (
    "user",
    "apikey",
    "loginsession",
    "model",
    "upload",
    "accessrequest",
    "review",
    "usage",
    "adminroster",
    "purchase",
    "subscription",
    "invoice",
    "publisherledger",
    "providerevent",
    "budget",
    "billingaccount",
    "paidpurchases",
)


def partition_tracker(topic: str, partition: int) -> str:
    """Positions the read side's `wait_for` compares with what the relay sent."""
    return f"kafka:{topic}:{partition}"


def aggregate_of(envelope: dict[str, Any]) -> str:
    """`User.Registered` -> `user`."""
    return str(envelope["type"]).split(".", 1)[0].lower()


def event_topic(envelope: dict[str, Any], prefix: str = EVENT_TOPIC_PREFIX) -> str:
    return prefix + aggregate_of(envelope)


def event_topics(prefix: str = EVENT_TOPIC_PREFIX) -> list[str]:
    return [prefix + name for name in AGGREGATES]
