"""NVIDIA Triton Inference Server, from the `tritonserver` binary inside the nvidia-pytriton wheel.

The wheel pins numpy < 2, so it lives in its own venv under the service dir,
away from the app's venv. That venv also serves the Python backend: Triton
runs each model.py with the `python` found on PATH, so the venv carries numpy
and onnxruntime and its `bin/` goes first on the server's PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

from infra.services.base import Progress, Service, ServiceError
from infra.services.process import spawn, stop_pid_file, tail, wait_ports_free

PYTRITON_VERSION = "0.7.0"
# onnxruntime 1.20+ is built against numpy 2 but still imports with numpy 1.26;
# the bound keeps a future release from dropping numpy 1 under us.
VENV_REQUIREMENTS = (
    f"nvidia-pytriton=={PYTRITON_VERSION}",
    "numpy>=1.26,<2",
    "onnxruntime>=1.18,<1.23",
)
STOP_TIMEOUT_S = 15.0


class Triton(Service):
    name: ClassVar[str] = "triton"
    default_port: ClassVar[int] = 58000  # HTTP; gRPC and metrics take the next two
    ready_timeout_s: ClassVar[float] = 90.0

    @property
    def grpc_port(self) -> int:
        return self.port + 1

    @property
    def metrics_port(self) -> int:
        return self.port + 2

    @property
    def venv(self) -> Path:
        return self.dir / "venv"

    @property
    def model_repository(self) -> Path:
        return self.dir / "models"

    @property
    def _marker(self) -> Path:
        return self.dir / "installed.json"

    def _server_root(self) -> Path:
        """`<venv>/lib/pythonX.Y/site-packages/pytriton/tritonserver`, wherever pip put it."""
        found = sorted(self.venv.glob("lib/python*/site-packages/pytriton/tritonserver"))
        if not found:
            raise ServiceError(
                f"nvidia-pytriton is not installed in {self.venv}; "
                "run `python -m infra.services up triton` to install it"
            )
        return found[0]

    def _venv_python(self) -> dict[str, str]:
        """The venv interpreter's X.Y version and the directory of its shared libpython."""
        probe = (
            "import json, sys, sysconfig; print(json.dumps({"
            "'version': f'{sys.version_info[0]}.{sys.version_info[1]}', "
            "'libdir': sysconfig.get_config_var('LIBDIR') or ''}))"
        )
        out = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", probe],
            check=True,
            capture_output=True,
            text=True,
        )
        info: dict[str, str] = json.loads(out.stdout)
        return info

    def _stub(self) -> Path:
        return self._server_root() / "backends" / "python" / "triton_python_backend_stub"

    def is_installed(self) -> bool:
        if not self._marker.exists():
            return False
        try:
            return self._stub().exists() and (self._server_root() / "bin" / "tritonserver").exists()
        except ServiceError:
            return False

    def install(self, progress: Progress) -> None:
        if self.is_installed():
            progress("already installed")
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model_repository.mkdir(exist_ok=True)
        if not (self.venv / "bin" / "python").exists():
            progress(f"creating venv {self.venv}")
            self._run([sys.executable, "-m", "venv", str(self.venv)])
        progress(f"pip install {' '.join(VENV_REQUIREMENTS)} (about 300 MB, cached)")
        pip_env = {**os.environ, "PIP_CACHE_DIR": str(self.ctx.cache / "pip")}
        pip_env.pop("PIP_REQUIRE_VIRTUALENV", None)
        self._run(
            [
                str(self.venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                *VENV_REQUIREMENTS,
            ],
            env=pip_env,
        )
        python = self._venv_python()
        self._install_stub(python["version"], progress)
        self._marker.write_text(json.dumps({"pytriton": PYTRITON_VERSION, **python}) + "\n")
        self._check_stub_libraries(python["version"])
        progress("installed")

    def _install_stub(self, pyver: str, progress: Progress) -> None:
        """The Python backend needs the stub built for the interpreter that runs model.py."""
        root = self._server_root()
        source = root / "python_backend_stubs" / pyver / "triton_python_backend_stub"
        if not source.exists():
            have = sorted(p.name for p in (root / "python_backend_stubs").iterdir())
            raise ServiceError(
                f"nvidia-pytriton {PYTRITON_VERSION} ships no Python backend stub for Python "
                f"{pyver} (it has {', '.join(have)}); recreate {self.venv} with one of those"
            )
        progress(f"copying the Python {pyver} backend stub into backends/python/")
        shutil.copy2(source, self._stub())

    def _check_stub_libraries(self, pyver: str) -> None:
        """The stub embeds Python through libpythonX.Y.so: fail now, not at the first model load."""
        result = subprocess.run(
            ["ldd", str(self._stub())],
            capture_output=True,
            text=True,
            env=self._server_env(),
        )
        missing = [line.split()[0] for line in result.stdout.splitlines() if "not found" in line]
        if missing:
            self._marker.unlink(missing_ok=True)
            raise ServiceError(
                f"the Triton Python backend stub needs {', '.join(missing)}: use a Python built "
                f"with --enable-shared for {self.venv}, or `apt-get install libpython{pyver}`"
            )

    def _run(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        with self.log_file.open("a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            result = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        if result.returncode != 0:
            raise ServiceError(
                f"`{' '.join(cmd[:4])} ...` failed (exit {result.returncode}); see {self.log_file}:"
                f"\n{tail(self.log_file, 15)}"
            )

    def _server_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        # The stub links libpythonX.Y.so.1.0: put the venv interpreter's own copy
        # first, so the embedded Python is the same build as the stdlib it loads
        # (else a system libpython of another patch release may be picked up).
        libdir = (
            json.loads(self._marker.read_text()).get("libdir", "") if self.is_installed() else ""
        )
        paths = [p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(paths)
        return env

    def start(self) -> None:
        if self.is_ready():
            return
        root = self._server_root()
        self.model_repository.mkdir(parents=True, exist_ok=True)
        wait_ports_free(self.name, [self.port, self.grpc_port, self.metrics_port])
        cmd = [
            str(root / "bin" / "tritonserver"),
            f"--model-repository={self.model_repository}",
            "--model-control-mode=explicit",
            f"--backend-directory={root / 'backends'}",
            "--http-address=127.0.0.1",
            f"--http-port={self.port}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            # CPU-only machines: no pinned (CUDA host) memory pool, no GPU metrics.
            "--pinned-memory-pool-byte-size=0",
            "--allow-gpu-metrics=false",
        ]
        spawn(
            cmd,
            log_file=self.log_file,
            pid_file=self.ctx.pid_file(self.name),
            cwd=self.dir,
            env=self._server_env(),
        )

    def is_ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/v2/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        # The group signal also ends the Python backend stubs the server spawned.
        stop_pid_file(self.ctx.pid_file(self.name), timeout_s=STOP_TIMEOUT_S)

    def env(self) -> dict[str, str]:
        return {
            "AIMARKET_TRITON_URL": f"127.0.0.1:{self.port}",
            "AIMARKET_TRITON_GRPC_URL": f"127.0.0.1:{self.grpc_port}",
            "AIMARKET_TRITON_MODEL_REPOSITORY": str(self.model_repository.resolve()),
        }
