"""A user's scope: every grant they hold, loaded once per request in a fixed number of queries."""

from __future__ import annotations

import contextlib
import datetime
from functools import cached_property
from typing import Any

from django.apps import apps
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import Class, Guardianship, Student, TeachingAssignment

from .grants import Grant
from .rules import CAPABILITY_MODELS, RULES, Rule

NOTHING = Q(pk__in=[])


def load_grants(user: Any, today: datetime.date | None = None) -> tuple[Grant, ...]:
    """All grants of a user. Five queries whatever the number of classes or children."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    today = today or timezone.localdate()
    grants: list[Grant] = []
    for rg in (
        RoleGrant.objects.filter(user=user).select_related("school", "grade", "district").order_by("id")
    ):
        school, grade = rg.school, rg.grade
        label = rg.district.name if school is None else school.name
        if school is not None and grade is not None:
            label = f"{school.name} · {grade.name}"
        grants.append(
            Grant(
                role=rg.role,
                district_id=rg.district_id,
                school_id=rg.school_id,
                grade_id=rg.grade_id,
                include_records=rg.include_records,
                label=label,
            )
        )
    for klass in (
        Class.objects.filter(head_teacher__person__user=user, head_teacher__active=True)
        .filter(year__start_date__lte=today, year__end_date__gte=today)
        .select_related("school")
        .order_by("id")
    ):
        grants.append(
            Grant(
                role="head_teacher",
                district_id=klass.district_id,
                school_id=klass.school_id,
                class_id=klass.id,
                label=f"{klass.school.name} · {klass.name}",
            )
        )
    for ta in (
        TeachingAssignment.objects.filter(teacher__person__user=user, teacher__active=True)
        .filter(term__start_date__lte=today, term__end_date__gte=today)
        .select_related("klass", "subject", "school")
        .order_by("klass_id", "subject_id")
    ):
        grants.append(
            Grant(
                role="subject_teacher",
                district_id=ta.district_id,
                school_id=ta.school_id,
                class_id=ta.klass_id,
                subject_id=ta.subject_id,
                label=f"{ta.school.name} · {ta.klass.name} · {ta.subject.name}",
            )
        )
    for gs in (
        Guardianship.objects.filter(guardian__person__user=user)
        .select_related("student__person", "student__school")
        .order_by("student_id")
    ):
        student = gs.student
        grants.append(
            Grant(
                role="guardian",
                district_id=gs.district_id,
                school_id=gs.school_id,
                class_id=student.current_class_id,
                student_id=student.id,
                include_records=gs.may_see_records,
                label=f"{student.person.full_name} · {student.school.name}",
            )
        )
    for student in Student.objects.filter(person__user=user, status=Student.Status.ENROLLED).select_related(
        "school", "person"
    ):
        grants.append(
            Grant(
                role="student",
                district_id=student.district_id,
                school_id=student.school_id,
                class_id=student.current_class_id,
                student_id=student.id,
                label=f"{student.person.full_name} · {student.school.name}",
            )
        )
    return tuple(grants)


class Scope:
    """What one user may see and do: the union, grant by grant, of the rules in access.rules."""

    def __init__(self, user: Any, grants: tuple[Grant, ...], rules: list[Rule] | None = None) -> None:
        self.user = user
        self.grants = grants
        self._rules = RULES if rules is None else rules

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def grants_of(self, *roles: str) -> list[Grant]:
        return [g for g in self.grants if g.role in roles]

    def q(self, capability: str) -> Q:
        if capability not in CAPABILITY_MODELS:
            raise KeyError(f"unknown capability {capability!r}")
        combined: Q | None = None
        for grant in self.grants:
            for rule in self._rules:
                if rule.role != grant.role or rule.capability != capability:
                    continue
                part = rule.filter(grant)
                if part is None:
                    continue
                combined = part if combined is None else combined | part
        return combined if combined is not None else NOTHING

    def allows_any(self, capability: str) -> bool:
        return self.q(capability) is not NOTHING

    def queryset(self, capability: str, base: QuerySet | None = None) -> QuerySet:
        """Rows of the capability's model this user may act on. Always filtered; never all rows."""
        model = apps.get_model(CAPABILITY_MODELS[capability])
        qs = base if base is not None else model._default_manager.all()
        if qs.model is not model:
            raise TypeError(f"{capability} applies to {model.__name__}, not {qs.model.__name__}")
        q = self.q(capability)
        if q is NOTHING:
            return qs.none()
        return qs.filter(q)

    def allows(self, capability: str, obj: Model) -> bool:
        """Whether obj is within this capability. One indexed query (none if no rule applies)."""
        q = self.q(capability)
        if q is NOTHING or obj.pk is None:
            return False
        return type(obj)._default_manager.filter(q, pk=obj.pk).exists()


def get_scope(user: Any) -> Scope:
    """The user's scope, memoised on the user object (so once per request)."""
    cached = getattr(user, "_sb_scope", None)
    if cached is not None:
        return cached
    scope = Scope(user, load_grants(user))
    with contextlib.suppress(AttributeError):  # AnonymousUser is a plain object too, but be safe
        user._sb_scope = scope
    return scope


def forget_scope(user: Any) -> None:
    if hasattr(user, "_sb_scope"):
        del user._sb_scope
