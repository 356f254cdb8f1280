"""Who may do what with grades, derived from the grants of access.scope.

* enter scores for a class and subject: a teacher of that subject in that class (a subject_teacher
  grant with the class and subject), the class's head teacher, or a school administrator;
* correct a published score and write report comments: the class's head teacher or a school administrator;
* create and publish assessments, change the school's grades settings: a school administrator, or
  (create and publish only) the grade director of the assessment's grade;
* see statistics: staff whose class.aggregate reaches the class (guardian and student grants excluded:
  they get the child page instead).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from schoolbridge.access.scope import Scope, get_scope
from schoolbridge.core.models import Class, GradeLevel

from .models import Assessment

STAFF_ROLES = (
    "district_admin",
    "district_officer",
    "school_admin",
    "principal",
    "grade_director",
    "head_teacher",
    "subject_teacher",
)


def staff_scope(user: Any) -> Scope:
    scope = get_scope(user)
    return Scope(user, tuple(scope.grants_of(*STAFF_ROLES)))


def is_school_admin(user: Any, school_id: int) -> bool:
    return any(g.school_id == school_id for g in get_scope(user).grants_of("school_admin"))


def is_head_teacher(user: Any, class_id: int) -> bool:
    return any(g.class_id == class_id for g in get_scope(user).grants_of("head_teacher"))


def may_enter(user: Any, klass: Class, subject_id: int) -> bool:
    scope = get_scope(user)
    if any(g.class_id == klass.pk and g.subject_id == subject_id for g in scope.grants_of("subject_teacher")):
        return True
    return is_head_teacher(user, klass.pk) or is_school_admin(user, klass.school_id)


def may_correct(user: Any, klass_id: int, school_id: int) -> bool:
    return is_head_teacher(user, klass_id) or is_school_admin(user, school_id)


def may_manage(user: Any, school_id: int, grade_id: int) -> bool:
    """Create and publish assessments of this grade."""
    scope = get_scope(user)
    if is_school_admin(user, school_id):
        return True
    return any(g.school_id == school_id and g.grade_id == grade_id for g in scope.grants_of("grade_director"))


def visible_classes(user: Any, assessment: Assessment) -> QuerySet[Class]:
    """Classes of the assessment's grade whose statistics the user may see."""
    return (
        staff_scope(user)
        .queryset("class.aggregate")
        .filter(school_id=assessment.school_id, grade_id=assessment.grade_id)
        .order_by("name", "id")
    )


def sees_whole_grade(user: Any, assessment: Assessment) -> bool:
    """Grade statistics: school-wide and grade roles (not a teacher of single classes)."""
    scope = get_scope(user)
    for g in scope.grants_of("school_admin", "principal"):
        if g.school_id == assessment.school_id:
            return True
    for g in scope.grants_of("grade_director"):
        if g.school_id == assessment.school_id and g.grade_id == assessment.grade_id:
            return True
    return any(
        g.district_id == assessment.district_id for g in scope.grants_of("district_admin", "district_officer")
    )


def visible_assessments(user: Any) -> QuerySet[Assessment]:
    """Assessments the user works with as staff: those of schools they run, of grades they direct,
    and of the grades of classes they teach or head."""
    scope = get_scope(user)
    q: Q | None = None

    def add(part: Q) -> None:
        nonlocal q
        q = part if q is None else q | part

    for g in scope.grants_of("district_admin", "district_officer"):
        add(Q(district_id=g.district_id))
    for g in scope.grants_of("school_admin", "principal"):
        add(Q(school_id=g.school_id))
    for g in scope.grants_of("grade_director"):
        add(Q(school_id=g.school_id, grade_id=g.grade_id))
    class_ids = [g.class_id for g in scope.grants_of("head_teacher", "subject_teacher") if g.class_id]
    if class_ids:
        add(Q(grade_id__in=Class.objects.filter(pk__in=class_ids).values("grade_id")))
    if q is None:
        return Assessment.objects.none()
    return Assessment.objects.filter(q)


def manageable_grades(user: Any) -> QuerySet[GradeLevel]:
    """Grades whose assessments the user may create: every grade of the schools they administer and
    the grades they direct."""
    scope = get_scope(user)
    q: Q | None = None
    admin_schools = [g.school_id for g in scope.grants_of("school_admin") if g.school_id]
    if admin_schools:
        q = Q(school_id__in=admin_schools)
    for g in scope.grants_of("grade_director"):
        if g.school_id and g.grade_id:
            part = Q(school_id=g.school_id, pk=g.grade_id)
            q = part if q is None else q | part
    if q is None:
        return GradeLevel.objects.none()
    return GradeLevel.objects.filter(q)
