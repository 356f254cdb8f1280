"""The seed command: a realistic district, deterministic for a seed, loaded in bulk."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, F
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.access.scope import get_scope
from schoolbridge.accounts.middleware import needs_two_factor
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.models import (
    Class,
    Enrollment,
    Guardian,
    Guardianship,
    Person,
    Staff,
    Student,
    TeachingAssignment,
    Term,
)
from schoolbridge.core.seeding import (
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    class_sizes,
    cn_number,
    district_digest,
    national_id,
    seed_district,
)


class _Rollback(Exception):
    pass


def _digest(schools: int, students: int, seed: int) -> str:
    """Seed inside a transaction, hash the data, roll everything back."""
    out = ""
    try:
        with transaction.atomic():
            result = seed_district(schools, students, seed)
            out = district_digest(result.district)
            raise _Rollback
    except _Rollback:
        pass
    return out


@pytest.fixture
def district(db: Any) -> Any:
    return seed_district(3, 300, 1).district


@pytest.mark.django_db
def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    first = _digest(2, 90, 7)
    assert first == _digest(2, 90, 7)
    assert first != _digest(2, 90, 8)


def test_school_tree_is_complete_and_current(district: Any) -> None:
    today = timezone.localdate()
    schools = list(district.schools.all())
    assert len(schools) == 3
    for school in schools:
        year = school.years.get()
        assert year.start_date <= today <= year.end_date
        current = Term.objects.filter(school=school, start_date__lte=today, end_date__gte=today)
        assert current.count() == 1
        orders = sorted(school.grade_levels.values_list("order", flat=True))
        assert orders in ([7, 8, 9], [1, 2, 3, 4, 5, 6])
        assert Student.objects.filter(school=school).count() == 300
        assert school.subjects.count() >= 8
        assert school.rooms.filter(kind="classroom").count() == school.classes.count()
    assert {s.name[-2:] for s in schools} == {"中学", "小学"}  # middle and primary schools


def test_class_sizes_between_40_and_50(district: Any) -> None:
    sizes = list(
        Class.objects.filter(district=district)
        .annotate(n=Count("current_students"))
        .values_list("n", flat=True)
    )
    assert sizes and all(40 <= n <= 50 for n in sizes), sizes
    for total in (100, 300, 1400, 2000):
        split = class_sizes(total, random.Random(total))
        assert sum(split) == total and all(40 <= n <= 50 for n in split)


def test_every_student_enrolled_in_their_current_class(district: Any) -> None:
    students = Student.objects.filter(district=district)
    assert not students.exclude(status=Student.Status.ENROLLED).exists()
    assert not students.filter(current_class__isnull=True).exists()
    open_enrollments = Enrollment.objects.filter(district=district, end_date__isnull=True)
    assert open_enrollments.count() == students.count()
    assert not open_enrollments.exclude(klass_id=F("student__current_class_id")).exists()
    numbers = list(students.values_list("student_number", flat=True))
    assert len(numbers) == len(set(numbers))


def test_national_ids_valid_and_encrypted_at_rest(district: Any) -> None:
    student = Student.objects.filter(district=district).order_by("id").first()
    assert student is not None and student.person.birth_date is not None
    nid = student.national_id
    assert len(nid) == 18 and national_id(nid[:6], student.person.birth_date, int(nid[14:17])) == nid
    with connection.cursor() as cur:
        cur.execute("SELECT national_id FROM core_student WHERE id = %s", [student.pk])
        (raw,) = cur.fetchone()
    assert raw and nid not in raw and nid[:6] not in raw


def test_teachers_head_teachers_and_offices(district: Any) -> None:
    for school in district.schools.all():
        classes = list(Class.objects.filter(school=school))
        assert all(c.head_teacher_id for c in classes)
        heads = [c.head_teacher_id for c in classes]
        assert len(heads) == len(set(heads)), "a teacher heads at most one class"
        loads = Counter(TeachingAssignment.objects.filter(school=school).values_list("teacher_id", flat=True))
        assert max(loads.values()) >= 6  # some teach six classes
        assert sum(1 for n in loads.values() if n >= 2) >= len(loads) // 2  # most teach several
        for klass in classes:
            assert TeachingAssignment.objects.filter(klass=klass, subject__code="MATH").count() == 1
        titles = set(Staff.objects.filter(school=school).values_list("title", flat=True))
        assert {"校长", "教务主任"} <= titles


def test_guardians_siblings_share_guardians(district: Any) -> None:
    by_student: dict[int, set[int]] = defaultdict(set)
    primaries: Counter[int] = Counter()
    for gs in Guardianship.objects.filter(district=district):
        by_student[gs.student_id].add(gs.guardian_id)
        primaries[gs.student_id] += gs.is_primary
    students = Student.objects.filter(district=district).count()
    assert len(by_student) == students  # every child has a guardian
    assert all(1 <= len(g) <= 2 for g in by_student.values())
    assert all(primaries[s] == 1 for s in by_student)  # exactly one primary contact
    # siblings: children whose guardians also look after another child, with exactly the same set
    children_of: dict[int, set[int]] = defaultdict(set)
    for student_id, guardians in by_student.items():
        for g in guardians:
            children_of[g].add(student_id)
    shared = {s for s, gs in by_student.items() if any(len(children_of[g]) > 1 for g in gs)}
    assert 0.07 <= len(shared) / students <= 0.13, len(shared) / students
    for s in shared:
        for g in by_student[s]:
            for sibling in children_of[g]:
                assert by_student[sibling] == by_student[s]
    # the sibling has the father's family name
    pair = next(gs for gs in children_of.values() if len(gs) == 2)
    names = set(Person.objects.filter(student__id__in=pair).values_list("family_name", flat=True))
    assert len(names) == 1


def test_phones_unique(district: Any) -> None:
    phones = list(Person.objects.filter(district=district).exclude(phone="").values_list("phone", flat=True))
    guardians = Guardian.objects.filter(district=district).count()
    assert len(phones) >= guardians
    assert len(phones) == len(set(phones))
    assert all(len(p) == 11 and p.startswith("1") for p in phones)


def test_demo_logins_work(district: Any) -> None:
    def login(username: str, password: str) -> Any:
        return authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)

    users = {}
    for username in DEMO_USERNAMES:
        user = login(username, DEMO_PASSWORD)
        assert user is not None, username
        users[username] = user
    assert login("13800000001", DEMO_PASSWORD) == users["demo_parent"]
    assert login("13800000003", DEMO_PASSWORD) == users["demo_teacher"]
    assert login("demo_parent", "wrong-password") is None
    # Everyone else has no account at all.
    assert Person.objects.filter(district=district, user__isnull=False).count() == len(DEMO_USERNAMES)

    parent = get_scope(users["demo_parent"])
    children = parent.grants_of("guardian")
    assert len(children) == 3 and len({g.school_id for g in children}) == 2
    assert len({g.class_id for g in children}) == 3
    teacher = get_scope(users["demo_teacher"])
    assert len({g.class_id for g in teacher.grants_of("subject_teacher")}) == 6
    head = get_scope(users["demo_head"])
    assert len(head.grants_of("head_teacher")) == 1
    head_class = head.grants_of("head_teacher")[0].class_id
    assert head_class in {g.class_id for g in children}  # the demo child is in the demo head's class
    student = get_scope(users["demo_student"])
    assert student.grants_of("student")[0].class_id == head_class
    assert get_scope(users["demo_admin"]).has_role("school_admin")
    assert get_scope(users["demo_principal"]).has_role("principal")
    assert get_scope(users["demo_district"]).has_role("district_officer")
    assert needs_two_factor(users["demo_admin"]) and needs_two_factor(users["demo_principal"])
    assert not needs_two_factor(users["demo_parent"])
    # One password hash shared: hashed once, not once per account.
    assert len({u.password for u in users.values()}) == 1


def test_one_summary_audit_row(district: Any) -> None:
    events = AuditEvent.objects.filter(action="seed.district")
    assert events.count() == 1
    event = events.get()
    assert event.district_id == district.pk and event.after is not None
    assert event.after["counts"]["student"] == 900
    assert AuditEvent.objects.count() == 1  # a bulk load, not 100,000 actions


@pytest.mark.django_db
def test_seeding_is_bulk_bounded_queries() -> None:
    with CaptureQueriesContext(connection) as ctx:
        result = seed_district(2, 100, 3)
    rows = sum(result.counts.values())
    assert result.students == 200
    assert rows > 700
    # one query per row would be > rows; bulk inserts need a small fraction
    assert len(ctx.captured_queries) < rows / 8, (len(ctx.captured_queries), rows)


@pytest.mark.django_db
def test_seed_command_prints_logins_and_refuses_to_seed_twice() -> None:
    out, err = StringIO(), StringIO()
    call_command("seed", schools=2, students_per_school=60, seed=5, stdout=out, stderr=err)
    text = out.getvalue()
    assert DEMO_PASSWORD in text
    for username in DEMO_USERNAMES:
        assert username in text
    assert "two-factor" in text
    assert "school 2/2 · 120 students" in err.getvalue()
    with pytest.raises(CommandError, match="--flush"):
        call_command("seed", schools=1, students_per_school=10, seed=5, stdout=StringIO(), stderr=StringIO())


def test_cn_number() -> None:
    assert [cn_number(n) for n in (1, 10, 12, 20, 45, 100, 105, 112, 150)] == [
        "一", "十", "十二", "二十", "四十五", "一百", "一百零五", "一百一十二", "一百五十"
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_demo_command_seeds_once_and_prints_logins() -> None:
    from schoolbridge.core.models import District

    out = StringIO()
    call_command(
        "demo", no_serve=True, schools=2, students_per_school=50, timetable_seconds=3, stdout=out, stderr=StringIO()
    )
    assert District.objects.count() == 1
    from schoolbridge.timetable.models import TimetableVersion

    # The demo school with an administrator gets a published timetable.
    assert TimetableVersion.objects.filter(status="published").exists()
    assert "demo_parent / 13800000001" in out.getvalue()
    assert "http://127.0.0.1:8000" in out.getvalue()
    from schoolbridge.notify.models import Notification

    welcomed = set(Notification.objects.filter(kind="welcome").values_list("user__username", flat=True))
    assert welcomed == set(DEMO_USERNAMES)  # every demo account finds a first message in its inbox
    again = StringIO()
    call_command("demo", no_serve=True, stdout=again, stderr=StringIO())
    assert District.objects.count() == 1  # not seeded twice
    assert Notification.objects.filter(kind="welcome").count() == len(DEMO_USERNAMES)
    assert "demo_teacher" in again.getvalue() and DEMO_PASSWORD in again.getvalue()
