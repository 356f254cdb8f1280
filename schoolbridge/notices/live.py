"""Live progress: a notice's sender watches its counts change over a WebSocket (ws/notices/<id>/)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

CLOSE_FORBIDDEN = 4403


def progress_group(notice_id: int) -> str:
    return f"notice-progress-{int(notice_id)}"


def push_progress(notice_ids: Any) -> None:
    """Tell every open progress page of these notices their current counts (after a commit)."""
    from .queries import totals

    ids = sorted({int(i) for i in notice_ids})
    layer = get_channel_layer()
    if layer is None or not ids:
        return
    events = [(nid, {"type": "notices.progress", "notice": nid, "counts": totals(nid)}) for nid in ids]

    async def _send() -> None:
        for nid, event in events:
            await layer.group_send(progress_group(nid), event)

    async_to_sync(_send)()


@database_sync_to_async
def _may_watch(user: Any, session: Any, notice_id: int) -> bool:
    """The notice's manager, past two-factor when their roles require it (as for every page)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    from schoolbridge.accounts.middleware import needs_two_factor

    from .models import Notice
    from .permissions import can_manage

    notice = Notice.objects.filter(pk=notice_id).first()
    if notice is None or not can_manage(user, notice):
        return False
    if not needs_two_factor(user):
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return bool(device is not None and device.user_id == user.pk and device.confirmed)


class ProgressConsumer(AsyncJsonWebsocketConsumer):
    """Joins the notice's progress group when the user may see its progress; else closes (4403)."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        notice_id = int(self.scope["url_route"]["kwargs"]["notice_id"])
        await self.accept()
        if (
            user is None
            or not getattr(user, "is_authenticated", False)
            or not await _may_watch(user, self.scope.get("session"), notice_id)
        ):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = progress_group(notice_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "welcome", "notice": notice_id})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.group and isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def notices_progress(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "progress", "notice": event["notice"], "counts": event["counts"]})


def after_commit(fn: Any, *args: Any) -> None:
    """Run fn(*args) once the current transaction commits; a failure is logged, never raised."""
    from django.db import transaction

    def run() -> None:
        fn(*args)

    run.__qualname__ = f"after_commit:{getattr(fn, '__qualname__', repr(fn))}"
    transaction.on_commit(run, robust=True)
