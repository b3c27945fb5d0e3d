"""Notifications on both profiles: account events (a purchase completed, a payment failed,
a budget threshold, a payout) written to the event store reach a real SMTP server (aiosmtpd)
as text and HTML emails, a real local HTTP receiver as Standard Webhooks it verifies with
the `standardwebhooks` package, and the in-app list with its read marks. Embedded: the
notifier follows the log in process; cluster: `aimarket worker notifier` from Kafka and
`aimarket worker webhooks` send. An event handed over again sends nothing twice; a
subscription past due is a payment failure."""

from __future__ import annotations

import email.message
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from domain.budget import ACCOUNT, Budget
from domain.envelope import envelope
from domain.ledger import PublisherLedger
from domain.purchase import Purchase
from domain.subscription import Subscription
from infra.bootstrap import Container
from infra.settings import Settings
from tests.integration.test_mailers import free_port
from tests.integration.test_model_registry import create
from tests.integration.test_webhooks import Receiver, receiving
from tests.pipeline import running_worker, wait_until
from tests.support import Account, verified_account

NAME = "Vision <b>Pro</b> & Co"  # a publisher's text: escaped in HTML, as it is in text
EUR = {"amount": 1250, "currency": "EUR"}


class SmtpInbox(Message):
    """Keeps every message; also files it in the outbox, where the tests' helpers read
    verification tokens from."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []
        self.outbox: Path | None = None
        self.port = free_port()

    def handle_message(self, message: email.message.Message) -> None:
        parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        if self.outbox is not None:
            self.outbox.mkdir(parents=True, exist_ok=True)
            (self.outbox / f"{uuid4().hex}.eml").write_bytes(message.as_bytes())

    def to(self, address: str, kind: str = "") -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address and kind in str(m["Subject"])]


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def settings(settings: Settings, smtp: SmtpInbox, tmp_path: Path) -> Iterator[Settings]:
    smtp.outbox = settings.data_dir / "outbox"
    notifying = settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "webhook_allowed_hosts": "127.0.0.1",
        "webhook_retry_base_s": 0.05, "webhook_retry_cap_s": 0.05, "webhook_poll_s": 0.1,
    })  # fmt: skip
    if notifying.profile != "cluster":
        yield notifying
        return
    logs = tmp_path / "logs"
    with running_worker(notifying, "notifier", logs), running_worker(notifying, "webhooks", logs):
        yield notifying


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(Receiver()) as found:
        yield found


def now() -> datetime:
    return datetime.now(UTC)


def purchase(consumer: Account, model_id: str, publisher: Account, completed: bool) -> Purchase:
    bought = Purchase(
        consumer_id=UUID(consumer.id), idempotency_key=uuid4().hex, model_id=UUID(model_id),
        publisher_id=UUID(publisher.id), kind="one_off", plan=None, amount=EUR, pricing={},
        at=now().isoformat(),
    )  # fmt: skip
    if completed:
        bought.capture("pay_1", EUR, None, now())
        bought.grant(now())
        bought.complete(now())
    else:
        bought.fail("card_declined", "Your card was declined.", now())
    return bought


def account_events(container: Container, consumer: Account, publisher: Account, model_id: str
                   ) -> Purchase:  # fmt: skip
    """The receipt's purchase, a failed one, an 80 % budget threshold, a paid-out payout."""
    receipt = purchase(consumer, model_id, publisher, completed=True)
    container.app.write(receipt)
    container.app.write(purchase(consumer, model_id, publisher, completed=False))
    budget = Budget(UUID(consumer.id))
    budget.set_cap(ACCOUNT, {"amount": 5000, "currency": "EUR"})
    budget.note_threshold(ACCOUNT, "2031-01", 80)
    container.app.write(budget)
    ledger = PublisherLedger(UUID(publisher.id))
    ledger.record_charge("tx_1", UUID(model_id), 10000, "EUR", 2000, now())
    payout_id = ledger.start_payout("EUR", 0, now())
    assert payout_id is not None
    ledger.complete_payout(payout_id, "tr_42", now())
    container.app.write(ledger)
    return receipt


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def notifications(client: TestClient, who: Account, **params: Any) -> dict[str, Any]:
    answer = client.get("/v1/notifications", headers=who.headers, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def check_emails(smtp: SmtpInbox, consumer: Account, publisher: Account) -> None:
    wait_until(lambda: len(smtp.to(consumer.email, "aimarket: ")) >= 3
               and len(smtp.to(publisher.email, "Payout")) == 1, 90, "the emails")  # fmt: skip
    [receipt] = smtp.to(consumer.email, "Receipt")
    text, html = parts(receipt)
    assert f"Model:    {NAME}" in text and "Amount:   12.50 EUR" in text
    assert "Vision &lt;b&gt;Pro&lt;/b&gt; &amp; Co" in html and "<b>Pro</b>" not in html
    [failed] = smtp.to(consumer.email, "Payment failed")
    text, html = parts(failed)
    assert "Your card was declined." in text and "12.50 EUR" in html
    [budget] = smtp.to(consumer.email, "80% of your monthly budget")
    text, html = parts(budget)
    assert "In 2031-01, your account has used 80% of its monthly budget of 50.00 EUR" in text
    assert "<strong>80%</strong>" in html
    [payout] = smtp.to(publisher.email, "Payout statement")
    text, html = parts(payout)
    assert "Amount:   80.00 EUR" in text and "Transfer: tr_42" in text and "tr_42" in html


def check_webhooks(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    wait_until(lambda: len(receiver.got) >= 3, 60, "the three account webhooks")
    verified = [Webhook(secret).verify(body, headers) for body, headers in receiver.got]
    assert sorted(p["type"] for p in verified) == [
        "budget.warning", "payment.failed", "purchase.completed",
    ]  # fmt: skip
    return verified


def test_account_events_are_emailed_sent_as_signed_webhooks_and_listed_in_app(
    client: TestClient, container: Container, outbox: Path, smtp: SmtpInbox, receiver: Receiver
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = create(client, publisher, slug=f"vision-{uuid4().hex[:8]}", name=NAME)
    hook = client.post("/v1/webhooks/endpoints", json={"url": receiver.url},
                       headers=consumer.headers)  # fmt: skip
    assert hook.status_code == 201, hook.text
    receipt = account_events(container, consumer, publisher, model_id)

    check_emails(smtp, consumer, publisher)
    [completed] = [p for p in check_webhooks(receiver, hook.json()["secret"])
                   if p["type"] == "purchase.completed"]  # fmt: skip
    assert completed["data"]["purchase_id"] == str(receipt.id)
    assert completed["data"]["amount"] == "12.50 EUR"

    wait_until(lambda: notifications(client, consumer)["unread"] == 3, 60, "the in-app list")
    first = notifications(client, consumer, limit=2)
    assert [n["kind"] for n in first["items"]] == ["budget.warning", "payment.failed"]
    rest = notifications(client, consumer, limit=2, cursor=first["next_cursor"])
    assert [n["kind"] for n in rest["items"]] == ["purchase.completed"]
    assert rest["next_cursor"] is None
    mine = [n["kind"] for n in notifications(client, publisher)["items"]]
    assert mine == ["payout.statement"]  # nobody sees another account's notifications

    newest = first["items"][0]["id"]
    stranger = client.post(f"/v1/notifications/{newest}/read", headers=publisher.headers)
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (
        404, "notification_not_found",
    )  # fmt: skip
    assert client.post(f"/v1/notifications/{newest}/read",
                       headers=consumer.headers).status_code == 204  # fmt: skip
    listed = notifications(client, consumer)
    assert listed["unread"] == 2 and [n["read"] for n in listed["items"]] == [True, False, False]
    marked = client.post("/v1/notifications/read-all", headers=consumer.headers)
    assert marked.json() == {"marked": 2}
    assert notifications(client, consumer)["unread"] == 0


def test_an_event_handed_over_again_sends_nothing_twice(
    client: TestClient, container: Container, outbox: Path, smtp: SmtpInbox, receiver: Receiver
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = create(client, publisher, slug=f"vision-{uuid4().hex[:8]}", name=NAME)
    hook = client.post("/v1/webhooks/endpoints", json={"url": receiver.url},
                       headers=consumer.headers)  # fmt: skip
    assert hook.status_code == 201, hook.text
    receipt = purchase(consumer, model_id, publisher, completed=True)
    container.app.write(receipt)
    wait_until(lambda: bool(smtp.to(consumer.email, "Receipt") and receiver.got
               and notifications(client, consumer)["items"]), 90, "the receipt")  # fmt: skip
    assert container.notify is not None
    read = client.post("/v1/notifications/read-all", headers=consumer.headers)
    assert read.json() == {"marked": 1}

    completed = list(container.app.repository.event_store.get(receipt.id))[-1]
    again = container.notify.notifier.handle(envelope(completed))
    assert again is not None and again.kind == "purchase.completed"

    assert len(smtp.to(consumer.email, "Receipt")) == 1
    deliveries = client.get("/v1/webhooks/deliveries", headers=consumer.headers).json()["items"]
    assert [d["event_type"] for d in deliveries] == ["purchase.completed"]
    assert len(receiver.got) == 1
    assert json.loads(receiver.got[0][0])["data"]["purchase_id"] == str(receipt.id)
    listed = notifications(client, consumer)
    assert listed["unread"] == 0 and len(listed["items"]) == 1  # still read, still one


def test_a_subscription_past_due_is_a_payment_failure_and_its_cancelation_is_listed(
    client: TestClient, container: Container, outbox: Path, smtp: SmtpInbox
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = create(client, publisher, slug=f"vision-{uuid4().hex[:8]}", name=NAME)
    plan = {"name": "pro", "monthly_price": 900, "included_requests": 100, "currency": "EUR"}
    subscription = Subscription(UUID(consumer.id), UUID(model_id), UUID(publisher.id), uuid4(),
                                plan)  # fmt: skip
    subscription.activate("sub_1", now(), now())
    assert subscription.mark_past_due()
    container.app.write(subscription)
    wait_until(lambda: len(smtp.to(consumer.email, "Payment failed")) == 1, 90, "the email")
    text, html = parts(smtp.to(consumer.email, "Payment failed")[0])
    assert "Your subscription (pro plan, 9.00 EUR a month) is past due" in text
    assert "the renewal payment failed" in html

    assert subscription.cancel("unpaid")
    container.app.write(subscription)
    wait_until(lambda: len(notifications(client, consumer)["items"]) == 2, 60, "the list")
    canceled, failed = notifications(client, consumer)["items"]
    assert (canceled["kind"], canceled["data"]["reason"]) == ("subscription.canceled", "unpaid")
    assert (failed["kind"], failed["data"]["subscription"]) == ("payment.failed", True)
    assert len(smtp.to(consumer.email, "aimarket: ")) == 1  # a cancelation is not emailed
