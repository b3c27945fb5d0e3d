"""A faster decoder for eventsourcing's JSON transcoder, for the relay.

`OrjsonTranscoder` is eventsourcing's `JSONTranscoder` with the same registered
transcodings and the same encoding; only `decode` differs: orjson parses the stored
state, then the `{"_type_": ..., "_data_": ...}` objects are revived bottom-up by
the library's own `_decode_obj`, exactly as its `object_hook` would. Whatever orjson
refuses (NaN, infinities) or may read differently (it reads an integer beyond 64 bits
as a float, so any float is suspect) goes to the library's decoder instead, so every
stored event decodes to the same domain event.

The application chooses it through eventsourcing's `TRANSCODER_TOPIC` setting
(`infra.cluster.build_relay`), so the relay still decodes through `app.mapper`.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

TOPIC = "workers.transcoding:OrjsonTranscoder"


class _UseLibrary(Exception):
    """A float was read: let the library's decoder read the state instead."""


class OrjsonTranscoder(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        try:
            return self._decode(orjson.loads(data))
        except (orjson.JSONDecodeError, _UseLibrary):
            return super().decode(data)

    def _decode(self, parsed: Any) -> Any:
        if type(parsed) is not dict:
            return self._revive(parsed) if type(parsed) is list else _plain(parsed)
        if len(parsed) == 2 and "_type_" in parsed:
            return self._revive_object(parsed)
        # An event's state: an object whose values are mostly plain or a leaf such as
        # {"_type_": "datetime_iso", "_data_": "..."}; this loop is _revive, inlined.
        names = self.names
        for key, item in parsed.items():
            kind = type(item)
            if kind is dict:
                leaf, name = item.get("_data_"), item.get("_type_")
                transcoding = None
                if len(item) == 2 and type(leaf) is str and type(name) is str:
                    transcoding = names.get(name)
                if transcoding is not None:
                    parsed[key] = transcoding.decode(leaf)
                else:
                    parsed[key] = self._revive_object(item)
            elif kind is list:
                self._revive(item)
            elif kind is float:
                raise _UseLibrary
        return parsed

    def _revive(self, value: Any) -> Any:
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            kind = type(item)
            if kind is dict:
                value[key] = self._revive_object(item)
            elif kind is list:
                self._revive(item)
            elif kind is float:
                raise _UseLibrary
        return value

    def _revive_object(self, value: dict[str, Any]) -> Any:
        if len(value) == 2 and "_type_" in value:
            leaf, name = value.get("_data_"), value["_type_"]
            if type(leaf) is str and type(name) is str:  # a leaf such as a datetime or UUID
                transcoding = self.names.get(name)
                if transcoding is not None:
                    return transcoding.decode(leaf)
            self._revive(value)
            return self._decode_obj(value)
        return self._revive(value)


def _plain(value: Any) -> Any:
    if type(value) is float:
        raise _UseLibrary
    return value
