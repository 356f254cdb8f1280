"""Re-importing a changed zip: only what changed is written, and enrollments.csv is skipped only when its
rows cannot mean anything else than at the last import."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from schoolbridge.core.models import (
    District,
    Enrollment,
    Guardianship,
    Person,
    Student,
    TeachingAssignment,
)
from schoolbridge.oneroster.export import export_zip, read_zip_files
from schoolbridge.oneroster.importer import import_zip
from schoolbridge.oneroster.models import SourcedId
from schoolbridge.oneroster.spec import OneRosterFileError

from .zips import Table, edit

pytestmark = pytest.mark.django_db


def without_gradebook(data: bytes) -> bytes:
    """The zip without categories, line items and results (with them, enrollments are always read)."""
    files = read_zip_files(data)
    manifest = files["manifest.csv"].decode()
    for name in ("categories", "lineItems", "results"):
        files.pop(f"{name}.csv", None)
        manifest = manifest.replace(f"file.{name},bulk", f"file.{name},absent")
    files["manifest.csv"] = manifest.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return buf.getvalue()


def at(table: Table, column: str) -> int:
    return table[0].index(column)


def state(district: District) -> tuple[Any, ...]:
    return (
        sorted(
            Enrollment.objects.filter(district=district).values_list("student_id", "klass_id", "end_date")
        ),
        sorted(
            TeachingAssignment.objects.filter(district=district).values_list(
                "teacher_id", "klass_id", "subject_id", "term_id"
            )
        ),
        Guardianship.objects.filter(district=district).count(),
    )


@pytest.fixture
def imported(world: Any) -> tuple[District, bytes]:
    data = without_gradebook(export_zip(world.district))
    target = District.objects.create(name="新区", code="NEW")
    import_zip(target, data)
    return target, data


def student_row_edit(world: Any) -> Callable[[Table], None]:
    student = world.a.students["g7c1"][0]

    def change(table: Table) -> None:
        given, ident = at(table, "givenName"), at(table, "identifier")
        for row in table[1:]:
            if row[ident] == student.student_number:
                row[given] = "改名"
                return
        raise AssertionError("the student is not in users.csv")

    return change


def test_a_changed_users_file_skips_unchanged_enrollments(world: Any, imported: Any) -> None:
    target, data = imported
    before = state(target)
    enrollment_sids = SourcedId.objects.filter(district=target, kind="enrollment").count()
    report = import_zip(target, edit(data, "users.csv", student_row_edit(world)))
    assert report.updated["user"] == 1
    assert report.unchanged["user"] == Person.objects.filter(district=target).count() - 1
    assert report.unchanged["file"] == 1  # enrollments.csv: not read
    assert "enrollment" not in report.unchanged
    assert state(target) == before
    assert SourcedId.objects.filter(district=target, kind="enrollment").count() == enrollment_sids
    number = world.a.students["g7c1"][0].student_number
    assert Student.objects.get(district=target, student_number=number).person.given_name == "改名"
    # The export of the target says what the changed file says.
    again = read_zip_files(export_zip(target))
    assert "改名" in again["users.csv"].decode()


def test_row_by_row_reimport_of_a_changed_file_reads_enrollments(world: Any, imported: Any) -> None:
    target, data = imported
    before = state(target)
    report = import_zip(target, edit(data, "users.csv", student_row_edit(world)), trust_digests=False)
    assert report.updated["user"] == 1
    assert not report.unchanged.get("file")
    assert report.unchanged["enrollment"] >= Enrollment.objects.filter(district=target).count()
    assert state(target) == before


def test_a_changed_roles_file_reads_enrollments(imported: Any) -> None:
    target, data = imported

    def later_begin(table: Table) -> None:
        role, begin = at(table, "role"), at(table, "beginDate")
        for row in table[1:]:
            if row[role] == "student":
                row[begin] = "2020-09-01"
                return
        raise AssertionError("no student role")

    report = import_zip(target, edit(data, "roles.csv", later_begin))
    assert not report.unchanged.get("file")
    assert report.unchanged["enrollment"] > 0
    assert report.updated["user"] == 1  # the user's roles are part of its fingerprint


def test_a_person_deleted_since_is_recreated_with_its_enrollment(world: Any, imported: Any) -> None:
    """A new primary key for a sourcedId: enrollments.csv must be read again even if it did not change."""
    target, data = imported
    number = world.a.students["g7c1"][0].student_number
    student = Student.objects.get(district=target, student_number=number)
    klass = Enrollment.objects.get(student=student, end_date=None).klass_id
    person, old_pk = student.person, student.pk
    Enrollment.objects.filter(student=student).delete()
    Guardianship.objects.filter(student=student).delete()
    student.delete()
    person.delete()
    report = import_zip(target, edit(data, "users.csv", student_row_edit(world)))
    assert report.created["user"] == 1
    assert not report.unchanged.get("file")
    again = Student.objects.get(district=target, student_number=number)
    assert again.pk != old_pk
    assert Enrollment.objects.get(student=again, end_date=None).klass_id == klass
    assert again.current_class_id == klass
    assert Guardianship.objects.filter(student=again).exists()


def test_a_role_of_a_user_missing_from_users_is_located(world: Any, imported: Any) -> None:
    target, data = imported
    number = world.a.students["g7c1"][0].student_number
    files = read_zip_files(data)
    users = list(csv.reader(io.StringIO(files["users.csv"].decode())))
    sid = next(row[0] for row in users[1:] if row[users[0].index("identifier")] == number)
    roles = list(csv.reader(io.StringIO(files["roles.csv"].decode())))
    line = next(n for n, row in enumerate(roles, start=1) if row[roles[0].index("userSourcedId")] == sid)

    def drop(table: Table) -> None:
        table[:] = [row for row in table if row[0] != sid]

    # The roles error stops the import before its enrollments and agents are read.
    changed = edit(data, "users.csv", drop)
    with pytest.raises(OneRosterFileError) as info:
        import_zip(target, changed)
    errors = [e.as_dict() for e in info.value.errors]
    assert errors == [
        {
            "file": "roles.csv",
            "line": line,
            "column": "userSourcedId",
            "value": sid,
            "message": "refers to no user in this zip (dangling sourcedId)",
        }
    ]


def test_a_moved_teacher_updates_the_assignment(world: Any, imported: Any) -> None:
    """A scheduled class's teacher enrollment names another teacher: the same assignment is moved."""
    target, data = imported
    assignments = TeachingAssignment.objects.filter(district=target).count()
    files = read_zip_files(data)
    users = list(csv.reader(io.StringIO(files["users.csv"].decode())))
    roles = list(csv.reader(io.StringIO(files["roles.csv"].decode())))
    classes = list(csv.reader(io.StringIO(files["classes.csv"].decode())))
    enrollments = list(csv.reader(io.StringIO(files["enrollments.csv"].decode())))
    e_head = enrollments[0]
    scheduled = {r[0]: r[classes[0].index("schoolSourcedId")] for r in classes[1:] if "scheduled" in r}
    teacher_row = next(
        r for r in enrollments[1:] if r[e_head.index("classSourcedId")] in scheduled and "teacher" in r
    )
    school = scheduled[teacher_row[e_head.index("classSourcedId")]]
    current = teacher_row[e_head.index("userSourcedId")]
    teachers_there = {
        r[roles[0].index("userSourcedId")]
        for r in roles[1:]
        if r[roles[0].index("role")] not in ("student", "parent", "guardian", "relative")
        and r[roles[0].index("orgSourcedId")] == school
    }
    other = sorted(teachers_there - {current} & {r[0] for r in users[1:]})[0]

    def move(table: Table) -> None:
        for row in table[1:]:
            if row[0] == teacher_row[0]:
                row[e_head.index("userSourcedId")] = other

    report = import_zip(target, edit(data, "enrollments.csv", move))
    assert report.updated["teachingAssignment"] + report.created["teachingAssignment"] == 1
    assert TeachingAssignment.objects.filter(district=target).count() in (assignments, assignments + 1)
    sid = SourcedId.objects.get(district=target, kind="assignment", sourced_id=teacher_row[0])
    ta = TeachingAssignment.objects.get(pk=int(sid.key))
    assert ta.teacher.person_id == int(
        SourcedId.objects.get(district=target, kind="person", sourced_id=other).key
    )


def test_new_keys_never_reuse_those_of_deleted_rows() -> None:
    """The import allocates its keys up front; a deleted row's key (the highest one here) is not given
    again, or a re-created student would pass for the deleted one."""
    from schoolbridge.oneroster.fastsql import Inserter

    District.objects.create(name="甲区", code="A1")
    last = District.objects.create(name="乙区", code="A2")
    gone = last.pk
    last.delete()
    assert Inserter().ids(District, 2)[0] > gone
    assert District.objects.create(name="丙区", code="A3").pk > gone
