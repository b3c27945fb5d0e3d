"""The API's uvicorn protocol (infra/http/lean_body.py) on a real socket: every body arrives
whole and in order, whatever its size, its framing, and however far the app falls behind."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from infra.http.lean_body import LeanBodyProtocol


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """The body's size, sha256 and pieces; `?slow` reads late, so chunks pile up."""
    if scope["type"] != "http":
        return
    digest, size, pieces, slow = hashlib.sha256(), 0, 0, scope["query_string"] == b"slow"
    while True:
        if slow:
            await asyncio.sleep(0.01)
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        assert type(message["body"]) is bytes  # as ASGI says, whatever was buffered
        digest.update(message["body"])
        size, pieces = size + len(message["body"]), pieces + 1
        if not message.get("more_body"):
            break
    body = json.dumps({"size": size, "sha256": digest.hexdigest(), "pieces": pieces}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(echo, http=LeanBodyProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)


def answer(connection: http.client.HTTPConnection) -> dict[str, Any]:
    response = connection.getresponse()
    assert response.status == 200
    found: dict[str, Any] = json.loads(response.read())
    return found


@pytest.mark.parametrize("slow", [False, True], ids=["app keeps up", "app behind"])
def test_bodies_of_every_size_arrive_whole_on_one_connection(port: int, slow: bool) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    rng = random.Random(5)
    for size in (0, 1, 65_535, 65_537, 3 * 1024 * 1024 + 7):
        body = rng.randbytes(size)
        connection.request("PUT", "/?slow" if slow else "/", body=body)
        got = answer(connection)
        assert (got["size"], got["sha256"]) == (size, hashlib.sha256(body).hexdigest())
    connection.close()


def test_a_chunked_body_sent_in_pieces_arrives_whole(port: int) -> None:
    pieces = [random.Random(n).randbytes(n * 40_000 + 1) for n in range(12)]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("PUT", "/?slow", body=iter(pieces), encode_chunked=True)
    got = answer(connection)
    whole = b"".join(pieces)
    assert (got["size"], got["sha256"]) == (len(whole), hashlib.sha256(whole).hexdigest())
    connection.close()


def test_a_client_gone_midway_leaves_the_server_serving(port: int) -> None:
    broken = socket.create_connection(("127.0.0.1", port))
    broken.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 5000)
    broken.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("PUT", "/", body=b"after")
    assert answer(connection)["size"] == 5
    connection.close()
