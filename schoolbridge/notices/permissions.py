"""Who may address which audience, derived from the access layer's grants.

* school administrator / principal: the whole school, any grade, any class, selected families
  anywhere in the school, the staff;
* grade director: their grade and its classes, and families in them;
* head teacher / subject teacher: the classes they teach (or lead), and selected families in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class, GradeLevel, School, Student

from .models import AudienceKind, Notice

ADMIN_ROLES = ("school_admin", "principal")


@dataclass
class Reach:
    school_id: int
    whole_school: bool = False
    staff: bool = False
    grade_ids: set[int] = field(default_factory=set)
    class_ids: set[int] = field(default_factory=set)

    @property
    def any(self) -> bool:
        return bool(self.whole_school or self.staff or self.grade_ids or self.class_ids)

    def allows(self, kind: str, target_id: int) -> bool:
        """Whether a single audience row is within reach (families are checked by family_ids)."""
        if kind in (AudienceKind.SCHOOL, AudienceKind.STAFF):
            return target_id == self.school_id and (self.whole_school if kind == AudienceKind.SCHOOL else self.staff)
        if kind == AudienceKind.GRADE:
            return target_id in self.grade_ids
        if kind == AudienceKind.CLASS:
            return target_id in self.class_ids
        return False

    def family_ids(self, student_ids: set[int]) -> set[int]:
        """The given students that are families this sender may select (enrolled, in the sender's classes)."""
        if not student_ids:
            return set()
        qs = Student.objects.filter(pk__in=student_ids, school_id=self.school_id, status=Student.Status.ENROLLED)
        if not self.whole_school:
            qs = qs.filter(current_class_id__in=self.class_ids)
        return set(qs.values_list("pk", flat=True))


def sending_schools(user: Any) -> list[School]:
    """Schools in which the user may send notices, in name order."""
    ids = {
        g.school_id
        for g in get_scope(user).grants_of(*ADMIN_ROLES, "grade_director", "head_teacher", "subject_teacher")
        if g.school_id
    }
    return list(School.objects.filter(pk__in=ids).order_by("name"))


def reach(user: Any, school_id: int) -> Reach:
    """What the user may address in one school."""
    out = Reach(school_id=school_id)
    grades: set[int] = set()
    for g in get_scope(user).grants:
        if g.school_id != school_id:
            continue
        if g.role in ADMIN_ROLES:
            out.whole_school = out.staff = True
        elif g.role == "grade_director" and g.grade_id:
            grades.add(g.grade_id)
        elif g.role in ("head_teacher", "subject_teacher") and g.class_id:
            out.class_ids.add(g.class_id)
    current = Class.objects.filter(
        school_id=school_id, year__start_date__lte=_today(), year__end_date__gte=_today()
    )
    if out.whole_school:
        out.grade_ids = set(GradeLevel.objects.filter(school_id=school_id).values_list("pk", flat=True))
        out.class_ids = set(current.values_list("pk", flat=True))
    elif grades:
        out.grade_ids = grades
        out.class_ids |= set(current.filter(grade_id__in=grades).values_list("pk", flat=True))
    return out


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


def can_manage(user: Any, notice: Notice) -> bool:
    """The author, or a school administrator / principal of the notice's school (progress, edit, withdraw)."""
    if notice.author_id == getattr(user, "pk", None):
        return True
    return any(g.school_id == notice.school_id for g in get_scope(user).grants_of(*ADMIN_ROLES))


def can_edit_library(user: Any, school_id: int) -> bool:
    return any(g.school_id == school_id for g in get_scope(user).grants_of(*ADMIN_ROLES))
