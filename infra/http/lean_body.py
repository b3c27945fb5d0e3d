"""uvicorn's httptools protocol, handing request bodies to the app without copying them.

uvicorn (0.54) appends every body chunk the parser gives it to a bytearray, and `receive()`
copies that into bytes: two copies of every uploaded byte on the event loop, besides the
socket read and the parser's own. Here a chunk that arrives while nothing is buffered is
kept as the parser's bytes object, which `receive()` passes on as it is (`bytes(b)` of a
bytes object is that object); only chunks that pile up before the app reads are joined.
Everything else is uvicorn's. About 10% faster uploads here (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class LeanBodyProtocol(HttpToolsProtocol):
    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        if cycle.body:
            cycle.body += body  # the app is behind: join, as uvicorn does
        else:
            cycle.body = body  # type: ignore[assignment]  # receive() passes bytes on as is
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()
