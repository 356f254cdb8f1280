"""deliver_email / deliver_sms: retries with backoff, at-most-once hand-over, skips."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from schoolbridge.notify import actions, sms, tasks
from schoolbridge.notify.models import Notification


class FlakyGateway(sms.SmsGateway):
    failures_left = 0
    attempts = 0
    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        FlakyGateway.attempts += 1
        if FlakyGateway.failures_left > 0:
            FlakyGateway.failures_left -= 1
            raise sms.SmsError("gateway busy")
        FlakyGateway.sent.append((phone, text))


@pytest.fixture
def flaky(settings: Any) -> type[FlakyGateway]:
    settings.SCHOOLBRIDGE_SMS_BACKEND = f"{__name__}.FlakyGateway"
    FlakyGateway.failures_left = 0
    FlakyGateway.attempts = 0
    FlakyGateway.sent = []
    return FlakyGateway


@pytest.fixture
def eager_retries() -> Any:
    """Eager tasks that retry inline (Celery only re-runs an eager task when errors do not propagate)."""
    from schoolbridge.celery import app

    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = saved


def _row(world: Any, name: str = "a_parent", **kw: Any) -> Notification:
    (row,) = actions.notify([world.user(name)], "k", "Parents' meeting", body="Room 3", **kw)
    return row


def test_sms_is_retried_until_the_gateway_accepts(
    world: Any, flaky: type[FlakyGateway], eager_retries: None
) -> None:
    flaky.failures_left = 2
    row = _row(world)
    tasks.deliver_sms.delay(row.pk)
    assert flaky.attempts == 3
    assert flaky.sent == [(world.user("a_parent").phone, "【SchoolBridge】Parents' meeting: Room 3")]
    row.refresh_from_db()
    assert row.texted_at is not None


def test_sms_gives_up_after_max_retries_and_leaves_it_unsent(
    world: Any, flaky: type[FlakyGateway], eager_retries: None
) -> None:
    flaky.failures_left = 100
    row = _row(world)
    result = tasks.deliver_sms.delay(row.pk)
    with pytest.raises(sms.SmsError):
        result.get()
    assert flaky.attempts == tasks.MAX_RETRIES + 1
    row.refresh_from_db()
    assert row.texted_at is None


def test_a_duplicate_task_sends_once(world: Any, flaky: type[FlakyGateway]) -> None:
    row = _row(world)
    assert tasks.deliver_sms.delay(row.pk).get() == "sent"
    assert tasks.deliver_sms.delay(row.pk).get().startswith("skipped")
    assert len(flaky.sent) == 1


def test_backoff_grows_and_is_capped() -> None:
    delays = [tasks._backoff(n) for n in range(10)]
    assert delays[:3] == [30, 60, 120]
    assert max(delays) == 3600


def test_email_goes_to_the_users_address_in_their_language(world: Any, settings: Any) -> None:
    settings.SCHOOLBRIDGE_SITE_URL = "https://school.example"
    user = world.user("a_parent")
    user.email = "parent@example.org"
    user.language = "en"
    user.save()
    row = _row(world, link="/homework/3/")
    assert tasks.deliver_email.delay(row.pk).get() == "sent"
    (msg,) = mail.outbox
    assert msg.to == ["parent@example.org"]
    assert msg.subject == "[SchoolBridge] Parents' meeting"
    assert "Room 3" in msg.body and "https://school.example/homework/3/" in msg.body
    assert tasks.deliver_email.delay(row.pk).get().startswith("skipped")
    assert len(mail.outbox) == 1


def test_email_failure_is_retried(world: Any, settings: Any, eager_retries: None) -> None:
    import smtplib

    settings.EMAIL_BACKEND = f"{__name__}.FlakyMailBackend"
    FlakyMailBackend.failures_left = 1
    FlakyMailBackend.sent = 0
    user = world.user("a_parent")
    user.email = "parent@example.org"
    user.save()
    row = _row(world)
    tasks.deliver_email.delay(row.pk)
    assert FlakyMailBackend.sent == 1
    assert smtplib  # imported for the backend below


def test_no_address_or_phone_is_skipped(world: Any) -> None:
    row = _row(world, name="a_teacher")
    assert tasks.deliver_email.delay(row.pk).get() == "skipped: no address"
    assert tasks.deliver_sms.delay(row.pk).get() == "skipped: no phone"
    assert sms.read_outbox() == [] and mail.outbox == []


def test_missing_notification_is_skipped(db: Any) -> None:
    assert tasks.deliver_sms.delay(987654).get().startswith("skipped")


from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402


class FlakyMailBackend(BaseEmailBackend):
    failures_left = 0
    sent = 0

    def send_messages(self, email_messages: Any) -> int:
        import smtplib

        if FlakyMailBackend.failures_left > 0:
            FlakyMailBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("connection lost")
        FlakyMailBackend.sent += len(email_messages)
        return len(email_messages)
