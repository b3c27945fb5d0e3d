"""Each process installs its tracer provider once, from the settings (in a child process
here: the provider of this test process is the tests' in-memory one)."""

from __future__ import annotations

import subprocess
import sys

SETUP = """
from opentelemetry import trace
from infra.settings import Settings
from infra.tracing import configure_tracing
settings = Settings(tracing_sample_ratio=0.25)
first = configure_tracing(settings, "relay")
assert first is not None and trace.get_tracer_provider() is first
assert configure_tracing(settings, "api") is first  # once per process
print(first.sampler.get_description())
print(first.resource.attributes["service.name"])
print(configure_tracing(Settings(tracing_enabled=False)))
"""


def test_a_process_gets_one_parent_based_provider_at_the_settings_ratio_or_none() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SETUP], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    sampler, service, disabled = done.stdout.splitlines()
    assert sampler.startswith("ParentBased{root:TraceIdRatioBased{0.25}")
    assert service == "aimarket-relay"
    assert disabled == "None"
