"""Live notifications over a WebSocket at ws/notifications/.

Protocol (JSON frames):

client → server
    {"type": "hello", "last_id": N}   catch up on everything after N (also: ?last_id=N on connect)
    {"type": "ping"}                  → {"type": "pong"}

server → client
    {"type": "welcome", "user": id, "latest_id": M}   first frame: the user's newest notification id
    {"type": "catchup", "notifications": [...], "more": bool, "last_id": M}
        notifications with id > N, oldest first, at most CATCHUP_LIMIT; when "more" is true the
        client sends another hello with last_id M.
    {"type": "notification", "notification": {...}}   a live push
    {"type": "unread", "count": n}                     after a push, a catch-up, or a read

Only a logged-in user may connect (anonymous sockets are closed with code 4401); an admin role must
also have passed two-factor in that session, as for every page. Every socket of a
user joins the group ``user-<id>``, so every tab and device receives each push.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .channels import user_group
from .models import Notification

CATCHUP_LIMIT = 200
SENT_MEMORY = 2000
CLOSE_UNAUTHENTICATED = 4401


def _parse_last_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return max(number, 0)


@database_sync_to_async
def _catchup(user_id: int, last_id: int, limit: int) -> tuple[list[dict[str, Any]], bool, int]:
    rows = list(Notification.objects.filter(user_id=user_id, pk__gt=last_id).order_by("pk")[: limit + 1])
    more = len(rows) > limit
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
    return [n.as_message() for n in rows[:limit]], more, unread


@database_sync_to_async
def _may_connect(user: Any, session: Any) -> bool:
    """Logged in, and past two-factor when the user's roles require it (as AdminTwoFactorMiddleware)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    from schoolbridge.accounts.middleware import needs_two_factor

    if not needs_two_factor(user):
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return bool(device is not None and device.user_id == user.pk and device.confirmed)


@database_sync_to_async
def _latest_id(user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id).order_by("-pk").values_list("pk", flat=True).first() or 0


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    user_id: int | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if (
            user is None
            or not getattr(user, "is_authenticated", False)
            or not await _may_connect(user, self.scope.get("session"))
        ):
            # Accept-then-close gives browsers a close code they can act on (stop retrying).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = int(user.pk)
        # Ids already sent on this socket: a push racing a catch-up is never sent twice.
        self.sent_ids: set[int] = set()
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "welcome", "user": self.user_id, "latest_id": await _latest_id(self.user_id)})
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        last_id = _parse_last_id((query.get("last_id") or [None])[0])
        if last_id is not None:
            await self.send_catchup(last_id)

    async def disconnect(self, code: int) -> None:
        if self.user_id is not None:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.user_id is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            last_id = _parse_last_id(content.get("last_id", 0))
            if last_id is None:
                await self.send_json({"type": "error", "error": "last_id must be an integer"})
                return
            await self.send_catchup(last_id)
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def send_catchup(self, last_id: int) -> None:
        assert self.user_id is not None
        items, more, unread = await _catchup(self.user_id, last_id, CATCHUP_LIMIT)
        fresh = [item for item in items if item["id"] not in self.sent_ids]
        self._remember(item["id"] for item in fresh)
        newest = items[-1]["id"] if items else last_id
        await self.send_json({"type": "catchup", "notifications": fresh, "more": more, "last_id": newest})
        await self.send_json({"type": "unread", "count": unread})

    def _remember(self, ids: Any) -> None:
        self.sent_ids.update(ids)
        if len(self.sent_ids) > SENT_MEMORY:
            for old in sorted(self.sent_ids)[: len(self.sent_ids) - SENT_MEMORY]:
                self.sent_ids.discard(old)

    # Channel-layer events (sent by notify.channels).
    async def notify_notification(self, event: dict[str, Any]) -> None:
        item = event["notification"]
        if item["id"] not in self.sent_ids:
            self._remember([item["id"]])
            await self.send_json({"type": "notification", "notification": item})
        if "unread" in event:
            await self.send_json({"type": "unread", "count": int(event["unread"])})

    async def notify_unread(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "unread", "count": int(event["count"])})
