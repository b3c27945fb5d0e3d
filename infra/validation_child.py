"""The child that judges one artifact: `python -m infra.validation_child PATH RESULT CONFIG`.

Started by infra/sandbox.py. It limits itself before importing anything heavy, runs the
validator (and a converter where torch is installed), and writes the verdict as JSON to
RESULT. Its stdout and stderr go to a log the parent reads only when something failed.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

MEMORY_EXIT = 3  # infra.sandbox.MEMORY_EXIT; not imported, to stay light before limits
CPU_GRACE_S = 5  # between SIGXCPU (the soft limit) and SIGKILL (the hard one)


def limit_self(config: dict[str, Any]) -> None:
    memory, cpu = int(config["memory_bytes"]), int(config["cpu_s"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + CPU_GRACE_S))
    resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))  # a conversion's output
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def judge(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    from commands.artifacts import ArtifactValidator, SizeLimits, torch_converter
    from domain.errors import Unavailable

    sizes = SizeLimits(int(config["max_nodes"]), int(config["max_expanded_bytes"]))
    try:
        verdict = ArtifactValidator(torch_converter(), sizes).validate(path)
    except Unavailable as error:
        return {"unavailable": error.message}
    if any("bad_alloc" in reason for reason in verdict.reasons):
        raise MemoryError  # onnxruntime's words for reaching RLIMIT_AS
    return {**asdict(verdict), "converted": verdict.converted is not None}


def main(argv: list[str]) -> int:
    path, result, config = Path(argv[0]), Path(argv[1]), json.loads(argv[2])
    limit_self(config)
    try:
        answer = judge(path, config)
    except MemoryError:
        return MEMORY_EXIT
    result.write_text(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
