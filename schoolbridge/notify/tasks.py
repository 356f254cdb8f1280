"""Celery tasks that deliver the email and SMS copies of a notification.

Each task claims its notification with a conditional update (``emailed_at`` / ``texted_at``), so a
message is handed over at most once even if a task is delivered twice; on a failure the claim is
released and the task retried with exponential backoff.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from schoolbridge.celery import app

from .models import Notification
from .sms import SmsError, send_sms

log = logging.getLogger(__name__)

MAX_RETRIES = 5
TRANSIENT = (SmsError, smtplib.SMTPException, OSError, ConnectionError, TimeoutError)


def _backoff(retries: int) -> int:
    return int(min(3600, 30 * (2**retries)))


def _absolute(link: str) -> str:
    base = getattr(settings, "SCHOOLBRIDGE_SITE_URL", "").rstrip("/")
    if link.startswith("/") and base:
        return base + link
    return link


def _language(user: Any) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _claim(pk: int, field: str) -> Notification | None:
    if not Notification.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: timezone.now()}):
        return None
    return Notification.objects.select_related("user").get(pk=pk)


def _release(pk: int, field: str) -> None:
    Notification.objects.filter(pk=pk).update(**{field: None})


@app.task(bind=True, name="notify.deliver_email", max_retries=MAX_RETRIES, acks_late=True)
def deliver_email(self: Any, notification_id: int) -> str:
    n = _claim(notification_id, "emailed_at")
    if n is None:
        return "skipped: already sent or gone"
    user = n.user
    if not user.email or not user.is_active:
        return "skipped: no address"
    with translation.override(_language(user)):
        parts = [n.body] if n.body else []
        if n.link:
            parts.append(_absolute(n.link))
        footer = _("You receive this because you have an account on SchoolBridge.")
        text = "\n\n".join(parts) + ("\n\n" if parts else "") + "-- \n" + footer + "\n"
        message = EmailMessage(subject=f"[SchoolBridge] {n.title}", body=text, to=[user.email])
    try:
        message.send()
    except TRANSIENT as exc:
        _release(n.pk, "emailed_at")
        log.warning("email for notification %s failed (try %s): %s", n.pk, self.request.retries, exc)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return "sent"


@app.task(bind=True, name="notify.deliver_sms", max_retries=MAX_RETRIES, acks_late=True)
def deliver_sms(self: Any, notification_id: int) -> str:
    n = _claim(notification_id, "texted_at")
    if n is None:
        return "skipped: already sent or gone"
    user = n.user
    if not user.phone or not user.is_active:
        return "skipped: no phone"
    text = f"【SchoolBridge】{n.title}"
    if n.body:
        text += f": {n.body}"
    try:
        send_sms(user.phone, text)
    except TRANSIENT as exc:
        _release(n.pk, "texted_at")
        log.warning("SMS for notification %s failed (try %s): %s", n.pk, self.request.retries, exc)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return "sent"
