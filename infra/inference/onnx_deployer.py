"""The embedded profile's deployer: loads a version's ONNX file into an onnxruntime
session kept in process, ready for the embedded engine. (Minimal: a dict under a lock;
the embedded engine's memory-bounded LRU replaces `SessionCache`.)"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from commands.inference_ports import Deployment, DeploymentFailed
from infra.blobs import FilesystemBlobStore
from infra.inference.triton_repository import UnservableSignature
from infra.inference.triton_tensors import zeros_for


class SessionCache:
    """onnxruntime sessions by engine name, shared by the deployer and the engine."""

    def __init__(self) -> None:
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any | None:
        with self._lock:
            return self._sessions.get(name)

    def put(self, name: str, session: Any) -> None:
        with self._lock:
            self._sessions[name] = session

    def discard(self, name: str) -> None:
        with self._lock:
            self._sessions.pop(name, None)


class OnnxRuntimeDeployer:
    def __init__(self, blobs: FilesystemBlobStore, sessions: SessionCache) -> None:
        self.blobs, self.sessions = blobs, sessions

    def deploy(self, target: Deployment) -> None:
        if self.sessions.get(target.engine_name) is not None:
            return
        ort = importlib.import_module("onnxruntime")
        path = str(self.blobs.path_of(target.digest))
        try:
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            feeds = {s["name"]: zeros_for(s) for s in target.signature.get("inputs", [])}
            session.run(None, feeds)  # the warm-up: the first user call is not the slow one
        except (UnservableSignature, ValueError, RuntimeError) as error:
            raise DeploymentFailed(self._told(error)) from None
        except Exception as error:  # onnxruntime's own exception classes (Fail, InvalidGraph)
            if type(error).__module__.startswith("onnxruntime"):
                raise DeploymentFailed(self._told(error)) from None
            raise
        self.sessions.put(target.engine_name, session)

    def _told(self, error: Exception) -> str:
        """onnxruntime's words, less where the blob store lies on our disks."""
        return str(error).replace(f"{self.blobs.root}/", "")

    def undeploy(self, target: Deployment) -> None:
        self.sessions.discard(target.engine_name)
