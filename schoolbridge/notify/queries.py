"""Reads of the inbox. A user only ever reads their own notifications."""

from __future__ import annotations

from typing import Any

from .models import Notification


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def latest(user: Any, limit: int = 5) -> list[Notification]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Notification.objects.filter(user=user).order_by("-id")[:limit])
