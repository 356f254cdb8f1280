"""Celery tasks for notices: the fan-out, scheduled sends and the reminder sweep (beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="schoolbridge.notices.tasks.fan_out_notice", acks_late=True)
def fan_out_notice(notice_id: int) -> int:
    """Deliver a sent notice to every receipt not yet delivered. Safe to run again (and concurrently)."""
    from .actions import deliver_pending

    return deliver_pending(int(notice_id))


@shared_task(name="schoolbridge.notices.tasks.send_due_notices")
def send_due_notices() -> int:
    """Send the scheduled notices whose time has come; restart fan-outs that died half way."""
    from .actions import dispatch_due, undelivered_notice_ids

    sent = dispatch_due()
    for notice_id in undelivered_notice_ids():
        fan_out_notice.delay(notice_id)
    return sent


@shared_task(name="schoolbridge.notices.tasks.sweep_reminders")
def sweep_reminders() -> dict[str, int]:
    from .sweep import run_sweep

    return run_sweep()
