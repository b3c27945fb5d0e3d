from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.envelope import _EVENT_ID_NAMESPACE, event_id


@given(st.uuids(), st.integers(min_value=1, max_value=10**9))
def test_event_id_is_the_uuid5_of_aggregate_and_version(aggregate_id: uuid.UUID, v: int) -> None:
    assert event_id(aggregate_id, v) == str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{aggregate_id}:{v}"))


class Account:
    class Opened:
        """Stands in for a decoded domain event: the envelope reads only attributes."""

        def __init__(self, timestamp: object) -> None:
            self.originator_id = uuid.uuid4()
            self.originator_version = 3
            self.timestamp = timestamp
            self.originator_topic = "tests.unit.test_envelope:Account"
            self.email = "e@example.com"
            self.password_hash = "$argon2id$secret"
            self._private = "never published"


def test_envelope_for_json_writes_what_envelope_holds() -> None:
    """The relay's path (a UTC datetime left to orjson) and the plain envelope: one JSON."""
    import json
    from datetime import UTC, datetime, timedelta, timezone

    import orjson

    from domain.envelope import envelope, envelope_for_json

    for stamp in (
        datetime(2026, 11, 26, 11, 23, 3, 545017, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 23, 3, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 23, 3, 5, tzinfo=timezone(timedelta(seconds=3661))),
    ):
        event = Account.Opened(stamp)
        plain = envelope(event)
        assert json.loads(orjson.dumps(envelope_for_json(event))) == plain
        assert plain["type"] == "Account.Opened" and plain["occurred_at"] == stamp.isoformat()
        assert plain["data"] == {"email": "e@example.com", "password_hash": "[redacted]"}
        assert plain["id"] == event_id(event.originator_id, 3)
