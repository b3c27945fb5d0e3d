"""The partner feed: every internal event decided on, nothing personal out, docs in step."""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from eventsourcing.domain import Aggregate, AggregateEvent
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

import domain
from domain.access_request import AccessRequest
from domain.admin_roster import AdminRoster
from domain.api_key import ApiKey
from domain.billing_account import BillingAccount
from domain.budget import Budget
from domain.envelope import envelope
from domain.invoice import Invoice
from domain.ledger import PublisherLedger
from domain.login_session import LoginSession
from domain.model import Model
from domain.pricing import FREE
from domain.provider_event import ProviderEvent
from domain.purchase import PaidPurchases, Purchase
from domain.review import Review
from domain.subscription import Subscription
from domain.upload import Upload
from domain.usage import Usage
from domain.user import Role, User
from workers.asyncapi import asyncapi_document, to_yaml
from workers.partner_feed import (
    DROPPED,
    MAPPINGS,
    InvalidEnvelope,
    PublicEvent,
    public_types,
    to_public,
)
from workers.public_schemas import DOCS_DIR, event_schema, main, render_json, write_schemas

KEY = b"k" * 32
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def domain_event_types() -> set[str]:
    """`User.Registered`, ...: every event any aggregate in domain/ can record."""
    found = set()
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, Aggregate) and cls is not Aggregate:
                found |= aggregate_event_types(cls)
    return found


def aggregate_event_types(aggregate: type[Aggregate]) -> set[str]:
    nested = [c for c in vars(aggregate).values() if isinstance(c, type)]
    events = [c for c in nested if issubclass(c, AggregateEvent) and c is not aggregate.Event]
    named_creation = any(
        issubclass(c, Aggregate.Created) and c is not aggregate.Created for c in events
    )
    # The library adds a bare `Created` to each aggregate; it is recorded only when no
    # decorated __init__ names the creation event itself.
    return {c.__qualname__ for c in events if not (named_creation and c is aggregate.Created)}


def history(email: str, name: str, secret: str) -> list[dict[str, Any]]:
    """Envelopes of every kind of event, with personal data wherever the domain allows."""
    user = User(email=email, password_hash=f"$argon2id${secret}", role="consumer")
    user.verify_email()
    user.change_password(f"$argon2id${secret}2")
    user.change_role(Role.PUBLISHER)
    user.rename(name)
    key = ApiKey(
        key_hash=secret, owner_id=user.id, name=name, scopes=["inference"],
        display_prefix=secret[:10], expires_at=NOW + timedelta(days=30),
    )  # fmt: skip
    user.add_api_key(key.id)
    key.record_use(NOW)
    key.revoke()
    session = LoginSession(
        id=uuid.uuid4(), user_id=user.id, token_hash=secret, expires_at=NOW,
        access_jti=secret, access_expires_at=NOW,
    )  # fmt: skip
    session.rotate(f"{secret}2", f"{secret}3", NOW)
    session.revoke(reason=name)
    model = model_history(user.id, name)
    usage = Usage(consumer_id=user.id, model_id=model.id, publisher_id=user.id)
    usage.record("2026-11-26", 2, 1)
    usage.record_batch(f"batch-{name}", {"2026-11-26": (3, 2), "2026-11-27": (1, 0)})
    access, review = access_and_review_history(user.id, model.id, name)
    budget = Budget(user.id)
    budget.set_cap("", {"amount": 100, "currency": "USD"})
    budget.note_threshold("", "2026-11", 50)
    uploads = upload_history(user.id, model.id)
    user.deactivate(by=user.id)
    user.reactivate(by=user.id)
    user.deactivate(by=user.id)
    roster = AdminRoster(admin_ids=[user.id])
    roster.admit(key.id)
    roster.dismiss(user.id)
    ledger = ledger_history(user.id, model.id, name)
    events = [
        *user.collect_events(),
        *roster.collect_events(),
        *key.collect_events(),
        *session.collect_events(),
        *model.collect_events(),
        *usage.collect_events(),
        *budget.collect_events(),
        *access.collect_events(),
        *review.collect_events(),
        *(event for upload in uploads for event in upload.collect_events()),
        *ledger.collect_events(),
        *invoice_history(user.id, model.id),
        *subscription_history(user.id, model.id, name),
        *payments_history(user.id, model.id, name),
    ]
    return [envelope(event) for event in events]


def invoice_history(consumer_id: uuid.UUID, model_id: uuid.UUID) -> list[Any]:
    line = {"model_id": str(model_id), "publisher_id": str(consumer_id), "description": "m",
            "units": 2, "amount": 20}  # fmt: skip
    invoice = Invoice(consumer_id, "2026-11", "EUR", [line], NOW.isoformat())
    invoice.mark_pushed("in_1")
    invoice.mark_paid(NOW)
    return list(invoice.collect_events())


def ledger_history(publisher_id: uuid.UUID, model_id: uuid.UUID, name: str) -> PublisherLedger:
    ledger = PublisherLedger(publisher_id=publisher_id)
    ledger.record_charge(f"pi_{name}", model_id, 1000, "EUR", 2000, NOW)
    ledger.connect_account(f"acct_{name}")
    payout_id = ledger.start_payout("EUR", 0, NOW)
    assert payout_id is not None
    ledger.complete_payout(payout_id, f"tr_{name}", NOW)
    ledger.record_refund(f"re_{name}", f"pi_{name}", 100, "EUR", NOW)
    return ledger


def payments_history(person: uuid.UUID, model_id: uuid.UUID, name: str) -> list[Any]:
    """A card saved, a purchase completed, one refunded, one failed, one pending, and a
    subscription through its life."""
    account = BillingAccount(user_id=person, customer_id=f"cus_{name}")
    account.add_card({"id": "pm_1", "brand": "visa", "last4": "4242", "exp_month": 12,
                      "exp_year": 2030})  # fmt: skip
    made = [
        Purchase(
            consumer_id=person,
            idempotency_key=f"{name}{n}",
            model_id=model_id,
            publisher_id=person,
            kind="one_off",
            plan=None,
            amount={"amount": 1, "currency": "EUR"},
            pricing=FREE.as_dict(),
            at=NOW.isoformat(),
        )
        for n in range(3)
    ]
    done, refunded, failed = made
    done.record_pending("pi_1", None, NOW)
    done.capture("pi_1", done.amount, None, NOW)
    done.grant(NOW)
    done.complete(NOW)
    refunded.capture("pi_2", refunded.amount, None, NOW)
    refunded.request_refund(name, NOW)
    refunded.refunded("re_1", NOW)
    refunded.cancel(name, NOW)
    failed.fail("card_declined", name, NOW)
    paid = PaidPurchases(consumer_id=person, model_id=model_id)
    paid.add(done.id)
    plan = {"name": name, "monthly_price": 1, "included_requests": 1, "currency": "EUR"}
    sub = Subscription(consumer_id=person, model_id=model_id, publisher_id=person,
                       purchase_id=done.id, plan=plan)  # fmt: skip
    sub.activate("sub_1", NOW, NOW + timedelta(days=30))
    sub.renew(NOW + timedelta(days=30), NOW + timedelta(days=60))
    sub.mark_past_due()
    sub.request_cancel_at_period_end()
    sub.change_plan({**plan, "name": f"{name}2"})
    sub.cancel(name)
    sub.restart(refunded.id, plan)
    aggregates = [account, *made, paid, sub]
    return [event for aggregate in aggregates for event in aggregate.collect_events()]


def model_history(publisher_id: uuid.UUID, name: str) -> Model:
    model = Model(
        publisher_id=publisher_id, publisher_name=name, slug="m", details={"name": name},
        pricing=FREE.as_dict(),
    )  # fmt: skip
    model.update_details({"description": name}, name)
    model.change_pricing(FREE, NOW)
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        model.upload_version(version, "sha256:" + "0" * 64, 1, uuid.uuid4())
    model.validate_version("1.0.0", "onnx", {"inputs": [], "outputs": []})
    model.validate_version("1.1.0", "onnx", {"inputs": [], "outputs": []})
    model.reject_version("2.0.0", [name])
    model.publish_version("1.0.0")
    model.publish_version("1.1.0")
    model.set_default_version("1.1.0")
    model.record_deployed("1.0.0", "triton")
    model.record_deployment_failed("1.1.0", "triton", name)
    model.update_stats({"invocations_7d": 1})
    model.deprecate(name)
    model.record_undeployed("1.0.0")
    model.delete()
    return model


def access_and_review_history(
    person: uuid.UUID, model_id: uuid.UUID, name: str
) -> tuple[AccessRequest, Review]:
    text = f"t{name[:150]}t"  # validated fields: never blank, never too long
    later = NOW + timedelta(days=2)
    access = AccessRequest(
        consumer_id=person, model_id=model_id, publisher_id=person, consumer_name=name,
        model_name=name, questions=[name], answers=[text], at=NOW,
    )  # fmt: skip
    access.reject(person, text, NOW, timedelta(days=1))
    access.request_again([name], [text], name, later)
    access.approve(person, later, later + timedelta(days=30), 10)
    access.revoke(person, text, later, timedelta(days=1))
    review = Review(
        model_id=model_id, consumer_id=person, publisher_id=person, reviewer_name=name,
        version="1.0.0", rating=5, title=text, body=name, at=NOW,
    )  # fmt: skip
    review.edit(name, "1.1.0", 4, text, text, later)
    review.reply_to(person, text, later)
    review.hide(person, text, later)
    review.unhide(person, later)
    return access, review


def upload_history(owner: uuid.UUID, model_id: uuid.UUID) -> list[Upload]:
    completed, failed = (
        Upload.start(model_id, owner, "1.0.0", 10, "0" * 64, 4, NOW) for _ in range(2)
    )
    completed.complete("sha256:" + "0" * 64)
    failed.fail("checksum_mismatch")
    return [completed, failed]


def subscription_history(person: uuid.UUID, model_id: uuid.UUID, name: str) -> list[Any]:
    plan = {"name": name, "monthly_price": 900, "included_requests": 10, "currency": "EUR"}
    subscription = Subscription(person, model_id, person, uuid.uuid4(), plan)
    subscription.activate(f"sub_{name}", NOW, NOW + timedelta(days=30))
    subscription.renew(NOW + timedelta(days=30), NOW + timedelta(days=60))
    subscription.mark_past_due()
    subscription.change_plan({**plan, "name": f"{name}2"})
    subscription.request_cancel_at_period_end()
    subscription.cancel(name)
    subscription.restart(uuid.uuid4(), plan)
    handled = ProviderEvent("stripe", f"evt_{name}", "invoice.paid", "handled")
    return [*subscription.collect_events(), *handled.collect_events()]


def published(envelopes: list[dict[str, Any]]) -> list[PublicEvent]:
    return [e for e in (to_public(env, key=KEY) for env in envelopes) if e is not None]


def strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *strings_in(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


SAMPLE = history("ada@example.com", "Ada's laptop key", "s3cr3t-material-0123456789")


def test_every_domain_event_is_either_published_or_deliberately_dropped() -> None:
    undecided = domain_event_types() - MAPPINGS.keys() - DROPPED.keys()
    assert not undecided, f"map {undecided} in workers/partner_feed.py or add them to DROPPED"


def test_the_feed_names_only_events_the_domain_records() -> None:
    assert MAPPINGS.keys() | DROPPED.keys() <= domain_event_types()
    assert not MAPPINGS.keys() & DROPPED.keys()


def test_the_sample_history_records_every_domain_event() -> None:
    assert {env["type"] for env in SAMPLE} == domain_event_types()


# Words every public event may contain (type names, field names, enum values, topics): a
# generated secret that happens to be part of one says nothing about a leak.
VOCABULARY = [
    s for public in public_types() for s in [public.topic_name, *strings_in(event_schema(public))]
]


def private_text(**kwargs: Any) -> st.SearchStrategy[str]:
    return st.text(**kwargs).filter(lambda text: not any(text in word for word in VOCABULARY))


@given(
    email=st.emails(),
    # A display name: printable, no spaces at its ends, at most 60 (domain.user rules).
    name=private_text(
        min_size=12,
        max_size=60,
        alphabet=st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Z")),
    ),
    secret=private_text(alphabet=st.characters(codec="ascii"), min_size=16),
    extra=private_text(min_size=12),
)
def test_no_public_event_carries_personal_data_or_internal_ids(
    email: str, name: str, secret: str, extra: str
) -> None:
    envelopes = history(email, name, secret)
    for env in envelopes:  # a personal field someone might add to an event later
        env["data"] |= {"display_name": extra, "ip": "203.0.113.7"}
    internal_ids = {str(env[k]) for env in envelopes for k in ("id", "aggregate_id")}
    for event in published(envelopes):
        seen = [event.key, *strings_in(event.value)]
        for private in [email, name, secret, extra, "203.0.113.7", "@", *internal_ids]:
            assert not [s for s in seen if private in s], (private, event)


def test_every_public_event_validates_against_its_generated_schema() -> None:
    by_name = {public.name: public for public in public_types()}
    events = published(SAMPLE)
    assert {e.value["type"] for e in events} == by_name.keys()
    for event in events:
        public = by_name[event.value["type"]]
        Draft202012Validator(event_schema(public), format_checker=FormatChecker()).validate(
            event.value
        )
        assert list(event.value["data"]) == [field.name for field in public.fields]
        assert datetime.fromisoformat(event.value["occurred_at"]).tzinfo is not None
        assert (event.topic, event.key) == (
            public.topic_name,
            event.value["data"][public.key_field],
        )


def test_schemas_are_valid_and_use_only_keywords_asyncapi_tools_also_read() -> None:
    # AsyncAPI's default schema format is a superset of draft-07, so keep to the overlap.
    common = {"$schema", "$id", "title", "description", "type", "required", "properties"}
    common |= {"const", "enum", "format", "items", "uniqueItems"}
    for public in public_types():
        schema = event_schema(public)
        Draft202012Validator.check_schema(schema)
        Draft7Validator.check_schema({k: v for k, v in schema.items() if k != "$schema"})
        assert set(keywords(schema)) <= common


def keywords(schema: dict[str, Any]) -> list[str]:
    """Every keyword used in a schema, its properties' and its items' schemas."""
    subschemas = list(schema.get("properties", {}).values())
    if "items" in schema:
        subschemas.append(schema["items"])
    return [*schema, *(word for sub in subschemas for word in keywords(sub))]


def test_committed_docs_are_what_the_generator_writes_now(tmp_path: Path) -> None:
    main([str(tmp_path)])
    expected = {p.name: p.read_text() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_text() for p in DOCS_DIR.iterdir() if p.name != "README.md"}
    hint = "run `python -m workers.public_schemas` and delete stale files in docs/events/"
    assert committed == expected, hint


def test_asyncapi_yaml_reads_back_as_the_document() -> None:
    text = (DOCS_DIR / "asyncapi.yaml").read_text()
    assert yaml.safe_load(text) == asyncapi_document()
    tricky: dict[str, Any] = {
        "a": ["yes", "1.0", "#x", "k: v", "", None, True, 3, {}, [], [{"b": "c", "d": []}]]
    }
    assert yaml.safe_load(to_yaml(tricky)) == tricky


def test_asyncapi_channels_are_the_public_topics_with_payloads_in_schema_files() -> None:
    document = asyncapi_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {public.topic_name for public in public_types()}
    for message in document["components"]["messages"].values():
        payload = DOCS_DIR / message["payload"]["$ref"]
        assert json.loads(payload.read_text())["title"] == message["name"]


def test_public_id_is_stable_for_a_redelivery_and_distinct_between_events() -> None:
    first, again = published(SAMPLE), published([dict(env) for env in SAMPLE])
    assert [e.value["id"] for e in first] == [e.value["id"] for e in again]
    assert len({e.value["id"] for e in first}) == len(first)


def test_an_account_has_one_public_id_across_topics_and_another_under_another_key() -> None:
    events = {e.value["type"]: e for e in published(SAMPLE)}
    account = events["account.registered"].key
    assert events["api_key.created"].value["data"]["account_id"] == account
    other = to_public(SAMPLE[0], key=b"o" * 32)
    assert other is not None and other.key != account


def test_dropped_and_undecided_event_types_publish_nothing() -> None:
    dropped = [env for env in SAMPLE if env["type"] in DROPPED]
    assert dropped and all(to_public(env, key=KEY) is None for env in dropped)
    assert to_public({**SAMPLE[0], "type": "User.Renamed"}, key=KEY) is None


def test_short_keys_foreign_envelopes_and_free_text_in_closed_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        to_public(SAMPLE[0], key=b"short")
    with pytest.raises(InvalidEnvelope):
        to_public({**SAMPLE[0], "schema": "other.v9"}, key=KEY)
    with pytest.raises(InvalidEnvelope):
        to_public({**SAMPLE[0], "data": {"role": "ada@example.com"}}, key=KEY)


def test_write_schemas_writes_one_file_per_public_type(tmp_path: Path) -> None:
    paths = write_schemas(tmp_path)
    assert [p.name for p in paths] == [public.schema_file for public in public_types()]
    assert paths[0].read_text() == render_json(event_schema(public_types()[0]))
