"""Mailer adapters: `.eml` files in an outbox folder (embedded), or SMTP."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from commands.ports import Mailer, OutgoingEmail
from infra.settings import Settings


def _message(email: OutgoingEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="aimarket.local")
    message.set_content(email.body, cte="8bit")  # tokens stay on one line, easy to copy
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message


class OutboxMailer:
    """Writes each email as an `.eml` file, so `make run` needs no mail server."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox = outbox
        self._sender = sender
        outbox.mkdir(parents=True, exist_ok=True)

    def send(self, email: OutgoingEmail) -> None:
        path = self.outbox / f"{uuid.uuid4().hex}.eml"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(bytes(_message(email, self._sender)))
        partial.rename(path)  # readers never see half a message


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10.0) -> None:
        self._host, self._port, self._sender, self._timeout_s = host, port, sender, timeout_s

    def send(self, email: OutgoingEmail) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
            smtp.send_message(_message(email, self._sender))


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when a host is set, else the outbox directory (development, tests)."""
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    return OutboxMailer(settings.data_dir / "outbox", settings.smtp_sender)
