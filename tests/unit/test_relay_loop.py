"""The relay's pipelined loop with a fake broker: order, batch sizes, and the rule that a
position is recorded only after its batch was acknowledged."""

from __future__ import annotations

import json

import pytest

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.user import Role
from workers.relay import Batch, Partitions, Relay


class Broken(RuntimeError):
    pass


class FakePublisher:
    def __init__(self, fail_on_wait: int | None = None) -> None:
        self.batches: list[Batch] = []
        self.acked: list[int] = []  # last position of every acknowledged batch
        self._unacked: list[Batch] = []
        self._fail_on_wait, self._waits = fail_on_wait, 0

    def send(self, batch: Batch) -> None:
        self.batches.append(batch)
        self._unacked.append(batch)

    def wait(self) -> Partitions:
        self._waits += 1
        if self._waits == self._fail_on_wait:
            raise Broken("the broker did not acknowledge")
        sent = {("t", 0): self._unacked[-1].last} if self._unacked else {}
        self.acked += [batch.last for batch in self._unacked]
        self._unacked = []
        return sent


class FakeLedger:
    def __init__(self, publisher: FakePublisher) -> None:
        self.publisher, self.recorded = publisher, [0]

    def position(self) -> int:
        return self.recorded[-1]

    def record(self, position: int, partitions: Partitions) -> None:
        assert position in self.publisher.acked, "recorded before the broker acknowledged it"
        assert position > self.recorded[-1]
        self.recorded.append(position)


@pytest.fixture
def app() -> EventStore:
    marketplace = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for i in range(50):
        AccountCommands(marketplace).register_user(f"u{i}@example.com", "$x", Role.CONSUMER)
    return marketplace


def test_catch_up_relays_everything_in_order_in_growing_batches(app: EventStore) -> None:
    publisher = FakePublisher()
    ledger = FakeLedger(publisher)
    relay = Relay(app, publisher, ledger, batch=16)
    assert relay.catch_up() == 50
    assert [len(b) for b in publisher.batches] == [1, 2, 4, 8, 16, 16, 3]
    positions = [p for b in publisher.batches for p in b.positions]
    assert positions == sorted(positions) and len(set(positions)) == 50
    assert ledger.recorded[1:] == [b.last for b in publisher.batches]
    first = json.loads(publisher.batches[0].messages[0][2])
    assert first["type"] == "User.Registered" and first["data"]["password_hash"] == "[redacted]"
    assert relay.catch_up() == 0  # nothing new


def test_a_failed_batch_is_not_recorded_and_the_next_start_resends_it(app: EventStore) -> None:
    publisher = FakePublisher(fail_on_wait=3)
    ledger = FakeLedger(publisher)
    relay = Relay(app, publisher, ledger, batch=16)
    with pytest.raises(Broken):
        relay.catch_up()
    assert ledger.recorded == [0, 1, 3]  # batches of 1 and 2 acknowledged, the one of 4 not
    again = FakePublisher()
    assert Relay(app, again, FakeLedger(again), batch=16).catch_up() == 50
    restarted = FakePublisher()
    restarted_ledger = FakeLedger(restarted)
    restarted_ledger.recorded = [3]
    assert Relay(app, restarted, restarted_ledger, batch=16).catch_up() == 47
    assert restarted.batches[0].positions[0] == 4  # resumes after the last recorded position


def test_run_forever_stops_when_asked_and_records_what_it_sent(app: EventStore) -> None:
    import threading

    publisher = FakePublisher()
    ledger = FakeLedger(publisher)
    relay = Relay(app, publisher, ledger, batch=16, idle_wait_s=0.01)
    running = threading.Thread(target=relay.run_forever)
    running.start()
    try:
        AccountCommands(app).register_user("late@example.com", "$x", Role.CONSUMER)
        deadline = 200
        while ledger.position() < 51 and deadline:
            threading.Event().wait(0.01)
            deadline -= 1
    finally:
        relay.stopping.set()
        running.join(5)
    assert not running.is_alive()
    assert ledger.position() == 51
    assert publisher.acked[-1] == 51
