"""Page cost must not grow with the number of children, classes or schools."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import (
    Class,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    School,
    SchoolYear,
    Staff,
    Student,
    TeachingAssignment,
)
from schoolbridge.notify.models import Notification
from schoolbridge.testing.world import World

from .helpers import english_client

pytestmark = pytest.mark.django_db


def _queries(user: Any, url: str = "/") -> tuple[int, str]:
    client = english_client(user)
    client.get(url)  # warm caches (content types, session) so that only the page itself is measured
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(ctx.captured_queries), response.content.decode()


def _new_user(name: str) -> Any:
    return get_user_model().objects.create_user(name, password="Long-enough-pass-1")


def _guardian_of(world: World, name: str, children: list[Student]) -> Any:
    user = _user_with_person(world, name)
    guardian = Guardian.objects.create(district=world.district, person=user.person)
    for child in children:
        Guardianship.objects.create(
            district=world.district,
            school=child.school,
            guardian=guardian,
            student=child,
            relationship="father",
            may_see_records=True,
        )
        Notification.objects.create(user=user, school=child.school, kind="notice", title=f"About {child.id}")
    return user


def _user_with_person(world: World, name: str) -> Any:
    user = _new_user(name)
    Person.objects.create(district=world.district, family_name="陈", given_name=name, user=user, phone="13700000000")
    return user


def test_guardian_home_same_queries_for_one_or_three_children(world):
    one = _guardian_of(world, "one", [world.a.students["g7c1"][2]])
    three = _guardian_of(
        world, "three", [world.a.students["g7c1"][2], world.a.students["g8c1"][0], world.b.students["g7c2"][1]]
    )
    n1, html1 = _queries(one)
    n3, html3 = _queries(three)
    assert html1.count('class="card child-card"') == 1
    assert html3.count('class="card child-card"') == 3
    assert n1 == n3


def _more_classes(world: World, count: int) -> list[Class]:
    sw = world.a
    classes = [sw.g7c1, sw.g7c2, sw.g8c1]
    for i in range(count - len(classes)):
        classes.append(
            Class.objects.create(
                district=world.district, school=sw.school, year=sw.year, grade=sw.grade8, name=f"八年级{i + 2}班"
            )
        )
    return classes


def _teacher(world: World, name: str, teaches: list[Class], heads: list[Class]) -> Any:
    user = _user_with_person(world, name)
    staff = Staff.objects.create(district=world.district, school=world.a.school, person=user.person, staff_number=name)
    for klass in teaches:
        TeachingAssignment.objects.create(
            district=world.district,
            school=world.a.school,
            teacher=staff,
            klass=klass,
            subject=world.a.maths,
            term=world.a.term,
        )
    for klass in heads:
        klass.head_teacher = staff
        klass.save(update_fields=["head_teacher"])
    return user


def test_teacher_home_same_queries_for_one_or_six_classes(world):
    classes = _more_classes(world, 6)
    one = _teacher(world, "t1", classes[:1], classes[:1])
    six = _teacher(world, "t6", classes, classes[1:4])
    n1, html1 = _queries(one)
    n6, html6 = _queries(six)
    assert html1.count('class="card class-card"') == 1
    assert html6.count('class="card class-card"') == 6
    assert html1.count('class="card roster"') == 1
    assert html6.count('class="card roster"') == 3
    assert n1 == n6


def _add_school(world: World, n: int) -> School:
    today = timezone.localdate()
    d = world.district
    school = School.objects.create(district=d, name=f"第{n}小学", code=f"P{n}")
    year = SchoolYear.objects.create(
        district=d,
        school=school,
        name=str(today.year),
        start_date=today - datetime.timedelta(days=30),
        end_date=today + datetime.timedelta(days=300),
    )
    grade = GradeLevel.objects.create(district=d, school=school, name="一年级", order=1)
    for c in range(2):
        klass = Class.objects.create(district=d, school=school, year=year, grade=grade, name=f"一年级{c + 1}班")
        for i in range(3):
            person = Person.objects.create(district=d, family_name="吴", given_name=f"{n}{c}{i}")
            student = Student.objects.create(
                district=d, school=school, person=person, student_number=f"P{n}{c}{i}", current_class=klass
            )
            Enrollment.objects.create(district=d, school=school, student=student, klass=klass, start_date=year.start_date)
    person = Person.objects.create(district=d, family_name="郑", given_name=f"老师{n}")
    Staff.objects.create(district=d, school=school, person=person, staff_number="T1")
    return school


def test_district_home_same_queries_for_two_or_five_schools(world):
    officer = world.user("district_officer")
    n2, html2 = _queries(officer)
    for n in range(3):
        _add_school(world, n)
    n5, html5 = _queries(officer)
    assert html2.count('<tr><th scope="row">') == 2
    assert html5.count('<tr><th scope="row">') == 5
    assert '<span class="num">36</span><span class="label">Students enrolled' in html5
    assert n2 == n5


def test_school_home_same_queries_for_more_classes(world):
    user = _new_user("director2")
    RoleGrant.objects.create(
        user=user, role="grade_director", district=world.district, school=world.a.school, grade=world.a.grade8
    )
    before, _ = _queries(user)
    _more_classes(world, 8)
    after, html = _queries(user)
    assert '<span class="num">6</span><span class="label">Classes this year' in html
    assert before == after


def test_head_teacher_child_page_fixed_cost(world):
    head = world.user("a_head")
    child = world.a.students["g7c1"][0]
    n_before, _ = _queries(head, f"/children/{child.id}/")
    extra = _guardian_of(world, "extra", [child])
    assert extra
    n_after, html = _queries(head, f"/children/{child.id}/")
    assert html.count('class="tel"') == 2
    assert n_before == n_after
