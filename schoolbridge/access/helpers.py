"""`access_*` helpers: fetch and authorise in one call. Missing and forbidden give the same 404."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import Http404

from schoolbridge.audit.log import record_sensitive_read
from schoolbridge.core.models import Class, School, Student

from .scope import Scope, get_scope

SENSITIVE_FIELDS = ("national_id", "health_notes")


class NotFound(Http404):
    """The uniform 'no such object' for anything out of scope."""


# Primary keys are positive 64-bit integers; anything else is "not found" without asking the database.
_MAX_PK = 2**63 - 1
_PK_TEXT = re.compile(r"[0-9]{1,19}")


def _pk(object_id: Any) -> int | None:
    if isinstance(object_id, bool):
        return None
    if isinstance(object_id, int):
        pk = object_id
    elif isinstance(object_id, str) and _PK_TEXT.fullmatch(object_id):
        pk = int(object_id)
    else:
        return None
    return pk if 0 < pk <= _MAX_PK else None


def _fetch(
    user: Any, capability: str, model: type[Model], object_id: Any, select: tuple[str, ...] = ()
) -> Any:
    pk = _pk(object_id)
    if pk is None:
        # Still resolve the capability, so a programming error (wrong model) fails loudly.
        get_scope(user).queryset(capability, model._default_manager.none())
        raise NotFound
    qs = get_scope(user).queryset(capability, model._default_manager.select_related(*select))
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound
    return obj


def access_student_by_id(user: Any, student_id: Any, capability: str = "student.view") -> Student:
    return _fetch(user, capability, Student, student_id, ("person", "school", "current_class"))


def access_class_by_id(user: Any, class_id: Any, capability: str = "class.aggregate") -> Class:
    return _fetch(user, capability, Class, class_id, ("school", "grade", "year"))


def access_school_by_id(user: Any, school_id: Any, capability: str = "school.aggregate") -> School:
    return _fetch(user, capability, School, school_id, ("district",))


def access_guarded_child_by_id(user: Any, student_id: Any) -> Student:
    """A child the user is a guardian of, by any guardianship (with or without records).

    For what a guardian may always know about their own child (for instance who read the child's
    record), not for the record itself: that needs student.view.
    """
    pk = _pk(student_id)
    children = {g.student_id for g in get_scope(user).grants_of("guardian")}
    if pk is None or pk not in children:
        raise NotFound
    child = Student._default_manager.select_related("person", "school").filter(pk=pk).first()
    if child is None:
        raise NotFound
    return child


def audit_log_schools(user: Any) -> QuerySet[School]:
    """Schools whose audit log the user may read: those they manage (school.manage) and those
    they oversee as school administrator or principal (school.aggregate through those grants)."""
    scope = get_scope(user)
    managed = scope.queryset("school.manage")
    heads = Scope(user, tuple(scope.grants_of("school_admin", "principal")))
    overseen = heads.queryset("school.aggregate")
    if not managed.query.is_empty() or not overseen.query.is_empty():
        return School._default_manager.filter(
            Q(pk__in=managed.values("pk")) | Q(pk__in=overseen.values("pk"))
        )
    return School._default_manager.none()


def can_see_sensitive(user: Any, student: Student) -> bool:
    return get_scope(user).allows("student.sensitive", student)


def read_sensitive(user: Any, student: Student, field: str, via: str = "web") -> str:
    """Return a sensitive field's clear value, logging the read; 404 if the user may not see it."""
    if field not in SENSITIVE_FIELDS:
        raise ValueError(f"{field} is not a sensitive field")
    if not can_see_sensitive(user, student):
        raise NotFound
    record_sensitive_read(user, student, field, via=via)
    return getattr(student, field)


def can_see_guardian_contacts(user: Any, student: Student) -> bool:
    return get_scope(user).allows("guardian.contact", student)
