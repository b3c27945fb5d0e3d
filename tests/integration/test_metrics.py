"""/metrics through the app: requests by route template (never the raw path), the
pipeline's gauges, and every metric the shipped dashboards and alert rules query exported
after a few real requests (an inference call that is billed and priced among them)."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from infra.bootstrap import Container
from tests.inference_support import (
    affine_model,
    api_key,
    create_model,
    infer,
    upload_and_publish,
    wait_deployed,
)
from tests.support import register, verified_account

DEPLOY = Path(__file__).parents[2] / "deploy"
# The relay runs in the cluster only (checked there, by the pipeline gauges' test).
RELAY = {"aimarket_relay_position", "aimarket_relay_seconds_behind"}


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def queried_metrics() -> set[str]:
    """Every aimarket_ metric named in a dashboard panel or an alert rule's expression."""
    exprs = [
        target["expr"]
        for dashboard in (DEPLOY / "grafana").glob("*.json")
        for panel in json.loads(dashboard.read_text())["panels"]
        for target in panel.get("targets", [])
    ]
    for rules in (DEPLOY / "prometheus").glob("*.yml"):
        exprs += [
            r["expr"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]
        ]
    return {name for expr in exprs for name in re.findall(r"\baimarket_[A-Za-z0-9_:]+", expr)}


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient) -> None:
    missing = str(uuid.uuid4())
    for _ in range(2):
        assert client.get(f"/v1/models/{missing}").status_code == 404
    assert client.get(f"/no/such/{missing}").status_code == 404
    text = client.get("/metrics").text
    assert missing not in text  # bounded: the raw path is never a label
    found = samples(text)
    by_route = {
        (labels["route"], labels["method"], labels["status"]): value
        for labels, value in found["aimarket_http_requests_total"]
    }
    assert by_route[("/v1/models/{model_id}", "GET", "404")] >= 2
    assert by_route[("<unmatched>", "GET", "404")] >= 1
    buckets = [
        value for labels, value in found["aimarket_http_request_duration_seconds_bucket"]
        if (labels["route"], labels["method"], labels["status"], labels["le"])
        == ("/v1/models/{model_id}", "GET", "404", "+Inf")
    ]  # fmt: skip
    assert buckets == [by_route[("/v1/models/{model_id}", "GET", "404")]]


def test_the_pipeline_gauges_are_served_beside_the_application_metrics(
    client: TestClient, profile: str
) -> None:
    register(client)
    deadline = time.monotonic() + 20
    while True:
        found = samples(client.get("/metrics").text)
        lag = {
            labels["projection"]: v for labels, v in found["aimarket_projection_positions_behind"]
        }
        if lag["users"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert lag["users"] == 0
    assert found["aimarket_event_store_position"][0][1] >= client.position > 0  # type: ignore[attr-defined]
    assert "aimarket_http_requests_total" in found
    assert (set(found) >= RELAY) == (profile == "cluster")


class Paid:
    def has_paid_access(self, consumer_id: uuid.UUID, model_id: uuid.UUID) -> bool:
        return True


def eur_revenue(found: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    series = found.get("aimarket_revenue_minor_units_total", [])
    return sum(value for labels, value in series if labels["currency"] == "EUR")


@pytest.mark.parametrize("profile", ["embedded"])  # the pricer and saga run in process
def test_every_metric_a_dashboard_or_rule_queries_is_exported(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher, consumer = (verified_account(client, outbox, r) for r in ("publisher", "consumer"))
    pricing = {"currency": "EUR", "price_per_request": 5}
    model_id = create_model(client, publisher, pricing=pricing)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    container.inference.paid_access = Paid()
    before = eur_revenue(samples(client.get("/metrics").text))  # the counter is per process
    x = np.ones((1, 4), dtype=np.float32).tolist()
    answered = infer(client, api_key(client, consumer), model_id, {"x": x})
    assert answered.status_code == 200 and answered.json()["cost"]["amount"] == 5
    wanted = queried_metrics() - RELAY
    deadline = time.monotonic() + 20
    while True:  # the pricer prices the call soon after, on its own thread
        found = samples(client.get("/metrics").text)
        if eur_revenue(found) > before or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert wanted - set(found) == set()
    assert len(wanted) >= 12
    assert eur_revenue(found) - before == 5.0
    calls = dict((labels["status"], v) for labels, v in found["aimarket_inference_calls_total"]
                 if labels["model"] == model_id)  # fmt: skip
    assert calls == {"succeeded": 1.0}
