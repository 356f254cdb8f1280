"""Background work for timetables: proposing cover after staff leave, solving a draft."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="schoolbridge.timetable.tasks.propose_cover", acks_late=True)
def propose_cover(leave_id: int) -> int:
    """Propose substitutes for the published lessons of approved staff leave. Returns how many."""
    from schoolbridge.leave.models import LeaveRequest

    from .actions import propose_substitutions

    leave = LeaveRequest.objects.select_related("staff__person").filter(pk=leave_id).first()
    return len(propose_substitutions(leave)) if leave is not None else 0


@shared_task(name="schoolbridge.timetable.tasks.solve_version")
def solve_version(version_id: int, user_id: int, time_limit: float = 60.0) -> dict[str, Any]:
    """Solve a draft version with the CP-SAT engine and store the result (progress through notify)."""
    from .solving import solve_version as run

    return run(version_id, user_id, time_limit)
