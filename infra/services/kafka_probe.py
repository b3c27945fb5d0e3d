"""A readiness probe that speaks Kafka's wire protocol, with the standard library only.

An open port is not enough: a KRaft broker accepts connections before it has
registered with its controller, and until then clients get no brokers in
metadata. So the probe sends one Metadata request (v4: supported by Kafka
1.0 through 4.x) for no topics, which never auto-creates one, and reads the
broker list from the answer. No client library is needed, so `services up`
works before the app's venv has confluent-kafka.
"""

from __future__ import annotations

import socket
import struct

METADATA_API_KEY = 3
METADATA_VERSION = 4
CORRELATION_ID = 0x5EED
CLIENT_ID = b"aimarket-probe"


def _metadata_request() -> bytes:
    header = (
        struct.pack(">hhih", METADATA_API_KEY, METADATA_VERSION, CORRELATION_ID, len(CLIENT_ID))
        + CLIENT_ID
    )
    # topics: an empty array means "no topics" from v1 on; allow_auto_topic_creation: false
    body = struct.pack(">ib", 0, 0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int16(self) -> int:
        (value,) = struct.unpack_from(">h", self.data, self.pos)
        self.pos += 2
        return int(value)

    def int32(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return int(value)

    def skip_string(self) -> None:
        length = self.int16()  # -1 is a null string
        self.pos += max(length, 0)


def _parse_broker_ids(response: bytes) -> set[int]:
    reader = _Reader(response)
    if reader.int32() != CORRELATION_ID:
        raise ValueError("answer to another request")
    reader.int32()  # throttle_time_ms
    ids: set[int] = set()
    for _ in range(reader.int32()):
        ids.add(reader.int32())  # node_id
        reader.skip_string()  # host
        reader.int32()  # port
        reader.skip_string()  # rack
    return ids


def broker_ids(host: str, port: int, timeout_s: float = 2.0) -> set[int]:
    """The node ids the broker at host:port reports as live; empty when it cannot answer."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(_metadata_request())
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            return _parse_broker_ids(_recv_exact(sock, size))
    except (OSError, ValueError, struct.error):
        return set()
