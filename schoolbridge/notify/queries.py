"""Reads of the inbox. A user only ever reads their own notifications."""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, router

from .models import Notification


@functools.cache
def _unread_sql(alias: str) -> str:
    ops = connections[alias].ops
    return "SELECT COUNT(*) FROM {table} WHERE {user} = %s AND {read_at} IS NULL".format(
        table=ops.quote_name(Notification._meta.db_table),
        user=ops.quote_name(Notification._meta.get_field("user").column),
        read_at=ops.quote_name(Notification._meta.get_field("read_at").column),
    )


def unread_count(user: Any) -> int:
    """The user's unread notifications (the bell on every page): one indexed count, written as SQL
    once rather than compiled by the ORM on every request."""
    if not getattr(user, "is_authenticated", False):
        return 0
    alias = router.db_for_read(Notification)
    with connections[alias].cursor() as cursor:
        cursor.execute(_unread_sql(alias), [user.pk])
        row = cursor.fetchone()
    return int(row[0])


def latest(user: Any, limit: int = 5) -> list[Notification]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Notification.objects.filter(user=user).order_by("-id")[:limit])
