"""Delivery channels: where a notification goes once its row is committed.

A channel receives the freshly created rows (after commit) and delivers them:

* ``inapp`` — the row itself is the in-app copy; the channel pushes it to every open socket of the
  user (channel-layer group ``user-<id>``) together with the new unread count;
* ``email`` — enqueues :func:`schoolbridge.notify.tasks.deliver_email` for each recipient with an address;
* ``sms``   — enqueues :func:`schoolbridge.notify.tasks.deliver_sms` for each recipient with a phone.

Other modules may :func:`register` further channels (e.g. a messaging-app adapter).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db.models import Count

from .models import Notification

log = logging.getLogger(__name__)

CHUNK = 500


def user_group(user_id: int) -> str:
    """The channel-layer group that every open socket of this user joins."""
    return f"user-{int(user_id)}"


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Unread notifications per user, in one grouped query per chunk of users."""
    ids = sorted(set(user_ids))
    counts = dict.fromkeys(ids, 0)
    for chunk in _chunks(ids):
        rows = (
            Notification.objects.filter(user_id__in=chunk, read_at__isnull=True)
            .values("user_id")
            .annotate(n=Count("id"))
            .values_list("user_id", "n")
        )
        counts.update(dict(rows))
    return counts


def group_send_many(events: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Send each (user id, event) to that user's group, in one event-loop hop."""
    events = list(events)
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def _send() -> None:
        for user_id, event in events:
            await layer.group_send(user_group(user_id), event)

    async_to_sync(_send)()


def push_unread(user_ids: Iterable[int]) -> None:
    """Tell every socket of these users their current unread count."""
    counts = unread_counts(user_ids)
    group_send_many((uid, {"type": "notify.unread", "count": n}) for uid, n in counts.items())


class Channel:
    """A delivery channel. ``deliver`` runs after the creating transaction committed."""

    name: str = ""

    def deliver(self, notifications: Sequence[Notification]) -> None:
        raise NotImplementedError


class InAppChannel(Channel):
    name = "inapp"

    def deliver(self, notifications: Sequence[Notification]) -> None:
        # One channel-layer message per notification; a user's last one also carries their unread count, so
        # a fan-out to N users costs N messages, not 2N (the consumer sends the two socket frames).
        counts = unread_counts(n.user_id for n in notifications)
        ordered = sorted(notifications, key=lambda n: n.pk)
        last = {n.user_id: n.pk for n in ordered}
        events: list[tuple[int, dict[str, Any]]] = []
        for n in ordered:
            event: dict[str, Any] = {"type": "notify.notification", "notification": n.as_message()}
            if last[n.user_id] == n.pk and n.user_id in counts:
                event["unread"] = counts[n.user_id]
            events.append((n.user_id, event))
        group_send_many(events)


class EmailChannel(Channel):
    name = "email"

    def deliver(self, notifications: Sequence[Notification]) -> None:
        from .tasks import deliver_email

        user_ids = {n.user_id for n in notifications}
        with_address: set[int] = set()
        for chunk in _chunks(sorted(user_ids)):
            with_address.update(
                get_user_model()
                .objects.filter(pk__in=chunk, is_active=True)
                .exclude(email="")
                .values_list("pk", flat=True)
            )
        for n in notifications:
            if n.user_id in with_address:
                deliver_email.delay(n.pk)


class SmsChannel(Channel):
    name = "sms"

    def deliver(self, notifications: Sequence[Notification]) -> None:
        from .tasks import deliver_sms

        user_ids = {n.user_id for n in notifications}
        with_phone: set[int] = set()
        for chunk in _chunks(sorted(user_ids)):
            with_phone.update(
                get_user_model()
                .objects.filter(pk__in=chunk, is_active=True, phone__isnull=False)
                .exclude(phone="")
                .values_list("pk", flat=True)
            )
        for n in notifications:
            if n.user_id in with_phone:
                deliver_sms.delay(n.pk)


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    if not channel.name:
        raise ValueError("a channel needs a name")
    _registry[channel.name] = channel
    return channel


def get_channel(name: str) -> Channel:
    try:
        return _registry[name]
    except KeyError:
        raise ValueError(f"unknown notification channel: {name!r} (known: {', '.join(sorted(_registry))})") from None


def names() -> list[str]:
    return sorted(_registry)


for _channel in (InAppChannel(), EmailChannel(), SmsChannel()):
    register(_channel)
