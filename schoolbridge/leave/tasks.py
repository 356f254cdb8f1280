"""Periodic work for leave requests (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="schoolbridge.leave.tasks.remind_overdue_leave")
def remind_overdue_leave() -> int:
    """Remind approvers of leave requests that have waited too long. Returns how many were reminded."""
    from .actions import remind_overdue

    return remind_overdue()
