"""Live thread pages: ws/messages/<thread id>/.

A participant (or an administrator of the thread's school) joins the group ``thread-<id>`` and gets
``{"type": "message", "id": <message id>}`` whenever a message arrives or a receipt changes; the page
then fetches what changed through the ordinary, access-checked view. Anyone else is closed with 4404
(the same answer for a missing thread), anonymous visitors with 4401.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _may_watch(user: Any, session: Any, thread_id: int) -> bool:
    from schoolbridge.notify.consumers import _may_connect

    from .permissions import visible_threads

    if not _may_connect.func(user, session):  # type: ignore[attr-defined]
        return False
    return visible_threads(user).filter(pk=thread_id).exists()


class ThreadConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        from .actions import thread_group

        user = self.scope.get("user")
        await self.accept()
        if user is None or not getattr(user, "is_authenticated", False):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        thread_id = int(self.scope["url_route"]["kwargs"]["thread_id"])
        if not await _may_watch(user, self.scope.get("session"), thread_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = thread_group(thread_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "ready"})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def thread_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "id": int(event["id"])})
