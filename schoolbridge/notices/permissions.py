"""Who may address which audience, derived from the access layer's grants.

* school administrator / principal: the whole school, any grade, any class, selected families
  anywhere in the school, the staff;
* grade director: their grade and its classes, and families in them;
* head teacher / subject teacher: the classes they teach (or lead), and selected families in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class, GradeLevel, Guardianship, School, Student, Subject

from .models import AudienceKind, Notice, NoticeGroup

ADMIN_ROLES = ("school_admin", "principal")


@dataclass
class Reach:
    school_id: int
    whole_school: bool = False
    staff: bool = False
    grade_ids: set[int] = field(default_factory=set)
    class_ids: set[int] = field(default_factory=set)
    staff_grade_ids: set[int] = field(default_factory=set)  # grades whose teachers may be addressed

    @property
    def any(self) -> bool:
        return bool(
            self.whole_school or self.staff or self.grade_ids or self.class_ids or self.staff_grade_ids
        )

    def allows(self, kind: str, target_id: int) -> bool:
        """Whether a single audience row is within reach (families are checked by family_ids)."""
        if kind in (AudienceKind.SCHOOL, AudienceKind.STAFF):
            return target_id == self.school_id and (
                self.whole_school if kind == AudienceKind.SCHOOL else self.staff
            )
        if kind == AudienceKind.STAFF_HEADS:
            return target_id == self.school_id and self.staff
        if kind == AudienceKind.STAFF_GRADE:
            return target_id in self.staff_grade_ids
        if kind == AudienceKind.STAFF_SUBJECT:
            return self.staff and Subject.objects.filter(pk=target_id, school_id=self.school_id).exists()
        if kind == AudienceKind.GRADE:
            return target_id in self.grade_ids
        if kind == AudienceKind.CLASS:
            return target_id in self.class_ids
        return False

    def family_ids(self, student_ids: set[int]) -> set[int]:
        """The given students that are families this sender may select (enrolled, in the sender's classes)."""
        if not student_ids:
            return set()
        qs = Student.objects.filter(
            pk__in=student_ids, school_id=self.school_id, status=Student.Status.ENROLLED
        )
        if not self.whole_school:
            qs = qs.filter(current_class_id__in=self.class_ids)
        return set(qs.values_list("pk", flat=True))

    def student_q(self, prefix: str = "") -> Q:
        """Students (families) within reach, as a filter on a model reaching Student through ``prefix``."""
        q = Q(**{f"{prefix}school_id": self.school_id, f"{prefix}status": Student.Status.ENROLLED})
        if not self.whole_school:
            q &= Q(**{f"{prefix}current_class_id__in": self.class_ids})
        return q

    def guardian_user_ids(self, user_ids: set[int]) -> set[int]:
        """The given accounts that are guardians of at least one family within reach."""
        if not user_ids:
            return set()
        return set(
            Guardianship.objects.filter(self.student_q("student__"), guardian__person__user_id__in=user_ids)
            .values_list("guardian__person__user_id", flat=True)
            .distinct()
        )


def visible_groups(user: Any, school_id: int) -> QuerySet[NoticeGroup]:
    """Custom groups the user may address in a school: their own, and the school's shared groups."""
    return NoticeGroup.objects.filter(
        Q(owner_id=getattr(user, "pk", None) or 0) | Q(shared=True), school_id=school_id
    )


def can_edit_group(user: Any, group: NoticeGroup) -> bool:
    """The owner, or (for a shared group) a school administrator / principal."""
    if group.owner_id == getattr(user, "pk", None):
        return True
    return group.shared and can_edit_library(user, group.school_id)


def members_in_reach(r: Reach, student_ids: set[int], user_ids: set[int]) -> tuple[set[int], set[int]]:
    """(students, guardian accounts) among the given members that are within reach."""
    return r.family_ids(student_ids), r.guardian_user_ids(user_ids)


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
        out.staff_grade_ids = set(out.grade_ids)
    elif grades:
        out.grade_ids = grades
        out.staff_grade_ids = set(grades)
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
