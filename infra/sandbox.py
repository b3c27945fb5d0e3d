"""Validation and conversion of untrusted artifacts in a child process with limits.

onnxruntime and torch load whatever a file describes: a few hundred bytes may ask for
gigabytes, or for minutes of CPU. So the API process never loads an upload itself. It
starts `python -m infra.validation_child` for each one, which caps its own address space
(RLIMIT_AS), CPU time (RLIMIT_CPU) and file sizes before importing anything, and is
killed, with its process group, when the wall-clock limit passes. Whatever ends it
early, the verdict is a rejection with a reason: the upload completes, never hangs.

A child per validation costs an interpreter start and the onnx/onnxruntime imports
(about half a second); uploads are rare enough that isolation is worth it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from commands.artifacts import SizeLimits, Verdict
from domain.errors import Unavailable
from infra.validation_child import MEMORY_EXIT

log = logging.getLogger(__name__)
MAX_RESULT_BYTES = 4 * 1024 * 1024  # a verdict is small; a larger one is not trusted
_ROOT = Path(__file__).resolve().parents[1]  # holds the infra, commands, domain packages
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME")  # no secrets for the child


class ValidationBusy(Unavailable):
    code = "validation_busy"


@dataclass(frozen=True)
class SandboxLimits:
    memory_bytes: int  # address space of the child, plus memory_per_byte per artifact byte
    memory_per_byte: int
    cpu_s: int
    timeout_s: float
    sizes: SizeLimits
    concurrent: int = 2  # children at once: each may use up to its memory limit
    queue_wait_s: float = 30.0  # for a free slot, before the completion answers 503

    def memory_for(self, size: int) -> int:
        return self.memory_bytes + self.memory_per_byte * size


class SandboxedValidator:
    """The upload service's Validator: every artifact is judged in a child process."""

    def __init__(self, limits: SandboxLimits, python: str = sys.executable) -> None:
        self.limits, self.python = limits, python
        self._slots = threading.BoundedSemaphore(limits.concurrent)

    def validate(self, path: Path) -> Verdict:
        """The verdict; ValidationBusy (503) when every slot stayed taken: the upload keeps
        its file and may be completed again."""
        if not self._slots.acquire(timeout=self.limits.queue_wait_s):
            raise ValidationBusy(
                f"{self.limits.concurrent} uploads are being validated; complete this one "
                "again in a minute"
            )
        try:
            return self._judge(path)
        finally:
            self._slots.release()

    def _judge(self, path: Path) -> Verdict:
        result = path.with_name(path.name + ".verdict.json")
        converted = path.with_name(path.name + ".converted.onnx")
        errors = path.with_name(path.name + ".validator.log")
        memory = self.limits.memory_for(path.stat().st_size)
        try:
            returncode = self._run(path, result, errors, memory)
            verdict = self._verdict(returncode, result, converted, errors, memory)
        finally:
            result.unlink(missing_ok=True)
            errors.unlink(missing_ok=True)
        if verdict.converted is None:
            converted.unlink(missing_ok=True)  # half written by a child that was stopped
        return verdict

    def _run(self, path: Path, result: Path, errors: Path, memory: int) -> int | None:
        """The child's exit status (negative: the signal that ended it); None on timeout."""
        config = {**asdict(self.limits.sizes), "memory_bytes": memory, "cpu_s": self.limits.cpu_s}
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV}
        env |= {"PYTHONPATH": str(_ROOT), "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        command = [self.python, "-m", "infra.validation_child", str(path), str(result)]
        with errors.open("wb") as stderr:
            child = subprocess.Popen(
                [*command, json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                env=env,
                cwd=path.parent,
                start_new_session=True,  # its own process group, killed as one
            )
            try:
                return child.wait(timeout=self.limits.timeout_s)
            except subprocess.TimeoutExpired:
                return None
            finally:
                _kill_group(child)

    def _verdict(
        self, returncode: int | None, result: Path, converted: Path, errors: Path, memory: int
    ) -> Verdict:
        if returncode == 0:
            answer = _read_result(result)
            if answer is not None:
                return _verdict_from(answer, converted)
        reason = self._stopped_reason(returncode, memory)
        log.warning("artifact validator stopped: %s; its last words: %s", reason, _tail(errors))
        return Verdict("unknown", reasons=(reason,))

    def _stopped_reason(self, returncode: int | None, memory: int) -> str:
        if returncode is None:
            return f"validation took longer than {self.limits.timeout_s:g} s and was stopped"
        if returncode == -signal.SIGXCPU:
            return f"validation used more than {self.limits.cpu_s} s of CPU time and was stopped"
        if returncode == -signal.SIGKILL:  # the hard CPU limit, or the kernel out of memory
            return "validation was killed for using too much CPU time or memory"
        if returncode == MEMORY_EXIT:
            return f"validation needed more than {memory // 2**20} MiB of memory and was stopped"
        how = f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        return f"the validator stopped unexpectedly ({how}); the model cannot be accepted"


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """Whatever the child started goes with it (torch may start workers)."""
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _read_result(result: Path) -> dict[str, Any] | None:
    try:
        if result.stat().st_size > MAX_RESULT_BYTES:
            return None
        answer = json.loads(result.read_bytes())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def _verdict_from(answer: dict[str, Any], converted: Path) -> Verdict:
    if "unavailable" in answer:
        raise Unavailable(str(answer["unavailable"]), code="validation_unavailable")
    wrote = answer.get("converted")
    return Verdict(
        kind=str(answer.get("kind", "unknown")),
        framework=answer.get("framework"),
        signature=answer.get("signature"),
        reasons=tuple(str(r) for r in answer.get("reasons", ())),
        # Only the one path the child may write: never a file it names.
        converted=converted if wrote and converted.is_file() else None,
    )


def _tail(errors: Path, most: int = 2000) -> str:
    try:
        with errors.open("rb") as f:
            f.seek(max(0, errors.stat().st_size - most))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
