from channels.generic.websocket import AsyncJsonWebsocketConsumer


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Placeholder: replaced by the real consumer (per-user group, catch-up from last id)."""

    async def connect(self) -> None:
        await self.close()
