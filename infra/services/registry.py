"""Which services exist, in start order, and where each one's class lives.

Imported lazily so that `aimarket services status postgres` does not import
every service's module.
"""

from __future__ import annotations

import importlib

from infra.services.base import Service, ServiceContext

# name -> "module:Class"; order is start order (FerretDB may sit on PostgreSQL).
SERVICE_CLASSES: dict[str, str] = {
    "postgres": "infra.services.postgres:Postgres",
    "redis": "infra.services.redis:Redis",
    "kafka": "infra.services.kafka:Kafka",
    "ferretdb": "infra.services.ferretdb:FerretDB",
    "opensearch": "infra.services.opensearch:OpenSearch",
    "triton": "infra.services.triton:Triton",
    "stripe-mock": "infra.services.stripe_mock:StripeMock",
    "chromium": "infra.services.chromium:Chromium",  # installed only: the browser tests' own
}


def load_service(name: str, ctx: ServiceContext) -> Service:
    try:
        target = SERVICE_CLASSES[name]
    except KeyError:
        known = ", ".join(SERVICE_CLASSES)
        raise KeyError(f"unknown service {name!r}; known services: {known}") from None
    module_name, class_name = target.split(":")
    cls: type[Service] = getattr(importlib.import_module(module_name), class_name)
    return cls(ctx)
