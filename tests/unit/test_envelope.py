from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.envelope import _EVENT_ID_NAMESPACE, event_id


@given(st.uuids(), st.integers(min_value=1, max_value=10**9))
def test_event_id_is_the_uuid5_of_aggregate_and_version(aggregate_id: uuid.UUID, v: int) -> None:
    assert event_id(aggregate_id, v) == str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{aggregate_id}:{v}"))
