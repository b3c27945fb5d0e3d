"""The notifier: each event that is news to an account (commands/notices.py) becomes an
entry in the account's in-app list, an email for the kinds worth one, and a delivery to
the account's webhook endpoints. Runners hand it every event at least once (workers/
notifier.py in process, workers/notifier_app.py in the cluster); each channel is
idempotent per (event id, channel), so an event handed over again sends nothing twice.

And the in-app list's read marks (`NotificationInbox`), which the list's owner sets."""

from __future__ import annotations

import logging
from typing import Any, Protocol
from uuid import UUID

from commands.event_store import EventStore
from commands.notices import Envelope, Notice, notice_for
from commands.ports import Mailer, OutgoingEmail
from commands.webhooks import WebhookService
from domain.clock import Clock
from domain.errors import NotFound
from domain.principal import Principal
from domain.user import User
from projections.ports import DocChange, Document, ReadStore

log = logging.getLogger("aimarket.notifier")
NOTIFICATIONS = "notifications"  # the in-app list: one document per (event, user)
SENT = "notification_sends"  # `<event id>:email` once that email went out
READ_ALL_BATCH = 200


class EmailTemplates(Protocol):
    def render(self, notice: Notice, to: str) -> OutgoingEmail:
        """The notice's email: subject, text and HTML (infra/notify_mail.py)."""
        ...


class Notifier:
    def __init__(
        self,
        app: EventStore,
        store: ReadStore,
        mailer: Mailer,
        templates: EmailTemplates,
        webhooks: WebhookService,
    ) -> None:
        self.app, self.store, self.mailer = app, store, mailer
        self.templates, self.webhooks = templates, webhooks

    def handle(self, envelope: Envelope) -> Notice | None:
        """Notify about one event; raises when a channel failed, so the runner hands the
        event over again (the channels already done are skipped then)."""
        notice = notice_for(self.app, envelope)
        if notice is None:
            return None
        self._in_app(notice)
        if notice.emailed:
            self._email(notice)
        self.webhooks.account_event(notice.user_id, notice.kind, notice.data, notice.event_id)
        return notice

    def _in_app(self, notice: Notice) -> None:
        doc = {
            "user_id": str(notice.user_id), "kind": notice.kind, "title": notice.title,
            "data": notice.data, "created_at": notice.at, "read": False, "read_at": None,
        }  # fmt: skip
        # Version 1: a redelivered event cannot overwrite an entry marked read (version 2).
        self.store.apply(NOTIFICATIONS, [DocChange(notice.event_id, 1, doc)])

    def _email(self, notice: Notice) -> None:
        mark = f"{notice.event_id}:email"
        if self.store.get(SENT, mark) is not None:
            return
        to = self.app.load(User, notice.user_id).email
        self.mailer.send(self.templates.render(notice, to))
        # A crash between the send and this mark sends once more: at least once, never lost.
        self.store.apply(SENT, [DocChange(mark, 1, {"kind": notice.kind, "at": notice.at})])
        log.info("notification %s emailed: %s", notice.event_id, notice.kind)


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class NotificationInbox:
    """Read marks on the caller's own notifications; anyone else's is missing (404)."""

    def __init__(self, store: ReadStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def mark_read(self, caller: Principal, notification_id: UUID) -> None:
        doc = self.store.get(NOTIFICATIONS, str(notification_id))
        if doc is None or doc.get("user_id") != str(caller.user_id):
            raise NotificationNotFound(f"no notification {notification_id}")
        if not doc.get("read"):
            self.store.apply(NOTIFICATIONS, [self._read(doc)])

    def mark_all_read(self, caller: Principal) -> int:
        """How many were unread."""
        where: dict[str, Any] = {"user_id": str(caller.user_id), "read": False}
        marked = 0
        while page := self.store.find(NOTIFICATIONS, where, limit=READ_ALL_BATCH).items:
            self.store.apply(NOTIFICATIONS, [self._read(doc) for doc in page])
            marked += len(page)
        return marked

    def _read(self, doc: Document) -> DocChange:
        body = {k: v for k, v in doc.items() if k not in ("_id", "_version")}
        body |= {"read": True, "read_at": self.clock.now().isoformat()}
        return DocChange(str(doc["_id"]), int(doc["_version"]) + 1, body)
