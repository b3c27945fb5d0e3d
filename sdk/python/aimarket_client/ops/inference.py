"""Calling a model, at once or as an async job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimarket_client.calls import Call, Op, Sleep, get, post
from aimarket_client.errors import JobNotFinished, ModelLoading
from aimarket_client.ops.models import call_infer, resolve
from aimarket_client.tensors import decode_outputs, encode_inputs, output_format
from aimarket_client.types import InferResponse, JobPublic


def infer(model: str, inputs: Mapping[str, Any], version: str | None,
          known: dict[str, str], wait_loading_s: float = 0.0) -> Op[InferResponse]:  # fmt: skip
    """One call; with `wait_loading_s`, a version still deploying is waited for that long."""
    model_id = yield from resolve(model, known)
    body = {"inputs": encode_inputs(inputs), "output_format": output_format()}
    waited = 0.0
    while True:
        try:
            answer = yield call_infer(model_id, body, version)
            break
        except ModelLoading as loading:
            pause = loading.retry_after or 1.0
            if waited + pause > wait_loading_s:
                raise
            waited += pause
            yield Sleep(pause)
    result = InferResponse.of(answer)
    result.outputs = decode_outputs(result.outputs)
    return result


def create_job(model: str, inputs: Mapping[str, Any], version: str | None, webhook: bool,
               known: dict[str, str]) -> Op[JobPublic]:  # fmt: skip
    model_id = yield from resolve(model, known)
    params = {"version": version} if version else None
    body = {"inputs": encode_inputs(inputs), "webhook": webhook}
    accepted = yield Call("POST", f"/v1/models/{model_id}/jobs", params=params, json=body)
    return (yield from get_job(str(accepted["id"])))


def get_job(job_id: str) -> Op[JobPublic]:
    return JobPublic.of((yield get(f"/v1/jobs/{job_id}")))


def list_jobs(limit: int = 20, cursor: str | None = None) -> Op[list[JobPublic]]:
    page = yield get("/v1/jobs", limit=limit, cursor=cursor)
    return [JobPublic.of(item) for item in page["items"]]


def cancel_job(job_id: str) -> Op[JobPublic]:
    return JobPublic.of((yield post(f"/v1/jobs/{job_id}/cancel")))


def wait_job(job_id: str, timeout_s: float, poll_s: float) -> Op[JobPublic]:
    """The job once it ended (succeeded, failed or canceled); its outputs decoded."""
    waited = 0.0
    while True:
        job = yield from get_job(job_id)
        if job.finished:
            if job.result and "outputs" in job.result:
                job.result["outputs"] = decode_outputs(job.result["outputs"])
            return job
        if waited >= timeout_s:
            raise JobNotFinished(f"job {job_id} is still {job.status} after {timeout_s} s")
        yield Sleep(poll_s)
        waited += poll_s
