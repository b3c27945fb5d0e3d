"""Both Mailer adapters deliver a real message: SMTP to a real SMTP server, and the outbox."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from commands.ports import OutgoingEmail
from infra.mail import OutboxMailer, SmtpMailer


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_smtp_mailer_delivers_to_a_real_smtp_server(smtp_inbox: tuple[Inbox, int]) -> None:
    inbox, port = smtp_inbox
    SmtpMailer("127.0.0.1", port, "aimarket <no-reply@aimarket.local>").send(
        OutgoingEmail(to="ada@example.com", subject="Confirm", body="token: eyJabc")
    )
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ada@example.com" and message["Subject"] == "Confirm"
    assert "token: eyJabc" in message.get_payload()


def test_smtp_mailer_fails_loudly_when_no_server_answers() -> None:
    with pytest.raises(OSError):
        SmtpMailer("127.0.0.1", free_port(), "x@y.z", timeout_s=2).send(
            OutgoingEmail(to="a@b.c", subject="s", body="b")
        )


def test_outbox_mailer_writes_complete_eml_files(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox", "aimarket <no-reply@aimarket.local>")
    mailer.send(OutgoingEmail(to="ada@example.com", subject="Hello", body="line one\n"))
    (path,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Hello" and message.get_content() == "line one\n"
    assert not list((tmp_path / "outbox").glob("*.tmp"))
