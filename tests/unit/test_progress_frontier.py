"""The cluster's rule for "the read models reflect position N" (infra/progress.py): the
relay has delivered N, and each partition has applied N or the last it was sent."""

from __future__ import annotations

from infra.progress import Frontier


def test_a_position_is_reached_when_delivered_and_every_partition_has_applied_it() -> None:
    frontier = Frontier(delivered=9, partitions=((9, 9), (7, 6)))  # (sent last, applied)
    assert frontier.reached(6)
    assert not frontier.reached(7)  # the second partition was sent 7 and has applied 6
    assert not Frontier(delivered=5, partitions=()).reached(6)  # not delivered yet


def test_a_partition_sent_nothing_newer_holds_nothing_back() -> None:
    frontier = Frontier(delivered=12, partitions=((4, 4), (12, 12)))
    assert frontier.reached(12)  # the first partition's last event, 4, is applied
