"""The embedded profile's engine: onnxruntime in process, an LRU of sessions bounded by
memory. It is also the embedded deployer: deploying loads and warms a session; a call to
a version not in memory (evicted, or after a restart) loads it first, and says so."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from anyio import to_thread

from commands.inference_ports import Deployment, DeploymentFailed, EngineResult, ModelUnavailable
from commands.tensors import Signature
from domain.errors import UpstreamFailed, UpstreamTimedOut

# onnxruntime holds about this many times the file's size once a session is built
# (weights plus the optimised graph's copies); a guess that errs on the large side.
MEMORY_PER_FILE_BYTE = 3
MAX_ERROR = 500
# A version whose runs take less than this (on average) runs on the event loop: handing
# it to a thread and back costs more than the run itself (docs/BENCHMARKS.md).
INLINE_RUN_MS = 0.3


@dataclass
class _Loaded:
    session: ort.InferenceSession
    nbytes: int
    outputs: list[str]
    typical_ms: float = 1.0  # a moving average of its runs; unknown at first: a thread


class SessionPool:
    """Sessions by engine name, least recently used first out when over `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._sessions: OrderedDict[str, _Loaded] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, name: str) -> _Loaded | None:
        with self._lock:
            loaded = self._sessions.get(name)
            if loaded is not None:
                self._sessions.move_to_end(name)
            return loaded

    def put(self, name: str, loaded: _Loaded) -> None:
        with self._lock:
            self._pop(name)
            self._sessions[name] = loaded
            self._bytes += loaded.nbytes
            while self._bytes > self._max_bytes and len(self._sessions) > 1:
                self._pop(next(iter(self._sessions)))

    def remove(self, name: str) -> None:
        with self._lock:
            self._pop(name)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def _pop(self, name: str) -> None:
        loaded = self._sessions.pop(name, None)
        if loaded is not None:
            self._bytes -= loaded.nbytes


class OnnxRuntimeEngine:
    def __init__(self, artifact_path: Any, max_bytes: int, threads: int = 1) -> None:
        self._path_of = artifact_path  # digest -> Path of the stored ONNX file
        self._pool = SessionPool(max_bytes)
        self._threads = threads
        self._loading = threading.Lock()

    @property
    def pool(self) -> SessionPool:
        return self._pool

    # The deployer's side

    def deploy(self, target: Deployment) -> None:
        try:
            loaded = self._load(target)
            _warm_up(loaded, target)
        except (ModelUnavailable, DeploymentFailed):
            raise
        except Exception as error:  # onnxruntime's own words are the publisher's reason
            raise DeploymentFailed(_short(error)) from None
        self._pool.put(target.engine_name, loaded)

    def undeploy(self, target: Deployment) -> None:
        self._pool.remove(target.engine_name)

    # The engine's side

    async def infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        loaded, cold = self._pool.get(target.engine_name), False
        if loaded is None:
            loaded, cold = await to_thread.run_sync(self._load_cold, target), True
        if loaded.typical_ms < INLINE_RUN_MS:
            values, compute_ms = _run(loaded, inputs, None)
        else:
            values, compute_ms = await _in_thread(loaded, inputs, timeout_s)
        loaded.typical_ms = 0.8 * loaded.typical_ms + 0.2 * compute_ms
        return EngineResult(dict(zip(loaded.outputs, values, strict=True)), 0.0, compute_ms, cold)

    def _load_cold(self, target: Deployment) -> _Loaded:
        with self._loading:  # one cold load at a time: a burst of calls loads it once
            loaded = self._pool.get(target.engine_name)
            if loaded is None:
                try:
                    loaded = self._load(target)
                except Exception as error:
                    raise ModelUnavailable(
                        f"the model could not be loaded: {_short(error)}"
                    ) from None
                self._pool.put(target.engine_name, loaded)
            return loaded

    def _load(self, target: Deployment) -> _Loaded:
        path: Path = self._path_of(target.digest)
        if not path.exists():
            raise DeploymentFailed(f"the artifact {target.digest} is not in the blob store")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        return _Loaded(session, path.stat().st_size * MEMORY_PER_FILE_BYTE, outputs)


async def _in_thread(
    loaded: _Loaded, inputs: dict[str, np.ndarray], timeout_s: float
) -> tuple[Any, float]:
    options = ort.RunOptions()
    try:
        return await asyncio.wait_for(to_thread.run_sync(_run, loaded, inputs, options), timeout_s)
    except TimeoutError:
        options.terminate = True  # onnxruntime stops the run at its next check
        raise UpstreamTimedOut(f"the model did not answer within {timeout_s:g} s") from None


def _run(
    loaded: _Loaded, inputs: dict[str, np.ndarray], options: ort.RunOptions | None
) -> tuple[Any, float]:
    """The session's outputs, and how long the run itself took (ms)."""
    started = time.perf_counter()
    try:
        values = loaded.session.run(loaded.outputs, inputs, options)
    except Exception as error:
        raise UpstreamFailed(f"the model failed on these inputs: {_short(error)}") from None
    return values, (time.perf_counter() - started) * 1000


def _warm_up(loaded: _Loaded, target: Deployment) -> None:
    """One run on zeros of the signature's shape (free dimensions as 1): the first user
    call then finds the session's kernels ready."""
    signature = Signature.from_stored(target.signature)
    zeros = {
        spec.name: np.zeros([d if d is not None else 1 for d in spec.shape], dtype=spec.dtype)
        for spec in signature.inputs
    }
    loaded.session.run(loaded.outputs, zeros)


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:MAX_ERROR]
