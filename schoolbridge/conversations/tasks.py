"""Periodic work for conversations (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="schoolbridge.conversations.tasks.deliver_deferred")
def deliver_deferred() -> int:
    """Deliver the notifications held back by quiet hours that have now ended. Returns how many."""
    from .actions import deliver_deferred as run

    return run()
