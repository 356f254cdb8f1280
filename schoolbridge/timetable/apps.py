from typing import Any

from django.apps import AppConfig


def _on_leave_decided(sender: Any, leave: Any, outcome: str, **kwargs: Any) -> None:
    """Approved staff leave: propose substitutes for the teacher's published lessons in the period."""
    if outcome == "approve" and getattr(leave, "staff_id", None):
        from .tasks import propose_cover

        propose_cover.delay(leave.pk)


class TimetableConfig(AppConfig):
    name = "schoolbridge.timetable"
    label = "timetable"

    def ready(self) -> None:
        from schoolbridge.leave.signals import leave_decided

        leave_decided.connect(_on_leave_decided, dispatch_uid="timetable.propose_substitutions")
