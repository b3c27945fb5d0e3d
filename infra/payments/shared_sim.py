"""The simulated gateway with its state in a file, for the cluster profile without Stripe:
the API (saving cards), the saga worker (charging) and a test (counting captures,
injecting faults) are separate processes and must see one provider, as they would see
Stripe; and a saga worker killed and restarted must find the idempotency keys it used.

Every call takes an exclusive lock on the file, loads the state, runs the in-memory
SimulatedGateway and writes the state back. Test-mode only: the state is pickled, so
the file must be this deployment's own (it lives in the data directory).
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from commands.payment_ports import Payment
from domain.clock import Clock
from domain.errors import DomainError
from infra.payments.simulated import SimulatedGateway

_STATE = ("customers", "methods", "payments", "refunds", "subscriptions", "invoices",
          "accounts", "transfers", "events")  # fmt: skip
_CALLS = ("create_customer", "save_payment_method", "charge", "retrieve_payment", "settle",
          "refund", "create_subscription", "cancel_subscription", "change_subscription_plan",
          "advance", "push_invoice", "create_connected_account", "transfer",
          "set_default_payment_method")  # fmt: skip


class SharedSimulatedGateway:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path, self.inner = path, SimulatedGateway(clock)
        path.parent.mkdir(parents=True, exist_ok=True)

    def __getattr__(self, name: str) -> Any:
        if name not in _CALLS:
            raise AttributeError(name)
        method: Callable[..., Any] = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._state():
                return method(*args, **kwargs)

        return call

    def inject(self, operation: str, *faults: str) -> None:
        with self._state():
            self.inner.faults.inject(operation, *faults)

    def payments(self) -> dict[str, Payment]:
        with self._state(write=False):
            return dict(self.inner.payments)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The provider's events so far (for the webhook intake in tests)."""
        with self._state(write=False):
            return list(self.inner.events)

    @property
    def subscriptions(self) -> dict[str, Any]:
        with self._state(write=False):
            return dict(self.inner.subscriptions)

    @contextmanager
    def _state(self, write: bool = True) -> Iterator[None]:
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._load()
                yield
            finally:
                if write:
                    self._save()

    def _load(self) -> None:
        if not self.path.exists():
            return
        state = pickle.loads(self.path.read_bytes())  # our own file, test mode only
        for name in _STATE:
            setattr(self.inner, name, state[name])
        self.inner.faults.planned = state["faults"]
        self.inner._answers = {
            key: (operation, params, _replay(outcome))
            for key, (operation, params, outcome) in state["answers"].items()
        }

    def _save(self) -> None:
        state = {name: getattr(self.inner, name) for name in _STATE}
        state["faults"] = self.inner.faults.planned
        state["answers"] = {
            key: (operation, params, _outcome(answer))
            for key, (operation, params, answer) in self.inner._answers.items()
        }
        scratch = self.path.with_suffix(".tmp")
        scratch.write_bytes(pickle.dumps(state))
        os.replace(scratch, self.path)


def _outcome(answer: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, answer()
    except DomainError as error:
        return False, error


def _replay(outcome: tuple[bool, Any]) -> Callable[[], Any]:
    succeeded, value = outcome
    if succeeded:
        return lambda: value

    def fail() -> Any:
        raise value

    return fail
