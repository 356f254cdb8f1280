"""The fixture world every test can stand on: one district, two schools, every kind of role.

School A and school B are built the same way, so that each test can compare "own" with "other".
Each school has grade 7 with classes 1 and 2, and grade 8 with class 1; subjects maths and Chinese.

Users (password for all: WORLD_PASSWORD):
    district_admin, district_officer, district_records (officer with include_records)
    {a,b}_admin (school admin), {a,b}_principal, {a,b}_director (grade 7 director)
    {a,b}_head (head teacher of grade 7 class 1; also teaches maths in it)
    {a,b}_teacher (teaches Chinese in grade 7 class 1 and maths in grade 8 class 1)
    {a,b}_parent (guardian of student 1 in g7c1, records allowed)
    {a,b}_parent_norec (guardian of student 2 in g7c1, records NOT allowed)
    {a,b}_student (student 1 of g7c1 has an account)
    teacher_parent: teaches maths in A g7c2 and is the guardian of a child in B g7c1
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import (
    Class,
    District,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

WORLD_PASSWORD = "Bridge-2026-test"


@dataclass
class SchoolWorld:
    school: School
    year: SchoolYear
    term: Term
    grade7: GradeLevel
    grade8: GradeLevel
    g7c1: Class
    g7c2: Class
    g8c1: Class
    maths: Subject
    chinese: Subject
    students: dict[str, list[Student]] = field(default_factory=dict)  # class key -> students
    users: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    district: District
    a: SchoolWorld
    b: SchoolWorld
    users: dict[str, Any]

    def user(self, name: str) -> Any:
        return self.users[name]


def _user(username: str, phone: str | None = None, hasher_fast: bool = True) -> Any:
    User = get_user_model()
    user = User(username=username, phone=phone)
    user.set_password(WORLD_PASSWORD)
    user.save()
    return user


def _person(district: District, family: str, given: str, user: Any = None, phone: str = "") -> Person:
    return Person.objects.create(district=district, family_name=family, given_name=given, user=user, phone=phone)


def _school(district: District, key: str, counter: list[int], users: dict[str, Any]) -> SchoolWorld:
    today = timezone.localdate()
    school = School.objects.create(district=district, name=f"第{key.upper()}中学", code=f"S{key.upper()}")
    year = SchoolYear.objects.create(
        district=district,
        school=school,
        name=f"{today.year}",
        start_date=today - datetime.timedelta(days=90),
        end_date=today + datetime.timedelta(days=270),
    )
    term = Term.objects.create(
        district=district,
        school=school,
        year=year,
        name="上学期",
        start_date=today - datetime.timedelta(days=90),
        end_date=today + datetime.timedelta(days=60),
    )
    g7 = GradeLevel.objects.create(district=district, school=school, name="七年级", order=7)
    g8 = GradeLevel.objects.create(district=district, school=school, name="八年级", order=8)
    common = {"district": district, "school": school, "year": year}
    g7c1 = Class.objects.create(grade=g7, name="七年级1班", **common)
    g7c2 = Class.objects.create(grade=g7, name="七年级2班", **common)
    g8c1 = Class.objects.create(grade=g8, name="八年级1班", **common)
    maths = Subject.objects.create(district=district, school=school, name="数学", code="MATH")
    chinese = Subject.objects.create(district=district, school=school, name="语文", code="CHN")
    sw = SchoolWorld(school, year, term, g7, g8, g7c1, g7c2, g8c1, maths, chinese)

    def staff(username: str, family: str, given: str) -> Staff:
        u = _user(f"{key}_{username}")
        users[f"{key}_{username}"] = u
        sw.users[username] = u
        p = _person(district, family, given, user=u)
        return Staff.objects.create(district=district, school=school, person=p, staff_number=f"T-{username}")

    head = staff("head", "王", "老师")
    teacher = staff("teacher", "李", "老师")
    staff("admin", "赵", "主任")
    staff("principal", "钱", "校长")
    staff("director", "孙", "年级主任")
    g7c1.head_teacher = head
    g7c1.save(update_fields=["head_teacher"])
    for t, k, s in [(head, g7c1, maths), (teacher, g7c1, chinese), (teacher, g8c1, maths)]:
        TeachingAssignment.objects.create(district=district, school=school, teacher=t, klass=k, subject=s, term=term)
    RoleGrant.objects.create(user=sw.users["admin"], role="school_admin", district=district, school=school)
    RoleGrant.objects.create(user=sw.users["principal"], role="principal", district=district, school=school)
    RoleGrant.objects.create(
        user=sw.users["director"], role="grade_director", district=district, school=school, grade=g7
    )

    for ck, klass in (("g7c1", g7c1), ("g7c2", g7c2), ("g8c1", g8c1)):
        sw.students[ck] = []
        for i in range(1, 4):
            counter[0] += 1
            n = counter[0]
            p = _person(district, "张", f"{key}{ck}{i}")
            st = Student.objects.create(
                district=district,
                school=school,
                person=p,
                student_number=f"{key.upper()}{n:05d}",
                national_id=f"11010120120101{n:04d}",
                health_notes=f"allergy-{n}",
                current_class=klass,
                enrolled_on=year.start_date,
            )
            Enrollment.objects.create(
                district=district, school=school, student=st, klass=klass, start_date=year.start_date
            )
            sw.students[ck].append(st)

    first, second = sw.students["g7c1"][0], sw.students["g7c1"][1]
    for username, child, records in (("parent", first, True), ("parent_norec", second, False)):
        u = _user(f"{key}_{username}", phone=f"139{ord(key):04d}{len(username):04d}")
        users[f"{key}_{username}"] = u
        sw.users[username] = u
        g = Guardian.objects.create(district=district, person=_person(district, "刘", username, user=u))
        Guardianship.objects.create(
            district=district,
            school=school,
            guardian=g,
            student=child,
            relationship="mother",
            is_primary=True,
            may_see_records=records,
        )
    su = _user(f"{key}_student")
    users[f"{key}_student"] = su
    sw.users["student"] = su
    first.person.user = su
    first.person.save(update_fields=["user"])
    return sw


def build_world() -> World:
    district = District.objects.create(name="示范区教育局", code="DEMO")
    users: dict[str, Any] = {}
    counter = [0]
    a = _school(district, "a", counter, users)
    b = _school(district, "b", counter, users)
    for username, role, records in (
        ("district_admin", "district_admin", False),
        ("district_officer", "district_officer", False),
        ("district_records", "district_officer", True),
    ):
        u = _user(username)
        users[username] = u
        RoleGrant.objects.create(user=u, role=role, district=district, include_records=records)

    # A teacher in school A who is also a parent of a child in school B.
    tp = _user("teacher_parent", phone="13900009999")
    users["teacher_parent"] = tp
    person = _person(district, "周", "老师家长", user=tp)
    staff = Staff.objects.create(district=district, school=a.school, person=person, staff_number="T-tp")
    TeachingAssignment.objects.create(
        district=district, school=a.school, teacher=staff, klass=a.g7c2, subject=a.maths, term=a.term
    )
    guardian = Guardian.objects.create(district=district, person=person)
    Guardianship.objects.create(
        district=district,
        school=b.school,
        guardian=guardian,
        student=b.students["g7c1"][2],
        relationship="father",
        may_see_records=True,
    )
    return World(district, a, b, users)
