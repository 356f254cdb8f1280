"""Periodic work for attendance (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="schoolbridge.attendance.tasks.send_absence_alerts")
def send_absence_alerts() -> int:
    """Absence alerts for every school whose alert time has passed today. Returns the students alerted."""
    from .alerts import send_absence_alerts as run

    return run()
