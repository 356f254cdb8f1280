"""Writes to the inbox.

``notify`` is called by every module that tells people something. It writes the rows in the
caller's transaction; pushes and email/SMS deliveries happen only once that transaction commits
(nothing is sent for a rolled-back one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from schoolbridge.core.models import School

from . import channels as channel_registry
from .models import Notification

TITLE_MAX = 200
KIND_MAX = 40
LINK_MAX = 300
BATCH = 500


def _after_commit(func: Any, *args: Any) -> Any:
    """A named callback for on_commit: Django logs a failing robust callback by its __qualname__,
    which functools.partial lacks (the log call itself would then fail and hide the real error)."""

    def callback() -> None:
        func(*args)

    callback.__qualname__ = f"after_commit:{getattr(func, '__qualname__', func)}"
    return callback


def _user_id(recipient: Any) -> int:
    if isinstance(recipient, bool):
        raise TypeError("recipient must be a user or a user id")
    if isinstance(recipient, int):
        return recipient
    pk = getattr(recipient, "pk", None)
    if pk is None:
        raise TypeError(f"recipient must be a saved user or a user id, not {recipient!r}")
    return int(pk)


def _clean_link(link: str) -> str:
    link = (link or "").strip()
    if not link:
        return ""
    if len(link) > LINK_MAX:
        raise ValueError("notification link is too long")
    if link.startswith("/") and not link.startswith("//"):
        return link
    if link.startswith(("https://", "http://")):
        return link
    raise ValueError(f"notification link must be a site path or an http(s) URL: {link!r}")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notify(
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    school: School | int | None = None,
    channels: Sequence[str] = ("inapp",),
) -> list[Notification]:
    """Create one notification per distinct recipient and deliver it after commit.

    ``recipients``: users or user ids. ``channels``: names from :mod:`schoolbridge.notify.channels`
    ("inapp" pushes live to open sockets; "email" and "sms" enqueue Celery deliveries). The inbox row
    is always written. Returns the created rows (with ids).
    """
    kind = str(kind).strip()
    title = " ".join(str(title).split())
    if not kind or len(kind) > KIND_MAX:
        raise ValueError("notification kind must be 1-40 characters")
    if not title:
        raise ValueError("notification title is required")
    title = _truncate(title, TITLE_MAX)
    link = _clean_link(link)
    selected = [channel_registry.get_channel(name) for name in dict.fromkeys(channels)]

    user_ids = list(dict.fromkeys(_user_id(r) for r in recipients))
    if not user_ids:
        return []

    school_id: int | None
    district_id: int | None = None
    if isinstance(school, School):
        school_id, district_id = school.pk, school.district_id
    elif school is not None:
        school_id = int(school)
        district_id = School.objects.filter(pk=school_id).values_list("district_id", flat=True).first()
        if district_id is None:
            raise ValueError(f"no school with id {school_id}")
    else:
        school_id = None

    now = timezone.now()
    rows = [
        Notification(
            user_id=uid,
            school_id=school_id,
            district_id=district_id,
            kind=kind,
            title=title,
            body=str(body or ""),
            link=link,
            created_at=now,
        )
        for uid in user_ids
    ]
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows, batch_size=BATCH)
        if any(n.pk is None for n in created):  # databases that cannot return ids from bulk inserts
            created = list(
                Notification.objects.filter(user_id__in=user_ids, created_at=now, kind=kind, title=title)
            )
        for channel in selected:
            transaction.on_commit(_after_commit(channel.deliver, list(created)), robust=True)
    return created


def mark_read(user: Any, ids: Iterable[int]) -> int:
    """Mark the user's own notifications with these ids read. Others' ids are ignored. Returns the count."""
    wanted = sorted({int(i) for i in ids})
    if not wanted or not getattr(user, "is_authenticated", False):
        return 0
    with transaction.atomic():
        changed = Notification.objects.filter(user=user, pk__in=wanted, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if changed:
            transaction.on_commit(_after_commit(channel_registry.push_unread, [user.pk]), robust=True)
    return changed


def mark_all_read(user: Any) -> int:
    """Mark every unread notification of the user read, in one statement. Returns the count."""
    if not getattr(user, "is_authenticated", False):
        return 0
    with transaction.atomic():
        changed = Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
        if changed:
            transaction.on_commit(_after_commit(channel_registry.push_unread, [user.pk]), robust=True)
    return changed
