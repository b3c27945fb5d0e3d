"""The floor under `POST /v1/models/{id}/infer`: a bare FastAPI route on bare uvicorn that
does only what any HTTP call of a model must (the JSON body to a tensor, the engine, the
outputs back to JSON) and, on the cluster profile, the one rate-limit round trip to Redis
the gateway requires. No authentication, entitlement, metering, logging, metrics or
tracing. bench/inference.py and bench/inference_triton.py serve it in a process of its
own beside our API and measure it in the same run: where the floor is already past a goal,
that goal is below what a Python HTTP route can do here, whatever our stack does.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request, Response

Run = Callable[[int, np.ndarray], Awaitable[dict[str, np.ndarray]]]


def tensor_of(value: Any) -> np.ndarray:
    """An input as the API takes it: a nested list, or `{b64, dtype, shape}`."""
    if isinstance(value, dict):
        raw = base64.b64decode(value["b64"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"])
    return np.asarray(value, dtype=np.float32)


def bound_app(run: Run) -> Any:
    app = FastAPI()

    @app.post("/bound/{case}")
    async def bound(case: int, request: Request) -> Response:
        x = tensor_of(orjson.loads(await request.body())["inputs"]["x"])
        outputs = await run(case, x)
        answer = {"outputs": {name: y.tolist() for name, y in outputs.items()}}
        return Response(orjson.dumps(answer), media_type="application/json")

    return app


def onnx_runner(models: list[bytes]) -> Run:
    """onnxruntime on the event loop, sessions made as our engine makes them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = [ort.InferenceSession(m, options, providers=["CPUExecutionProvider"])
                for m in models]  # fmt: skip

    async def run(case: int, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"y": sessions[case].run(["y"], {"x": x})[0]}

    return run


def triton_runner(grpc_url: str, names: list[str], redis_url: str) -> Run:
    """tritonclient's asyncio gRPC client, after the gateway's Redis check (the same
    adapter, script and two buckets, on the event loop, as the middleware makes it)."""
    import tritonclient.grpc.aio as grpcaio
    from tritonclient.grpc import InferInput

    from bench.cluster import wide_redis_check

    buckets, limits = wide_redis_check(redis_url, "inference")
    clients: list[Any] = []  # made on the server's loop, at the first call

    async def run(case: int, x: np.ndarray) -> dict[str, np.ndarray]:
        if not clients:
            clients.append(grpcaio.InferenceServerClient(grpc_url))
        client = clients[0]
        buckets.take_all(limits)
        tensor = InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        answer = await client.infer(names[case], [tensor], client_timeout=30)
        return {"y": answer.as_numpy("y")}

    return run


def serve_bound(make_run: Callable[[], Run], ready: Any) -> None:
    """In a process of its own: the bound app on a free port (put on `ready`) until
    terminated."""
    import uvicorn

    from bench.inference import listening_socket
    from infra.http.lean_body import LeanBodyProtocol

    app = bound_app(make_run())
    sock = listening_socket()
    ready.put(sock.getsockname()[1])
    config = uvicorn.Config(app, http=LeanBodyProtocol, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def start_bound(make_run: Callable[[], Run]) -> tuple[Any, int]:
    """The bound's process, started, and its port."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready: Any = context.Queue()
    process = context.Process(target=serve_bound, args=(make_run, ready), daemon=True)
    process.start()
    return process, int(ready.get(timeout=120))
