"""Model artifacts over HTTP, on both profiles: chunked, resumable uploads; validation;
content-addressed storage; signed downloads; and all of it with someone else's keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import pickle
import resource
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from infra.blobs import FilesystemBlobStore
from infra.bootstrap import Container, build_container
from infra.http.app import create_app
from infra.settings import Settings
from infra.staging import FilesystemStaging
from tests.support import Account, ConsistentClient, MovableClock, verified_account

PART = 1024  # the smallest part size the default settings allow


def model_bytes(weights: int = 256) -> bytes:
    """A real ONNX model, y = x @ W with a dynamic batch; `weights` rows of 4 floats."""
    w = numpy_helper.from_array(np.ones((weights, 4), dtype=np.float32), "W")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", weights])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


def hostile_model(variant: str, n: int) -> bytes:
    """A few hundred bytes that ask for n*n floats once loaded (or once optimised)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])
    add = helper.make_node("Add", ["x", "S"], ["y"])
    empty = helper.make_tensor("S", TensorProto.FLOAT, [0], [])
    sparse = helper.make_sparse_tensor(
        empty, helper.make_tensor("i", TensorProto.INT64, [0], []), [n, n]
    )
    nodes, initializers, sparse_initializers = [add], list[TensorProto](), []
    if variant == "sparse_initializer":  # huge dims: onnxruntime makes it dense
        sparse_initializers.append(sparse)
    elif variant == "short_initializer":  # a huge declared size, four bytes of data
        short = TensorProto(name="S", data_type=TensorProto.FLOAT, dims=[n, n], raw_data=b"1234")
        initializers.append(short)
    elif variant == "sparse_constant":  # a node whose output is huge
        nodes.insert(0, helper.make_node("Constant", [], ["S"], sparse_value=sparse))
    elif variant == "constant_of_shape":  # huge once folded for serving
        initializers.append(helper.make_tensor("shape", TensorProto.INT64, [2], [n, n]))
        nodes.insert(0, helper.make_node("ConstantOfShape", ["shape"], ["S"]))
    graph = helper.make_graph(
        nodes, "g", [x], [y], initializers, sparse_initializer=sparse_initializers
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def split(content: bytes, part_size: int = PART) -> list[bytes]:
    return [content[i : i + part_size] for i in range(0, len(content), part_size)]


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def create_model(client: TestClient, owner: Account, **details: Any) -> str:
    body = {"slug": f"m-{uuid.uuid4().hex[:10]}", "name": "Tiny", **details}
    response = client.post("/v1/models", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start(
    client: TestClient, owner: Account, model_id: str, content: bytes, version: str = "1.0.0",
    **overrides: Any,
) -> Any:  # fmt: skip
    body = {"version": version, "size": len(content), "sha256": sha256(content), "part_size": PART}
    return client.post(
        f"/v1/models/{model_id}/uploads", json={**body, **overrides}, headers=owner.headers
    )


def put(
    client: TestClient, owner: Account, upload_id: str, n: int, data: bytes,
    **headers: str,
) -> Any:  # fmt: skip
    return client.put(
        f"/v1/uploads/{upload_id}/parts/{n}",
        content=data,
        headers={**owner.headers, "Content-Type": "application/octet-stream", **headers},
    )


def content_digest(data: bytes) -> str:
    """RFC 9530's Content-Digest for `data`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def complete(client: TestClient, owner: Account, upload_id: str) -> Any:
    return client.post(f"/v1/uploads/{upload_id}/complete", headers=owner.headers)


def upload(
    client: TestClient, owner: Account, model_id: str, content: bytes, version: str = "1.0.0"
) -> dict[str, Any]:
    started = start(client, owner, model_id, content, version)
    assert started.status_code == 201, started.text
    upload_id = started.json()["upload_id"]
    for n, data in enumerate(split(content), start=1):
        assert put(client, owner, upload_id, n, data).status_code == 200
    done = complete(client, owner, upload_id)
    assert done.status_code == 200, done.text
    return dict(done.json())


def download_url(client: TestClient, who: Account, model_id: str, version: str) -> Any:
    return client.get(f"/v1/models/{model_id}/versions/{version}/download-url", headers=who.headers)


def publish(client: TestClient, owner: Account, model_id: str, version: str) -> None:
    response = client.post(
        f"/v1/models/{model_id}/versions/{version}/publish", headers=owner.headers
    )
    assert response.status_code == 200, response.text


def blobs(container: Container) -> FilesystemBlobStore:
    return FilesystemBlobStore(container.settings.blob_root())


def staging(container: Container) -> FilesystemStaging:
    return FilesystemStaging(container.settings.staging_root())


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


@pytest.fixture
def limited(settings: Settings, clock: MovableClock) -> Iterator[Callable[..., TestClient]]:
    """A client of an app whose settings differ from the profile's by the given ones."""
    with ExitStack() as stack:

        def make(**changes: Any) -> TestClient:
            built = build_container(settings.model_copy(update=changes), clock=clock)
            stack.callback(built.close)
            built.start_runner()
            app = create_app(built)
            return stack.enter_context(ConsistentClient(app, raise_server_exceptions=False))

        yield make


def test_parts_sent_out_of_order_with_one_sent_again_make_a_validated_version(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes()
    model_id = create_model(client, publisher)
    started = start(client, publisher, model_id, content)
    assert started.status_code == 201, started.text
    body = started.json()
    parts = split(content)
    assert (body["part_size"], body["parts"]) == (PART, len(parts)) and len(parts) >= 3
    upload_id = body["upload_id"]

    # Part 2 first goes wrong (same length, other bytes); sent again later, it replaces it.
    assert put(client, publisher, upload_id, 2, b"\0" * PART).status_code == 200
    for n in range(len(parts), 2, -1):
        data = parts[n - 1]
        if n % 2:  # checked against the digest the client sends, which is echoed
            checked = {"Content-Digest": content_digest(data)}
            sent = put(client, publisher, upload_id, n, data, **checked)
            assert sent.json() == {"part": n, "size": len(data), "sha256": sha256(data)}
        else:  # not hashed on its own: the whole file is, at completion
            sent = put(client, publisher, upload_id, n, data)
            assert sent.json() == {"part": n, "size": len(data), "sha256": None}
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert (status["status"], status["missing"]) == ("open", [1])
    assert status["received"] == list(range(2, len(parts) + 1))
    assert put(client, publisher, upload_id, 2, parts[1]).status_code == 200
    assert put(client, publisher, upload_id, 1, parts[0]).status_code == 200

    version = complete(client, publisher, upload_id).json()
    assert version["status"] == "validated" and version["framework"] == "onnx"
    assert version["digest"] == f"sha256:{sha256(content)}" and version["size"] == len(content)
    assert version["signature"]["inputs"] == [
        {"name": "x", "dtype": "float32", "shape": ["batch", 256]}
    ]
    assert version["signature"]["opset"] == 17 and version["signature"]["ir_version"] == 9
    assert blobs(container).exists(version["digest"])
    assert not (container.settings.staging_root() / upload_id).exists()
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert (status["status"], status["digest"]) == ("completed", version["digest"])
    again = complete(client, publisher, upload_id)
    assert (again.status_code, code(again)) == (409, "upload_closed")


def test_the_same_bytes_as_another_version_are_stored_once(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes(weights=300)
    model_id = create_model(client, publisher)
    first = upload(client, publisher, model_id, content, "1.0.0")
    stored = blobs(container).count()
    second = upload(client, publisher, model_id, content, "1.1.0")
    assert first["digest"] == second["digest"] and second["status"] == "validated"
    assert blobs(container).count() == stored


def test_a_checksum_mismatch_is_refused_and_leaves_nothing_behind(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes(weights=310)
    model_id = create_model(client, publisher)
    before = blobs(container).count()
    started = start(client, publisher, model_id, content, sha256=sha256(b"something else"))
    upload_id = started.json()["upload_id"]
    for n, data in enumerate(split(content), start=1):
        put(client, publisher, upload_id, n, data)
    refused = complete(client, publisher, upload_id)
    assert (refused.status_code, code(refused)) == (422, "checksum_mismatch")
    assert not (container.settings.staging_root() / upload_id).exists()
    assert blobs(container).count() == before
    assert not blobs(container).exists(f"sha256:{sha256(content)}")
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert status["status"] == "failed" and "checksum_mismatch" in status["reason"]
    # The version number was never taken: a correct upload of it goes through.
    assert upload(client, publisher, model_id, content)["status"] == "validated"


def test_sizes_outside_the_limits_are_refused_up_front(
    client: TestClient, publisher: Account
) -> None:
    model_id = create_model(client, publisher)
    content = model_bytes()
    too_large = start(client, publisher, model_id, content, size=2 * 1024**3 + 1, part_size=None)
    assert (too_large.status_code, code(too_large)) == (413, "upload_too_large")
    tiny_parts = start(client, publisher, model_id, content, part_size=100)
    assert (tiny_parts.status_code, code(tiny_parts)) == (422, "invalid_part_size")
    too_many = start(client, publisher, model_id, content, size=1024**3)
    assert (too_many.status_code, code(too_many)) == (422, "too_many_parts")
    bad_version = start(client, publisher, model_id, content, version="v1")
    assert (bad_version.status_code, code(bad_version)) == (422, "invalid_version")


def test_parts_beyond_the_declared_size_are_refused(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes()
    parts = split(content)
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content).json()["upload_id"]
    beyond = put(client, publisher, upload_id, len(parts) + 1, b"x")
    assert (beyond.status_code, code(beyond)) == (422, "part_out_of_range")
    longer = put(client, publisher, upload_id, len(parts), parts[-1] + b"x")
    assert (longer.status_code, code(longer)) == (422, "size_mismatch")
    shorter = put(client, publisher, upload_id, 1, parts[0][:-1])
    assert (shorter.status_code, code(shorter)) == (422, "size_mismatch")
    assert staging(container).received(uuid.UUID(upload_id)) == []
    # A part received whole, then sent again and refused, is missing: its bytes were
    # being overwritten in place.
    assert put(client, publisher, upload_id, 1, parts[0]).status_code == 200
    assert staging(container).received(uuid.UUID(upload_id)) == [1]
    again = put(client, publisher, upload_id, 1, parts[0][:-1])
    assert (again.status_code, code(again)) == (422, "size_mismatch")
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert status["received"] == [] and status["missing"] == list(range(1, len(parts) + 1))


def test_a_part_checked_against_a_wrong_digest_is_refused_and_stays_missing(
    client: TestClient, publisher: Account
) -> None:
    content = model_bytes()
    parts = split(content)
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content).json()["upload_id"]
    wrong = put(client, publisher, upload_id, 1, parts[0], **{"X-Part-SHA256": sha256(b"x")})
    assert (wrong.status_code, code(wrong)) == (422, "part_checksum_mismatch")
    corrupted = bytes([parts[1][0] ^ 1]) + parts[1][1:]  # one bit flipped on the way
    flipped = put(client, publisher, upload_id, 2, corrupted,
                  **{"Content-Digest": content_digest(parts[1])})  # fmt: skip
    assert (flipped.status_code, code(flipped)) == (422, "part_checksum_mismatch")
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert status["received"] == [] and status["missing"][:2] == [1, 2]

    malformed = {
        "Content-Digest": "sha-256=not-a-byte-sequence",
        "content-digest": "sha-512=:" + base64.b64encode(b"\0" * 64).decode() + ":",
        "X-Part-SHA256": "abc",
    }
    for name, value in malformed.items():
        refused = put(client, publisher, upload_id, 1, parts[0], **{name: value})
        assert (refused.status_code, code(refused)) == (422, "invalid_part_digest"), name
    disagree = put(client, publisher, upload_id, 1, parts[0], **{
        "Content-Digest": content_digest(parts[0]), "X-Part-SHA256": sha256(parts[1]),
    })  # fmt: skip
    assert (disagree.status_code, code(disagree)) == (422, "invalid_part_digest")

    both = {"Content-Digest": "md5=:AAAA:, " + content_digest(parts[0]),
            "X-Part-SHA256": sha256(parts[0]).upper()}  # fmt: skip
    assert put(client, publisher, upload_id, 1, parts[0], **both).json()["sha256"] == sha256(
        parts[0]
    )
    for n, data in enumerate(parts[1:], start=2):
        put(client, publisher, upload_id, n, data)
    assert complete(client, publisher, upload_id).json()["status"] == "validated"


def test_a_missing_part_makes_complete_a_409_and_the_upload_can_resume(
    client: TestClient, publisher: Account
) -> None:
    content = model_bytes()
    parts = split(content)
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content).json()["upload_id"]
    for n in range(1, len(parts)):
        put(client, publisher, upload_id, n, parts[n - 1])
    incomplete = complete(client, publisher, upload_id)
    assert (incomplete.status_code, code(incomplete)) == (409, "upload_incomplete")
    assert str(len(parts)) in incomplete.json()["error"]["message"]
    put(client, publisher, upload_id, len(parts), parts[-1])
    assert complete(client, publisher, upload_id).json()["status"] == "validated"


def test_a_pickle_becomes_a_rejected_version_with_a_reason_and_is_not_kept(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = pickle.dumps({"weights": list(range(1000))})
    model_id = create_model(client, publisher)
    version = upload(client, publisher, model_id, content)
    assert version["status"] == "rejected" and version["signature"] is None
    assert "arbitrary code" in version["reasons"][0]
    assert not blobs(container).exists(version["digest"])
    no_url = download_url(client, publisher, model_id, "1.0.0")
    assert (no_url.status_code, code(no_url)) == (409, "version_status")
    # A rejected version number may be uploaded again, this time with a real model.
    assert upload(client, publisher, model_id, model_bytes())["status"] == "validated"


@pytest.mark.parametrize(
    "variant", ["sparse_initializer", "short_initializer", "sparse_constant", "constant_of_shape"]
)
def test_a_small_file_that_declares_huge_tensors_is_rejected_without_the_api_growing(
    client: TestClient, publisher: Account, variant: str
) -> None:
    content = hostile_model(variant, 12_000)  # 576 MB of floats, 1.1 GB loaded the old way
    assert len(content) < 1024 * 1024
    model_id = create_model(client, publisher)
    before = peak_rss_mb()
    version = upload(client, publisher, model_id, content)
    assert peak_rss_mb() - before < 100
    assert version["status"] == "rejected" and version["signature"] is None
    assert "more than the file holds for them" in version["reasons"][0]


def test_a_validator_past_its_memory_limit_is_killed_and_the_version_rejected(
    limited: Callable[..., TestClient], outbox: Path
) -> None:
    # The wire check lets it through; the child's address space does not.
    client = limited(
        validation_memory_bytes=320 * 1024 * 1024,
        validation_memory_per_byte=0,
        validation_max_expanded_bytes=2**40,
    )
    owner = verified_account(client, outbox, role="publisher")
    model_id = create_model(client, owner)
    version = upload(client, owner, model_id, hostile_model("sparse_initializer", 12_000))
    assert version["status"] == "rejected"
    assert version["reasons"] == ["validation needed more than 320 MiB of memory and was stopped"]


def all_parts_sent(client: TestClient, owner: Account, model_id: str) -> str:
    """An upload of the small model with every part sent, not yet completed."""
    upload_id = str(start(client, owner, model_id, model_bytes()).json()["upload_id"])
    for n, data in enumerate(split(model_bytes()), start=1):
        put(client, owner, upload_id, n, data)
    return upload_id


def test_a_validator_past_its_time_limit_is_killed_and_the_upload_ends_rejected(
    limited: Callable[..., TestClient], outbox: Path
) -> None:
    client = limited(validation_timeout_s=0.05)
    owner = verified_account(client, outbox, role="publisher")
    model_id = create_model(client, owner)
    upload_id = all_parts_sent(client, owner, model_id)
    version = complete(client, owner, upload_id).json()
    assert version["status"] == "rejected"
    assert version["reasons"] == ["validation took longer than 0.05 s and was stopped"]
    status = client.get(f"/v1/uploads/{upload_id}", headers=owner.headers).json()
    assert status["status"] == "completed"  # not left open, not stuck


def test_with_every_validator_busy_completion_is_503_and_works_when_tried_again(
    limited: Callable[..., TestClient], outbox: Path
) -> None:
    client = limited(validation_concurrency=1, validation_queue_wait_s=0.1)
    container = client.app.state.container  # type: ignore[attr-defined]
    owner = verified_account(client, outbox, role="publisher")
    model_id = create_model(client, owner)
    upload_id = all_parts_sent(client, owner, model_id)
    slots = container.uploads.validator._slots
    assert slots.acquire(timeout=1)  # another upload's validation holds the only slot
    try:
        busy = complete(client, owner, upload_id)
    finally:
        slots.release()
    assert (busy.status_code, code(busy)) == (503, "validation_busy")
    status = client.get(f"/v1/uploads/{upload_id}", headers=owner.headers).json()
    assert status["status"] == "open"  # nothing lost: the file went back to the upload
    again = complete(client, owner, upload_id)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "validated"


def test_a_published_free_model_downloads_as_the_same_bytes_for_anyone_who_sees_it(
    client: TestClient, outbox: Path, publisher: Account
) -> None:
    content = model_bytes(weights=320)
    model_id = create_model(client, publisher, visibility="public")
    upload(client, publisher, model_id, content)
    consumer = verified_account(client, outbox)
    unpublished = download_url(client, consumer, model_id, "1.0.0")
    assert (unpublished.status_code, code(unpublished)) == (404, "version_not_found")
    assert download_url(client, publisher, model_id, "1.0.0").status_code == 200
    publish(client, publisher, model_id, "1.0.0")

    signed = download_url(client, consumer, model_id, "1.0.0")
    assert signed.status_code == 200, signed.text
    fetched = client.get(signed.json()["url"])  # no credentials: the URL is one
    assert fetched.status_code == 200
    assert fetched.content == content
    assert fetched.headers["content-length"] == str(len(content))
    assert fetched.headers["etag"] == f'"sha256:{sha256(content)}"'


def test_a_tampered_or_expired_url_is_refused(
    client: TestClient, clock: MovableClock, publisher: Account
) -> None:
    model_id = create_model(client, publisher)
    upload(client, publisher, model_id, model_bytes())
    url = download_url(client, publisher, model_id, "1.0.0").json()["url"]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    signature = query["signature"]
    tampered = [
        {**query, "signature": ("0" if signature[0] != "0" else "1") + signature[1:]},
        {**query, "version": "1.0.1"},
        {**query, "user": str(uuid.uuid4())},
        {**query, "expires": str(int(query["expires"]) + 3600)},
        {k: v for k, v in query.items() if k != "signature"},
        {**query, "expires": "soon"},
    ]
    for changed in tampered:
        refused = client.get(f"{parts.path}?{urlencode(changed)}")
        assert (refused.status_code, code(refused)) == (403, "invalid_signature"), changed
    other_blob = parts.path[:-4] + "0000"
    assert code(client.get(f"{other_blob}?{parts.query}")) == "invalid_signature"
    assert client.get(url).status_code == 200
    clock.advance(601)
    expired = client.get(url)
    assert (expired.status_code, code(expired)) == (403, "url_expired")


def test_nobody_else_touches_an_upload_or_downloads_what_they_may_not(
    client: TestClient, outbox: Path, publisher: Account
) -> None:
    content = model_bytes()
    private = create_model(client, publisher)
    upload_id = start(client, publisher, private, content).json()["upload_id"]
    other = verified_account(client, outbox, role="publisher")
    for response in (
        client.get(f"/v1/uploads/{upload_id}", headers=other.headers),
        put(client, other, upload_id, 1, split(content)[0]),
        complete(client, other, upload_id),
    ):
        assert (response.status_code, code(response)) == (404, "upload_not_found")
    public = create_model(client, publisher, visibility="public")
    assert code(start(client, other, private, content)) == "model_not_found"
    assert code(start(client, other, public, content)) == "not_model_owner"

    put(client, publisher, upload_id, 1, split(content)[0])  # untouched by the attempts above
    for n, data in enumerate(split(content)[1:], start=2):
        put(client, publisher, upload_id, n, data)
    assert complete(client, publisher, upload_id).json()["status"] == "validated"
    publish(client, publisher, private, "1.0.0")
    hidden = download_url(client, other, private, "1.0.0")
    assert (hidden.status_code, code(hidden)) == (404, "model_not_found")

    paid = create_model(
        client, publisher, visibility="public", pricing={"currency": "EUR", "price_per_request": 5}
    )
    gated = create_model(client, publisher, visibility="public", gated=True)
    for model_id, expected in ((paid, "purchase_required"), (gated, "access_not_granted")):
        upload(client, publisher, model_id, content)
        publish(client, publisher, model_id, "1.0.0")
        refused = download_url(client, other, model_id, "1.0.0")
        assert (refused.status_code, code(refused)) == (403, expected)
        assert download_url(client, publisher, model_id, "1.0.0").status_code == 200
    anonymous = client.get(f"/v1/models/{paid}/versions/1.0.0/download-url")
    assert anonymous.status_code == 401


def test_an_expired_upload_is_refused_and_swept_away(
    client: TestClient, container: Container, clock: MovableClock, publisher: Account
) -> None:
    content = model_bytes()
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content).json()["upload_id"]
    put(client, publisher, upload_id, 1, split(content)[0])
    clock.advance(container.settings.upload_ttl_s + 1)
    late = put(client, publisher, upload_id, 2, split(content)[1])
    assert (late.status_code, code(late)) == (409, "upload_expired")
    assert client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()["status"] == (
        "expired"
    )
    container.uploads.sweep()  # a grace period, for a completion under way
    assert (container.settings.staging_root() / upload_id).exists()
    clock.advance(3600)
    assert container.uploads.sweep() >= 1
    assert not (container.settings.staging_root() / upload_id).exists()
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert (status["status"], status["reason"]) == ("failed", "expired")


def test_a_part_larger_than_the_json_body_limit_is_accepted_on_the_parts_route(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes(weights=100_000)  # 1.6 MB: over the 1 MiB JSON limit
    assert len(content) > container.settings.max_body_bytes
    model_id = create_model(client, publisher)
    started = start(client, publisher, model_id, content, part_size=None)
    assert started.json()["parts"] == 1
    upload_id = started.json()["upload_id"]
    assert put(client, publisher, upload_id, 1, content).status_code == 200
    assert complete(client, publisher, upload_id).json()["status"] == "validated"


def stream_part(
    client: TestClient, who: Account, upload_id: str, n: int, data: bytes, digest: str = ""
) -> Any:
    """PUT a part in 64 KiB chunks, as a server hands a body over (TestClient sends one)."""
    checked = {"Content-Digest": digest} if digest else {}

    async def body() -> Any:
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.put(
                f"/v1/uploads/{upload_id}/parts/{n}",
                content=body(),
                headers={**who.headers, "Content-Type": "application/octet-stream", **checked},
            )

    return asyncio.run(send())


def test_a_second_copy_of_a_part_while_the_first_arrives_is_a_409(
    client: TestClient, publisher: Account
) -> None:
    """Two copies at once would leave a mix of both in the part's place; the later waits."""
    content = model_bytes(weights=100_000)
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content, part_size=None).json()["upload_id"]
    url = f"/v1/uploads/{upload_id}/parts/1"
    headers = {**publisher.headers, "Content-Type": "application/octet-stream"}

    async def both() -> tuple[httpx.Response, httpx.Response]:
        halfway, go_on = asyncio.Event(), asyncio.Event()

        async def slow_body() -> Any:
            yield content[:65536]
            halfway.set()
            await go_on.wait()
            yield content[65536:]

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            first = asyncio.ensure_future(c.put(url, content=slow_body(), headers=headers))
            # The app reads the body only after the part's writer took hold of the part.
            await asyncio.wait_for(halfway.wait(), 10)
            second = await c.put(url, content=content, headers=headers)
            go_on.set()
            return await first, second

    first, second = asyncio.run(both())
    assert (second.status_code, code(second)) == (409, "part_in_progress")
    assert first.status_code == 200, first.text
    assert complete(client, publisher, upload_id).json()["status"] == "validated"


def test_a_part_streamed_in_small_chunks_arrives_whole_and_one_byte_too_many_leaves_nothing(
    client: TestClient, container: Container, publisher: Account
) -> None:
    content = model_bytes(weights=200_000)  # 3.2 MB: several batches on their way to disk
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content, part_size=None).json()["upload_id"]
    sent = stream_part(client, publisher, upload_id, 1, content, content_digest(content))
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"part": 1, "size": len(content), "sha256": sha256(content)}
    version = complete(client, publisher, upload_id).json()
    assert (version["status"], version["digest"]) == ("validated", f"sha256:{sha256(content)}")
    with blobs(container).open(version["digest"]) as stored:
        assert stored.read() == content

    again = start(client, publisher, model_id, content, "1.0.1", part_size=None).json()
    too_long = stream_part(client, publisher, again["upload_id"], 1, content + b"x")
    assert (too_long.status_code, code(too_long)) == (422, "size_mismatch")
    staged = container.settings.staging_root() / again["upload_id"]
    # The upload's own file (its size from the start) and the part's lock, and no mark;
    # its bytes are stored already (version 1.0.0), so nothing goes to disk as it arrives.
    assert sorted(p.name for p in staged.iterdir()) == ["1.lock", "stored-already", "upload.bin"]
    assert (staged / "upload.bin").stat().st_size == len(content)
    unchecked = stream_part(client, publisher, again["upload_id"], 1, content)
    assert unchecked.status_code == 200 and unchecked.json()["sha256"] is None
    assert complete(client, publisher, again["upload_id"]).json()["status"] == "validated"


def test_a_completion_that_fails_after_storing_the_bytes_can_be_retried(
    client: TestClient, container: Container, publisher: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = model_bytes(weights=330)
    model_id = create_model(client, publisher)
    upload_id = start(client, publisher, model_id, content).json()["upload_id"]
    for n, data in enumerate(split(content), start=1):
        put(client, publisher, upload_id, n, data)
    app, failed = container.uploads.app, list[bool]()
    original = app.write

    def save(*aggregates: Any) -> Any:
        if len(aggregates) == 2 and not failed:  # the model and the upload, once
            failed.append(True)
            raise RuntimeError("the event store went away")
        return original(*aggregates)

    monkeypatch.setattr(app, "write", save)
    broken = complete(client, publisher, upload_id)
    assert broken.status_code == 500 and failed
    digest = f"sha256:{sha256(content)}"
    assert blobs(container).exists(digest)  # stored before the save that failed
    status = client.get(f"/v1/uploads/{upload_id}", headers=publisher.headers).json()
    assert status["status"] == "open" and status["missing"] == []
    # The upload has its bytes back (copied from the blob): parts may even be sent again.
    assert put(client, publisher, upload_id, 1, split(content)[0]).status_code == 200
    version = complete(client, publisher, upload_id).json()
    assert (version["status"], version["digest"]) == ("validated", digest)
    assert not (container.settings.staging_root() / upload_id).exists()
