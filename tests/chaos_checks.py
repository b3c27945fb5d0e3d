"""The chaos test's invariants, read from the deployment's own records once the load has
drained: the event store, the usage ledger and billing tables, the job and webhook tables,
the simulated provider's file and what the webhook receiver got. Each returns a list of
what is wrong (empty: the invariant holds), so the test reports all of them at once."""

from __future__ import annotations

import json
import pickle
from collections import Counter, defaultdict
from typing import Any
from uuid import UUID

import psycopg
from standardwebhooks import Webhook

from domain.ledger import PublisherLedger
from domain.purchase import FINAL, PurchaseState
from domain.usage import Usage
from infra.settings import Settings
from tests.chaos_load import Cast, Observed
from workers.notifications import read_after


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(str(settings.database_url)) as conn:
        return list(conn.execute(sql).fetchall())


def provider_charges(settings: Settings) -> dict[str, list[str]]:
    """Purchase id -> the provider's succeeded charges for it (PaymentIntent ids), from the
    simulated provider's own state: what it would have taken from the cards."""
    state = pickle.loads((settings.data_dir / "payments" / "simulated.pickle").read_bytes())
    charges: dict[str, list[str]] = defaultdict(list)
    for operation, params, (ok, outcome) in state["answers"].values():
        if operation == "charge" and ok and outcome.status == "succeeded":
            charges[params[4]["purchase_id"]].append(outcome.id)
    return charges


def purchases_settled(app: Any, settings: Settings, seen: Observed) -> list[str]:
    """No purchase captured twice (the provider's charges, the saga's events); every
    capture ended granted (completed) or refunded (canceled); every purchase final."""
    wrong, charges = [], provider_charges(settings)
    for key, purchase_id in seen.purchases.items():
        purchase = app.repository.get(UUID(purchase_id))
        taken = charges.get(purchase_id, [])
        if len(taken) > 1:
            wrong.append(f"purchase {purchase_id} ({key}) charged {len(taken)} times: {taken}")
        if purchase.state not in FINAL:
            wrong.append(f"purchase {purchase_id} left {purchase.state}")
        elif taken and purchase.state == PurchaseState.PAYMENT_FAILED:
            wrong.append(f"purchase {purchase_id} charged ({taken}) but recorded as failed")
        elif taken and taken[0] != purchase.payment_id:
            wrong.append(f"purchase {purchase_id}: captured {purchase.payment_id}, charged {taken}")
        elif purchase.state == PurchaseState.CANCELED and purchase.refund_id is None:
            wrong.append(f"purchase {purchase_id} canceled after a capture, not refunded")
    # The saga's own record: each purchase's capture and refund events in the event store.
    steps = Counter(
        (e["aggregate_id"], e["type"]) for _, e in read_after(app, 0, 10**7)
        if e["type"] in ("Purchase.PaymentCaptured", "Purchase.Refunded")
    )  # fmt: skip
    wrong += [f"purchase {agg}: {n} {kind} events" for (agg, kind), n in steps.items() if n > 1]
    return wrong


def ledger_balanced(app: Any, cast: Cast, seen: Observed) -> list[str]:
    """Each publisher's books: every currency's entries sum to zero, no balance below
    zero, and the customers' payments equal the completed purchases of their models."""
    wrong = []
    paid: Counter[str] = Counter()
    for purchase_id in seen.purchases.values():
        purchase = app.repository.get(UUID(purchase_id))
        if purchase.state == PurchaseState.COMPLETED:
            paid[str(purchase.publisher_id)] += purchase.amount["amount"]
    for publisher in cast.publishers:
        books = app.repository.get(PublisherLedger.create_id(UUID(publisher.id)))
        for currency, accounts in books.raw.items():
            if sum(accounts.values()) != 0:
                wrong.append(f"ledger {publisher.id} {currency} unbalanced: {accounts}")
            negative = {a: books.balance(currency, a) for a in accounts}
            if any(v < 0 for v in negative.values()):
                wrong.append(f"ledger {publisher.id} {currency} negative: {negative}")
        got = books.balance("EUR", "customer_payments") if books.raw else 0
        if got != paid[publisher.id]:
            wrong.append(
                f"ledger {publisher.id}: customer payments {got}, sold {paid[publisher.id]}"
            )
    return wrong


def usage_counted_once(app: Any, settings: Settings, seen: Observed) -> list[str]:
    """Every answered call and job has its usage record (one, by request id); each record
    is rolled up into its Usage aggregate and priced into the billing usage once."""
    ledger = dict(rows(settings, "SELECT request_id, count(*) FROM aimarket_usage_records "
                                 "GROUP BY request_id"))  # fmt: skip
    ran = {i for (i,) in rows(settings, "SELECT id FROM aimarket_jobs WHERE status = 'succeeded'")}
    wanted = [*seen.infer_ok, *ran]  # a job that failed its entitlement recorded no usage
    wrong = [f"call {r} has {ledger.get(r, 0)} usage records" for r in wanted if ledger.get(r) != 1]
    per_pair = rows(settings, "SELECT consumer_id::text, model_id::text, count(*), "
                              "bool_and(batch_id IS NOT NULL) FROM aimarket_usage_records "
                              "GROUP BY 1, 2")  # fmt: skip
    priced = {(c, m): n for c, m, n in rows(
        settings, "SELECT consumer_id::text, model_id::text, sum(calls) FROM billing_usage_days "
                  "GROUP BY 1, 2")}  # fmt: skip
    for consumer, model, records, claimed in per_pair:
        rolled = app.repository.get(Usage.create_id(UUID(consumer), UUID(model))).calls
        if not claimed or rolled != records:
            wrong.append(f"usage {consumer}/{model}: {records} records, {rolled} rolled up")
        if priced.get((consumer, model)) != records:
            wrong.append(f"usage {consumer}/{model}: {records} records, "
                         f"{priced.get((consumer, model))} priced")  # fmt: skip
    return wrong


def jobs_ended_once(settings: Settings, seen: Observed) -> list[str]:
    """Every job the API accepted ended with one outcome: a result, or an error (its
    entitlement is checked again when it runs); no stored job is left unfinished."""
    found = rows(settings, "SELECT id, status, result, error FROM aimarket_jobs")
    stored = {job_id: (status, result, error) for job_id, status, result, error in found}
    wrong = [f"job {i} accepted but not stored" for i in seen.jobs if i not in stored]
    for job_id, (status, result, error) in stored.items():
        one = (status, result is None, error is None) in (
            ("succeeded", False, True), ("failed", True, False), ("canceled", True, True),
        )  # fmt: skip
        if not one or (job_id in seen.jobs and status == "canceled"):
            wrong.append(f"job {job_id}: {status}, result {str(result)[:60]}, error {error}")
    return wrong


def webhooks_once(seen: Observed, cast: Cast, got: list[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Every job's webhook arrived, signed; every event's deliveries share one id."""
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    secrets = {c.account.id: c.secret for c in cast.consumers}
    for body, headers in got:
        event = json.loads(body)
        data = event["data"]
        ids[(event["type"], str(data.get("id") or json.dumps(data, sort_keys=True)))].add(
            headers["webhook-id"]
        )
        if event["type"].startswith("job."):
            owner = cast.consumers[seen.jobs[data["id"]]].account.id
            Webhook(secrets[owner]).verify(body, headers)  # raises on a bad signature
    told = {about for kind, about in ids if kind.startswith("job.")}
    wrong = [f"no webhook for job {j}" for j in seen.jobs if j not in told]
    wrong += [f"{kind} {about}: {len(i)} ids" for (kind, about), i in ids.items() if len(i) > 1]
    return wrong
