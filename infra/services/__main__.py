"""`python -m infra.services up|down|status|logs|env` (what the Makefile calls)."""

from __future__ import annotations

from infra.services.cli import services_app

if __name__ == "__main__":
    services_app(prog_name="python -m infra.services")
