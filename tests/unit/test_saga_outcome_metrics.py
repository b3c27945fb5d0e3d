"""The purchase saga's outcomes as metrics: each purchase counted once, when its final
state is written (a redelivered event that finds it final counts nothing)."""

from __future__ import annotations

from uuid import UUID

from prometheus_client import REGISTRY

from domain.purchase import PurchaseState
from infra.bootstrap import Container
from tests.unit import test_purchase_saga as saga_tests
from tests.unit.test_purchase_saga import buyer, publisher_of, request, saga

# The saga tests' fixtures: an embedded container with its runners stopped, a priced model.
clock, container, model_id = saga_tests.clock, saga_tests.container, saga_tests.model_id


def outcomes() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value(
            "aimarket_purchase_saga_outcomes_total", {"outcome": outcome}
        )
        or 0.0
        for outcome in ("completed", "failed", "refunded")
    }


def test_each_final_state_is_counted_once_under_its_outcome(
    container: Container, model_id: UUID
) -> None:
    before = outcomes()
    completed = request(container, buyer(container), model_id)
    assert saga(container).advance(completed) == PurchaseState.COMPLETED
    assert saga(container).advance(completed) == PurchaseState.COMPLETED  # redelivered
    declined = buyer(container, "4000 0000 0000 0341")
    assert saga(container).advance(request(container, declined, model_id)) == "payment_failed"
    refunded = request(container, buyer(container), model_id)
    assert saga(container).step(refunded)  # charged, then the model goes away
    container.model_commands.delete(publisher_of(container, model_id), model_id)
    assert saga(container).advance(refunded) == PurchaseState.CANCELED
    after = outcomes()
    assert {k: after[k] - before[k] for k in after} == {
        "completed": 1.0, "failed": 1.0, "refunded": 1.0,
    }  # fmt: skip
