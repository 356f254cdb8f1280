"""load_grants reads every source in one SQL query; it must agree with the plain ORM reading."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.access.grants import Grant
from schoolbridge.access.scope import load_grants
from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import Class, Guardianship, Student, TeachingAssignment

pytestmark = pytest.mark.django_db


def reference_grants(user: Any, today: datetime.date) -> tuple[Grant, ...]:
    """The same grants read source by source through the ORM."""
    grants: list[Grant] = []
    for rg in (
        RoleGrant.objects.filter(user=user).select_related("school", "grade", "district").order_by("id")
    ):
        label = rg.district.name if rg.school is None else rg.school.name
        if rg.school is not None and rg.grade is not None:
            label = f"{rg.school.name} · {rg.grade.name}"
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
        grants.append(
            Grant(
                role="guardian",
                district_id=gs.district_id,
                school_id=gs.school_id,
                class_id=gs.student.current_class_id,
                student_id=gs.student_id,
                include_records=gs.may_see_records,
                label=f"{gs.student.person.full_name} · {gs.student.school.name}",
            )
        )
    for student in (
        Student.objects.filter(person__user=user, status=Student.Status.ENROLLED)
        .select_related("school", "person")
        .order_by("id")
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


def test_every_world_user_matches_the_orm_reading(world):
    today = timezone.localdate()
    # A grade director and a district officer with records, so that every label shape occurs.
    RoleGrant.objects.create(
        user=world.user("a_admin"),
        role="grade_director",
        district=world.district,
        school=world.a.school,
        grade=world.a.grade8,
    )
    RoleGrant.objects.create(
        user=world.user("a_admin"), role="district_officer", district=world.district, include_records=True
    )
    seen_roles: set[str] = set()
    for name, user in world.users.items():
        expected = reference_grants(user, today)
        assert load_grants(user, today) == expected, name
        seen_roles.update(g.role for g in expected)
    assert seen_roles >= {
        "school_admin",
        "grade_director",
        "district_officer",
        "head_teacher",
        "subject_teacher",
        "guardian",
        "student",
    }


def test_out_of_date_assignments_and_inactive_staff_give_nothing(world):
    teacher = world.user("a_teacher")
    assert load_grants(teacher)
    far_future = timezone.localdate() + datetime.timedelta(days=3650)
    assert [
        g for g in load_grants(teacher, far_future) if g.role in ("head_teacher", "subject_teacher")
    ] == []
    assert load_grants(teacher, far_future) == reference_grants(teacher, far_future)
    teacher.person.staff_roles.update(active=False)
    assert [g for g in load_grants(teacher) if g.role in ("head_teacher", "subject_teacher")] == []


def test_one_query_and_none_for_inactive_users(world):
    user = world.user("teacher_parent")
    with CaptureQueriesContext(connection) as ctx:
        grants = load_grants(user)
    assert len(ctx.captured_queries) == 1
    assert {g.role for g in grants} == {"subject_teacher", "guardian"}
    user.is_active = False
    assert load_grants(user) == ()
