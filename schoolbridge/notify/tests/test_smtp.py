"""The email channel against a real SMTP server on loopback (aiosmtpd), not the in-memory outbox."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from schoolbridge.notify import actions
from schoolbridge.notify.models import Notification


class Collector:
    """An aiosmtpd handler that keeps every message it is handed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Collector]:
    handler = Collector()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


@pytest.mark.django_db(transaction=True)
def test_a_notification_is_delivered_once_over_real_smtp(smtp_server: Collector, live_world: Any) -> None:
    parent = live_world.user("a_parent")
    parent.email = "parent@example.org"
    parent.save()
    body = "周五上午九点举行运动会，请穿运动鞋。"

    with transaction.atomic():
        actions.notify([parent], "notice", "运动会通知", body=body, link="/notices/1/", channels=("email",))
        # Nothing leaves before the commit.
        assert smtp_server.messages == []

    assert len(smtp_server.messages) == 1
    rcpt_tos, msg = smtp_server.messages[0]
    assert rcpt_tos == ["parent@example.org"]
    assert msg["To"] == "parent@example.org"
    assert msg["Subject"] == "[SchoolBridge] 运动会通知"
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None and part.get_content_charset() == "utf-8"
    text = part.get_content()
    assert body in text and "/notices/1/" in text
    n = Notification.objects.get(user=parent)
    assert n.emailed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_no_mail(smtp_server: Collector, live_world: Any) -> None:
    parent = live_world.user("a_parent")
    parent.email = "parent@example.org"
    parent.save()

    with pytest.raises(RuntimeError), transaction.atomic():
        actions.notify([parent], "notice", "不会发送", body="回滚", channels=("email",))
        raise RuntimeError("the caller fails after notifying")

    # A message that does go out afterwards proves the server was listening all along.
    with transaction.atomic():
        actions.notify([parent], "notice", "之后的通知", body="正文", channels=("email",))
    assert [m["Subject"] for _, m in smtp_server.messages] == ["[SchoolBridge] 之后的通知"]
    assert not Notification.objects.filter(title="不会发送").exists()
