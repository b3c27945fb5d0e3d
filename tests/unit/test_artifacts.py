"""Artifacts: sniffing and validation on real files, the blob store and staging on disk
(parts at their offsets in one file, sealing), a part's size and digest checks, the
Upload aggregate's rules, and the per-route body limit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import pickle
import random
import re
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import numpy as np
import onnx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from pydantic import ValidationError

from commands.artifacts import (
    ArtifactValidator,
    ConversionFailed,
    SizeLimits,
    check_onnx,
    sniff,
)
from commands.onnx_wire import WireError, read_header
from commands.ports import UploadCompleting
from commands.upload_parts import (
    CHUNK,
    PartChecksumMismatch,
    PartReceived,
    PartSlot,
    SizeMismatch,
)
from commands.upload_parts import pipe as _pipe
from domain.errors import InvalidInput
from domain.upload import (
    MAX_PARTS,
    PartOutOfRange,
    TooManyParts,
    Upload,
    UploadClosed,
    UploadNotFound,
)
from infra.blobs import FilesystemBlobStore
from infra.http.middleware import BodyLimit, RequestContextMiddleware
from infra.http.schemas.uploads import requested_sha256
from infra.sandbox import SandboxedValidator, SandboxLimits
from infra.settings import Settings
from infra.staging import FilesystemStaging

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def tiny_model(batch: str | None = "batch", weights: int = 8) -> onnx.ModelProto:
    """y = x @ W, with a dynamic first dimension."""
    w = numpy_helper.from_array(np.arange(weights * 4, dtype=np.float32).reshape(weights, 4), "W")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, weights])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
        producer_name="aimarket-tests",
        producer_version="1.0",
    )
    model.ir_version = 9
    return model


def saved(tmp_path: Path, name: str, content: bytes | onnx.ModelProto) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.SerializeToString())
    return path


def zipped(tmp_path: Path, name: str, entries: dict[str, bytes]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


# Sniffing and validation


def test_a_valid_onnx_model_is_accepted_with_its_signature(tmp_path: Path) -> None:
    verdict = ArtifactValidator().validate(saved(tmp_path, "model.bin", tiny_model()))
    assert verdict.accepted and verdict.framework == "onnx"
    assert verdict.signature == {
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 8]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 4]}],
        "opset": 17,
        "opset_imports": [
            {"domain": "ai.onnx", "version": 17},
            {"domain": "com.example", "version": 1},
        ],
        "ir_version": 9,
        "producer": "aimarket-tests 1.0",
    }


def test_an_unnamed_dynamic_dimension_is_null(tmp_path: Path) -> None:
    verdict = check_onnx(saved(tmp_path, "model.onnx", tiny_model(batch=None)))
    assert verdict.signature is not None
    assert verdict.signature["inputs"][0]["shape"] == [None, 8]


def test_a_truncated_protobuf_is_rejected_as_corrupt(tmp_path: Path) -> None:
    whole = tiny_model(weights=64).SerializeToString()
    verdict = ArtifactValidator().validate(saved(tmp_path, "model.onnx", whole[: len(whole) // 2]))
    assert verdict.kind == "onnx" and not verdict.accepted
    assert "corrupt or truncated" in verdict.reasons[0]


def test_a_model_the_checker_refuses_is_rejected_with_the_checkers_words(tmp_path: Path) -> None:
    model = tiny_model()
    model.graph.node[0].op_type = "NoSuchOp"
    verdict = check_onnx(saved(tmp_path, "model.onnx", model))
    assert verdict.reasons[0].startswith("onnx.checker refused the model")
    assert "NoSuchOp" in verdict.reasons[0]
    assert str(tmp_path) not in verdict.reasons[0]


def test_a_model_that_onnxruntime_cannot_load_is_rejected(tmp_path: Path) -> None:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])
    b = helper.make_tensor_value_info("b", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "g", [a, b], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)  # the checker alone lets the type clash through
    verdict = check_onnx(saved(tmp_path, "model.onnx", model))
    assert verdict.reasons[0].startswith("onnxruntime could not load the model")
    assert str(tmp_path) not in verdict.reasons[0]


def test_external_data_is_refused_before_anything_reads_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(32, np.float32).tobytes())
    model = tiny_model()
    onnx.save_model(
        model, tmp_path / "model.onnx", save_as_external_data=True, location="secret.bin",
        size_threshold=0,
    )  # fmt: skip
    verdict = check_onnx(tmp_path / "model.onnx")
    assert not verdict.accepted and "external data" in verdict.reasons[0]


def test_external_data_hidden_in_a_subgraph_is_found(tmp_path: Path) -> None:
    hidden = numpy_helper.from_array(np.ones(2, np.float32), "k")
    hidden.ClearField("raw_data")
    hidden.data_location = TensorProto.EXTERNAL
    entry = hidden.external_data.add()
    entry.key, entry.value = "location", "../../blobs/another-model"
    out = helper.make_tensor_value_info("o", TensorProto.FLOAT, [2])
    then = helper.make_graph([helper.make_node("Identity", ["k"], ["o"])], "t", [], [out], [hidden])
    zero = numpy_helper.from_array(np.zeros(2, np.float32))
    other = helper.make_graph([helper.make_node("Constant", [], ["o"], value=zero)], "e", [], [out])
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    node = helper.make_node("If", ["c"], ["o"], then_branch=then, else_branch=other)
    model = helper.make_model(helper.make_graph([node], "g", [cond], [out]))
    path = saved(tmp_path, "model.onnx", model)
    with path.open("rb") as f:
        assert read_header(f, path.stat().st_size).external_data
    assert "external data" in check_onnx(path).reasons[0]


def test_the_wire_reader_refuses_garbage() -> None:
    with pytest.raises(WireError):
        read_header(io.BytesIO(b"\x08\x09\x3a\x7f\x00"), 5)  # graph claims 127 bytes of 1


def shaped(shape: list[int], through_constant_node: bool) -> onnx.ModelProto:
    """y = ConstantOfShape(shape) inside an If branch, the shape an initializer or a
    Constant node."""
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])
    value = helper.make_tensor("shape", TensorProto.INT64, [len(shape)], shape)
    fill = helper.make_node("ConstantOfShape", ["shape"], ["y"])
    nodes, inits = [fill], [value]
    if through_constant_node:
        nodes, inits = [helper.make_node("Constant", [], ["shape"], value=value), fill], []
    branch = helper.make_graph(nodes, "b", [], [out], inits)
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    model = helper.make_model(helper.make_graph([node], "g", [cond], [out]))
    model.ir_version = 9
    return model


@pytest.mark.parametrize("through_constant_node", [False, True])
def test_a_constant_shape_too_large_to_fold_is_refused_a_small_one_is_not(
    tmp_path: Path, through_constant_node: bool
) -> None:
    small = check_onnx(saved(tmp_path, "s.onnx", shaped([2, 3], through_constant_node)))
    assert small.accepted, small.reasons
    huge = check_onnx(saved(tmp_path, "h.onnx", shaped([10**6, 10**6], through_constant_node)))
    assert "more than the file holds" in huge.reasons[0]
    assert "'ConstantOfShape(shape)' alone by 8000000000000" in huge.reasons[0]


def test_a_sparse_tensor_deep_in_a_subgraph_counts_at_its_dense_size(tmp_path: Path) -> None:
    empty = helper.make_tensor("big", TensorProto.DOUBLE, [0], [])
    index = helper.make_tensor("i", TensorProto.INT64, [0], [])
    sparse = helper.make_sparse_tensor(empty, index, [4096, 4096])  # 128 MiB of doubles
    out = helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)
    constant = helper.make_node("Constant", [], ["y"], sparse_value=sparse)
    branch = helper.make_graph([constant], "b", [], [out])
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    path = saved(
        tmp_path, "m.onnx", helper.make_model(helper.make_graph([node], "g", [cond], [out]))
    )
    with path.open("rb") as f:
        header = read_header(f, path.stat().st_size)
    assert header.expanded_bytes == 2 * 128 * 1024 * 1024 and header.largest[0] == "big"
    verdict = check_onnx(path, SizeLimits(max_expanded_bytes=255 * 1024 * 1024))
    assert "'big' alone by 134217728" in verdict.reasons[0]


def test_a_model_with_more_nodes_than_allowed_is_refused(tmp_path: Path) -> None:
    path = saved(tmp_path, "m.onnx", tiny_model())
    assert ArtifactValidator(limits=SizeLimits(max_nodes=1)).validate(path).accepted
    verdict = ArtifactValidator(limits=SizeLimits(max_nodes=0)).validate(path)
    assert verdict.reasons == ("the model has 1 nodes; at most 0 are accepted",)


@pytest.mark.parametrize(
    ("dims", "words"), [([-1, 4], "negative dimension"), ([1] * 65, "more than 64 dimensions")]
)
def test_a_tensor_with_impossible_dims_is_corrupt(
    tmp_path: Path, dims: list[int], words: str
) -> None:
    model = tiny_model()
    model.graph.initializer[0].ClearField("dims")
    model.graph.initializer[0].dims.extend(dims)
    verdict = check_onnx(saved(tmp_path, "m.onnx", model))
    assert "corrupt" in verdict.reasons[0] and words in verdict.reasons[0]


def test_the_sandbox_gives_the_same_verdict_as_validating_in_process(tmp_path: Path) -> None:
    path = saved(tmp_path, "model.bin", tiny_model())
    sandbox = SandboxedValidator(SandboxLimits(2 * 1024**3, 4, 60, 60, SizeLimits()))
    assert sandbox.validate(path) == ArtifactValidator().validate(path)
    refused = sandbox.validate(saved(tmp_path, "pickle.bin", pickle.dumps({"w": 1})))
    assert refused.kind == "pickle" and "arbitrary code" in refused.reasons[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "pickle.bin"]


def test_a_raw_pickle_is_refused_as_unsafe(tmp_path: Path) -> None:
    verdict = ArtifactValidator().validate(saved(tmp_path, "model.onnx", pickle.dumps({"w": 1})))
    assert verdict.kind == "pickle" and not verdict.accepted
    assert "arbitrary code" in verdict.reasons[0] and "ONNX" in verdict.reasons[0]


def test_a_torch_save_checkpoint_is_refused_as_unsafe(tmp_path: Path) -> None:
    path = zipped(
        tmp_path, "model.onnx",
        {"archive/data.pkl": pickle.dumps({"w": 1}), "archive/data/0": b"\0" * 16,
         "archive/version": b"3\n"},
    )  # fmt: skip
    verdict = ArtifactValidator().validate(path)
    assert verdict.kind == "torch_pickle"
    assert "torch.save" in verdict.reasons[0] and "arbitrary code" in verdict.reasons[0]


TORCHSCRIPT = {
    "archive/data.pkl": pickle.dumps(1),
    "archive/constants.pkl": pickle.dumps(()),
    "archive/code/__torch__/model.py": b"class Model(Module): ...",
    "archive/version": b"3\n",
}


def test_torchscript_without_torch_says_to_export_to_onnx_or_install_the_extra(
    tmp_path: Path,
) -> None:
    verdict = ArtifactValidator().validate(zipped(tmp_path, "m.pt", TORCHSCRIPT))
    assert verdict.kind == "torchscript" and not verdict.accepted
    assert "`torch` extra" in verdict.reasons[0] and "torch.onnx.export" in verdict.reasons[0]


class FakeConverter:
    """Stands in for torch: 'converts' by writing a known ONNX model."""

    kinds = frozenset({"torch_export"})

    def __init__(self, result: bytes | None) -> None:
        self.result = result

    def convert(self, kind: str, source: Path, target: Path) -> None:
        if self.result is None:
            raise ConversionFailed(f"could not convert {source}")
        target.write_bytes(self.result)


def test_an_exported_program_is_converted_and_the_onnx_validated(tmp_path: Path) -> None:
    program = zipped(tmp_path, "m.pt2", {"m/serialized_exported_program.json": b"{}"})
    converter = FakeConverter(tiny_model().SerializeToString())
    verdict = ArtifactValidator(converter).validate(program)
    assert verdict.accepted and verdict.kind == "torch_export"
    assert verdict.converted is not None and verdict.converted.read_bytes() == converter.result
    assert verdict.signature is not None and verdict.signature["converted_from"] == "torch_export"


def test_a_failed_conversion_is_a_reason_without_server_paths(tmp_path: Path) -> None:
    program = zipped(tmp_path, "m.pt2", {"m/archive_format": b"pt2"})
    verdict = ArtifactValidator(FakeConverter(None)).validate(program)
    assert not verdict.accepted and str(tmp_path) not in verdict.reasons[0]


def test_torchscript_is_not_converted_even_with_torch(tmp_path: Path) -> None:
    verdict = ArtifactValidator(FakeConverter(b"")).validate(zipped(tmp_path, "m", TORCHSCRIPT))
    assert "no example inputs" in verdict.reasons[0]


def test_random_bytes_and_other_formats_are_rejected_with_a_reason(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(4096)
    cases = {
        "unknown": b"\x01" + noise,
        "empty": b"",
        "hdf5": b"\x89HDF\r\n\x1a\n" + noise,
        "safetensors": (12).to_bytes(8, "little") + b'{"w": {}}   ',
        "zip": None,
    }
    for kind, content in cases.items():
        path = (
            zipped(tmp_path, "x.zip", {"README": b"hi"})
            if content is None
            else saved(tmp_path, f"{kind}.onnx", content)
        )
        verdict = ArtifactValidator().validate(path)
        assert (verdict.kind, verdict.accepted) == (kind, False)
        assert verdict.reasons and verdict.reasons[0]


def test_the_format_is_read_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    assert sniff(saved(tmp_path, "weights.pkl", tiny_model())) == "onnx"
    assert sniff(saved(tmp_path, "model.onnx", pickle.dumps([1]))) == "pickle"


# Blob store and staging


def test_the_same_bytes_are_stored_once_under_their_digest(tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    digest = "sha256:" + "ab" * 32
    first, second = tmp_path / "one", tmp_path / "two"
    first.write_bytes(b"model")
    second.write_bytes(b"model")
    assert blobs.put_file(first, digest) is True
    assert blobs.put_file(second, digest) is False
    assert not first.exists() and not second.exists()
    assert blobs.count() == 1 and blobs.size(digest) == 5
    assert blobs.path_of(digest) == tmp_path / "blobs" / "sha256" / "ab" / "ab" / ("ab" * 32)
    with blobs.open(digest) as stored:
        assert stored.read() == b"model"
    blobs.delete(digest)
    assert not blobs.exists(digest)


def writer_of(staging: FilesystemStaging, upload_id: UUID, part: int, size: int = 4) -> Any:
    return staging.part_writer(upload_id, part, (part - 1) * size)


def send(staging: FilesystemStaging, upload_id: UUID, part: int, data: bytes) -> None:
    """Part `part` of 4-byte parts, sent whole."""
    writer = writer_of(staging, upload_id, part)
    try:
        writer.write([data[:1], data[1:]])
        writer.commit()
    finally:
        writer.close()


def test_parts_land_at_their_offsets_in_one_file_in_any_order(tmp_path: Path) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 10)
    for part, data in ((3, b"89"), (1, b"0123"), (2, b"xxxx"), (2, b"4567")):
        send(staging, upload_id, part, data)
    assert staging.received(upload_id) == [1, 2, 3]
    assert (tmp_path / str(upload_id) / "upload.bin").read_bytes() == b"0123456789"
    assert staging.file_count() == 7  # the file, three marks and three locks: no part files
    assert staging.upload_ids() == [upload_id]
    staging.discard(upload_id)
    assert staging.file_count() == 0 and staging.received(upload_id) == []


def test_a_part_sent_again_is_missing_from_its_first_write_until_it_is_whole(
    tmp_path: Path,
) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 8)
    send(staging, upload_id, 1, b"aaaa")
    again = writer_of(staging, upload_id, 1)
    assert staging.received(upload_id) == [1]  # opening it changes nothing yet
    again.write([b"bb"])
    assert staging.received(upload_id) == []
    again.close()  # broke off: half old, half new, and not marked
    assert staging.received(upload_id) == []
    send(staging, upload_id, 1, b"cccc")
    assert staging.received(upload_id) == [1]


def test_short_writes_and_many_small_chunks_still_land_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.pwritev

    def at_most_five_bytes(fd: int, buffers: list[Any], offset: int) -> int:
        assert len(buffers) <= 1024  # IOV_MAX
        return real(fd, [bytes(b"".join(buffers)[:5])], offset)

    monkeypatch.setattr(os, "pwritev", at_most_five_bytes)
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    content = random.Random(9).randbytes(3000)
    staging.create(upload_id, len(content))
    writer = staging.part_writer(upload_id, 1, 0)
    writer.write([content[i : i + 1] for i in range(2000)])  # 2000 one-byte chunks
    writer.write([content[2000:2003], b"", content[2003:]])
    writer.commit()
    writer.close()
    assert (tmp_path / str(upload_id) / "upload.bin").read_bytes() == content


def test_a_sealed_file_takes_no_more_writes_not_even_from_a_writer_opened_before(
    tmp_path: Path,
) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 8)
    send(staging, upload_id, 1, b"aaaa")
    early = writer_of(staging, upload_id, 2)
    sealed = staging.seal(upload_id)
    assert sealed.path.read_bytes() == b"aaaa\0\0\0\0"
    with pytest.raises(UploadCompleting):
        early.write([b"bbbb"])
    with pytest.raises(UploadCompleting):
        writer_of(staging, upload_id, 2)
    with pytest.raises(UploadCompleting):  # one completion at a time
        staging.seal(upload_id)
    assert sealed.reopen()  # e.g. a part was missing: the upload goes on
    sealed.close()
    early.write([b"bbbb"])
    early.commit()
    early.close()
    assert staging.received(upload_id) == [1, 2]

    sealed = staging.seal(upload_id)
    stored = tmp_path / "stored"
    os.link(sealed.path, stored)  # as the blob store takes it
    assert not sealed.reopen()  # the blob store names it: parts must never write to it
    sealed.path.unlink()
    sealed.close()
    with pytest.raises(UploadClosed):
        writer_of(staging, upload_id, 2)
    assert stored.read_bytes() == b"aaaabbbb"


def test_a_writer_opened_before_the_file_was_stored_cannot_write_into_the_blob(
    tmp_path: Path,
) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 4)
    early = writer_of(staging, upload_id, 1)
    sealed = staging.seal(upload_id)
    os.rename(sealed.path, tmp_path / "blob")
    sealed.close()  # the lock is gone, but the file is no longer the upload's
    with pytest.raises(UploadClosed):
        early.write([b"evil"])
    with pytest.raises(UploadClosed):
        early.commit()
    early.close()
    assert (tmp_path / "blob").read_bytes() == b"\0" * 4


def test_sealing_waits_for_a_write_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 4)
    writing, go_on = threading.Event(), threading.Event()
    real = os.pwritev

    def slow(fd: int, buffers: list[Any], offset: int) -> int:
        writing.set()
        go_on.wait(5)
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "pwritev", slow)
    writer = writer_of(staging, upload_id, 1)
    thread = threading.Thread(target=writer.write, args=([b"abcd"],))
    thread.start()
    assert writing.wait(5)
    sealing = threading.Thread(target=lambda: sealed.append(staging.seal(upload_id)))
    sealed: list[Any] = []
    sealing.start()
    time.sleep(0.05)
    assert not sealed  # waits for the write under way
    go_on.set()
    thread.join(5)
    sealing.join(5)
    assert sealed and sealed[0].path.read_bytes() == b"abcd"
    sealed[0].close()
    writer.close()


def test_a_file_sealed_by_a_completion_that_died_is_taken_over(tmp_path: Path) -> None:
    staging, upload_id = FilesystemStaging(tmp_path), uuid4()
    staging.create(upload_id, 4)
    send(staging, upload_id, 1, b"abcd")
    staging.seal(upload_id).close()  # sealed, then the process went away
    with pytest.raises(UploadCompleting):  # a part still finds it being completed
        writer_of(staging, upload_id, 1)
    sealed = staging.seal(upload_id)
    assert sealed.path.read_bytes() == b"abcd"
    assert sealed.reopen()
    sealed.close()
    send(staging, upload_id, 1, b"efgh")


def test_a_stored_file_is_restored_as_a_copy(tmp_path: Path) -> None:
    staging, upload_id = FilesystemStaging(tmp_path / "staging"), uuid4()
    staging.create(upload_id, 4)
    send(staging, upload_id, 1, b"abcd")
    sealed = staging.seal(upload_id)
    os.rename(sealed.path, tmp_path / "blob")
    assert not sealed.reopen()
    sealed.close()
    with (tmp_path / "blob").open("rb") as stored:
        staging.restore(upload_id, stored)
    assert staging.received(upload_id) == [1]
    send(staging, upload_id, 1, b"wxyz")
    assert (tmp_path / "blob").read_bytes() == b"abcd"
    staging.discard(upload_id)
    with (tmp_path / "blob").open("rb") as stored:
        staging.restore(upload_id, stored)  # discarded meanwhile: nothing comes back
    assert staging.file_count() == 0


# A part's bytes on their way to disk


class ListWriter:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.committed = self.closed = False

    def write(self, chunks: list[bytes]) -> None:
        self.chunks += chunks

    def commit(self) -> None:
        self.committed = True

    def close(self) -> None:
        self.closed = True


def test_a_part_is_hashed_only_to_check_a_digest_the_client_sent() -> None:
    data = b"x" * 1000
    plain = PartSlot(ListWriter(), 1, 1000, None)
    plain.write_all([data])
    assert plain.hash is None and plain.finish() == PartReceived(1, 1000, None)
    checked = PartSlot(ListWriter(), 2, 1000, hashlib.sha256(data).hexdigest())
    checked.write_all([data[:10], data[10:]])
    assert checked.finish().sha256 == hashlib.sha256(data).hexdigest()
    writer = ListWriter()
    wrong = PartSlot(writer, 3, 1000, hashlib.sha256(b"y").hexdigest())
    wrong.write_all([data])
    with pytest.raises(PartChecksumMismatch):
        wrong.finish()
    assert writer.closed and not writer.committed


def test_a_part_refuses_one_byte_too_many_before_writing_it() -> None:
    writer = ListWriter()
    slot = PartSlot(writer, 1, 10, None)
    slot.write_all([b"12345"])
    with pytest.raises(SizeMismatch):
        slot.write_all([b"1234", b"56"])
    assert writer.chunks == [b"12345"]  # nothing lands in the next part's place
    with pytest.raises(SizeMismatch):
        slot.commit()


def test_the_part_digest_headers_are_read_as_rfc_9530_or_hex() -> None:
    data = hashlib.sha256(b"part")
    b64 = base64.b64encode(data.digest()).decode()
    assert requested_sha256(None, None) is None
    assert requested_sha256(f"sha-256=:{b64}:", None) == data.hexdigest()
    assert requested_sha256(f"sha-512=:AAAA:, SHA-256=:{b64}:;x=1", None) == data.hexdigest()
    assert requested_sha256(None, data.hexdigest().upper()) == data.hexdigest()
    for bad in ("sha-256=" + b64, "sha-256=:AAAA:", "sha-256=:!!:", "sha-512=:AAAA:", "", ":"):
        with pytest.raises(InvalidInput) as refused:
            requested_sha256(bad, None)
        assert refused.value.code == "invalid_part_digest"
    with pytest.raises(InvalidInput):
        requested_sha256(f"sha-256=:{b64}:", "0" * 64)


async def body_of(chunks: list[bytes], then: BaseException | None = None) -> Any:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)
    if then is not None:
        raise then


def test_a_part_is_written_by_a_worker_thread_in_batches_in_order_then_finished() -> None:
    chunks = [bytes([n]) * 300_000 for n in range(10)]  # 3 MB as a server hands it over
    batches: list[tuple[bool, bytes]] = []
    threads: list[threading.Thread] = []

    def write(batch: list[bytes]) -> None:
        batches.append((threading.current_thread() is threading.main_thread(), b"".join(batch)))
        threads.append(threading.current_thread())

    def finish() -> str:
        assert threading.current_thread() is threads[-1]  # the last batch's hop
        return "done"

    assert asyncio.run(_pipe(body_of(chunks), write, finish)) == "done"
    assert b"".join(data for _, data in batches) == b"".join(chunks)
    assert [len(data) for _, data in batches] == [1_200_000, 1_200_000, 600_000]
    assert not any(on_main for on_main, _ in batches)
    assert asyncio.run(_pipe(body_of([]), write, lambda: "empty")) == "empty"
    assert len(batches) == 3  # no batch to write: finish alone


def test_a_body_that_breaks_off_lets_the_batch_on_its_way_land_first() -> None:
    landed: list[int] = []

    def slow_write(batch: list[bytes]) -> None:
        time.sleep(0.05)
        landed.append(len(batch))

    broken = body_of([b"x" * CHUNK] * 2, then=ConnectionResetError("the client went away"))
    with pytest.raises(ConnectionResetError):
        asyncio.run(_pipe(broken, slow_write, lambda: None))
    assert landed == [1, 1]  # nothing still writes to a part that is about to be closed

    def refuse_second(batch: list[bytes]) -> None:
        landed.append(len(batch))
        if len(landed) > 3:
            raise SizeMismatch("more arrived")

    with pytest.raises(SizeMismatch):
        asyncio.run(_pipe(body_of([b"x" * CHUNK] * 4), refuse_second, lambda: None))
    assert len(landed) == 4


# The Upload aggregate


def start(size: int = 10, part_size: int = 4) -> Upload:
    return Upload.start(uuid4(), uuid4(), "1.0.0", size, "0" * 64, part_size, NOW)


def test_parts_are_part_size_except_the_last() -> None:
    upload = start(size=10, part_size=4)
    assert upload.parts == 3
    assert [upload.part_length(n) for n in (1, 2, 3)] == [4, 4, 2]
    for beyond in (0, 4):
        with pytest.raises(PartOutOfRange):
            upload.part_length(beyond)


def test_an_upload_is_someone_elses_business_only_for_admins() -> None:
    upload = start()
    upload.check_owner(upload.owner_id)
    upload.check_owner(uuid4(), is_admin=True)
    with pytest.raises(UploadNotFound):
        upload.check_owner(uuid4())


def test_an_upload_needs_sane_sizes_a_hex_digest_and_not_too_many_parts() -> None:
    with pytest.raises(TooManyParts):
        start(size=MAX_PARTS + 1, part_size=1)
    for size, part_size in ((0, 1), (1, 0)):
        with pytest.raises(InvalidInput):
            start(size, part_size)
    with pytest.raises(InvalidInput, match="sha256"):
        Upload.start(uuid4(), uuid4(), "1.0.0", 1, "XYZ", 1, NOW)


# The request body limit, per route


def test_a_named_route_takes_larger_bodies_and_every_other_keeps_the_small_limit() -> None:
    app = FastAPI()

    @app.put("/big/{n}")
    @app.post("/small")
    async def echo(request: Request) -> int:
        return len(await request.body())

    limit = BodyLimit("PUT", re.compile(r"/big/[0-9]+"), 1000)
    wrapped = RequestContextMiddleware(app, max_body_bytes=100, body_limits=[limit])
    client = TestClient(wrapped)
    assert client.put("/big/1", content=b"x" * 1000).json() == 1000
    assert client.put("/big/1", content=b"x" * 1001).status_code == 413
    small = client.post("/small", content=b"x" * 101)
    assert small.status_code == 413 and small.json()["error"]["code"] == "payload_too_large"
    assert "100 bytes" in small.json()["error"]["message"]


def test_upload_settings_that_cannot_work_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MIN_PART_BYTES"):
        Settings(data_dir=tmp_path, upload_min_part_bytes=2048, upload_part_bytes=1024)
    with pytest.raises(ValidationError, match="MAX_UPLOAD_BYTES"):
        Settings(data_dir=tmp_path, upload_part_bytes=1024, max_upload_bytes=1024 * MAX_PARTS + 1)
    settings = Settings(data_dir=tmp_path)
    assert settings.blob_root() == tmp_path / "blobs"
    assert settings.staging_root() == tmp_path / "uploads"
