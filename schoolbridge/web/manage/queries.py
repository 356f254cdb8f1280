"""Reads for the management pages, each bounded by the reader's scope (school.manage / student.manage)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from schoolbridge.access.helpers import NotFound
from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Enrollment, Guardianship, School, Staff, Student


def _managed(user: Any) -> QuerySet[School]:
    return get_scope(user).queryset("school.manage")


def staff_of(user: Any, school: School) -> QuerySet[Staff]:
    """A school's staff, if the user manages the school (else none)."""
    return Staff.objects.filter(school=school, school__in=_managed(user)).select_related("person")


def staff_by_id(user: Any, school: School, pk: Any) -> Staff:
    staff = staff_of(user, school).filter(pk=pk).first()
    if staff is None:
        raise NotFound
    return staff


def _managed_students(user: Any) -> QuerySet[Student]:
    return get_scope(user).queryset("student.manage")


def guardianships_of(user: Any, student: Student) -> QuerySet[Guardianship]:
    return Guardianship.objects.filter(student=student, student__in=_managed_students(user)).select_related(
        "guardian__person"
    )


def guardianship_by_id(user: Any, school: School, pk: Any) -> Guardianship:
    gs = Guardianship.objects.filter(pk=pk, school=school, student__in=_managed_students(user)).first()
    if gs is None:
        raise NotFound
    return gs


def enrollments_of(user: Any, student: Student) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(student=student, student__in=_managed_students(user)).select_related(
        "klass"
    )


def school_has_students(user: Any, school: School) -> bool:
    """Whether a school the user manages has any student at all (no record is read)."""
    return Student.objects.filter(school=school, school__in=_managed(user)).exists()
