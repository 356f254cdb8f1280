"""A grant, in one shape for every kind of role a user can hold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    role: str
    district_id: int
    school_id: int | None = None
    grade_id: int | None = None
    class_id: int | None = None
    subject_id: int | None = None
    student_id: int | None = None
    # District roles: explicit permission to see individual records. Guardian: may_see_records.
    include_records: bool = False
    label: str = ""

    @property
    def key(self) -> str:
        """A stable identifier for the role switcher."""
        parts = [self.role, self.school_id, self.grade_id, self.class_id, self.subject_id, self.student_id]
        return ":".join("" if p is None else str(p) for p in parts)

    @property
    def home_kind(self) -> str:
        """Which home page this grant shows."""
        return {
            "district_admin": "district",
            "district_officer": "district",
            "school_admin": "school",
            "principal": "school",
            "grade_director": "school",
            "head_teacher": "teacher",
            "subject_teacher": "teacher",
            "guardian": "guardian",
            "student": "student",
        }[self.role]
