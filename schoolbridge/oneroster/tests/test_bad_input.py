"""Malformed OneRoster files give located errors, and nothing of a failed batch is committed."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from schoolbridge.core.models import District, Person, School
from schoolbridge.oneroster.export import export_zip, read_zip_files
from schoolbridge.oneroster.importer import import_zip
from schoolbridge.oneroster.spec import OneRosterFileError

from .zips import Table, edit

pytestmark = pytest.mark.django_db


def fails(data: bytes) -> list[dict[str, Any]]:
    people, schools = Person.objects.count(), School.objects.count()
    target, _ = District.objects.get_or_create(code="TARGET", defaults={"name": "目标区"})
    with pytest.raises(OneRosterFileError) as info:
        import_zip(target, data)
    assert (Person.objects.count(), School.objects.count()) == (people, schools), "a failed batch wrote rows"
    return [e.as_dict() for e in info.value.errors]


def column(table: Table, name: str) -> int:
    return table[0].index(name)


def test_wrong_header_names_file_line_column_and_value(world: Any) -> None:
    def rename(t: Table) -> None:
        t[0][column(t, "givenName")] = "firstName"

    errors = fails(edit(export_zip(world.district), "users.csv", rename))
    assert errors[0]["file"] == "users.csv"
    assert errors[0]["line"] == 1
    assert errors[0]["column"] == "7"
    assert errors[0]["value"] == "firstName"
    assert "givenName" in errors[0]["message"]


def test_unknown_enum_value(world: Any) -> None:
    def bad(t: Table) -> None:
        t[2][column(t, "classType")] = "lecture"

    errors = fails(edit(export_zip(world.district), "classes.csv", bad))
    assert errors == [
        {
            "file": "classes.csv",
            "line": 3,
            "column": "classType",
            "value": "lecture",
            "message": errors[0]["message"],
        }
    ]
    assert "homeroom" in errors[0]["message"]


def test_extension_enum_values_are_accepted(world: Any) -> None:
    def ext(t: Table) -> None:
        t.append(["x-dept", "", "", "Maths department", "ext:faculty", "", ""])

    import_zip(
        District.objects.create(name="目标区", code="TARGET"),
        edit(export_zip(world.district), "orgs.csv", ext),
    )


def test_dangling_sourced_id_in_enrollments(world: Any) -> None:
    def dangle(t: Table) -> None:
        t[5][column(t, "userSourcedId")] = "no-such-user"

    errors = fails(edit(export_zip(world.district), "enrollments.csv", dangle))
    assert errors[0]["file"] == "enrollments.csv"
    assert errors[0]["line"] == 6
    assert errors[0]["column"] == "userSourcedId"
    assert errors[0]["value"] == "no-such-user"
    assert "dangling" in errors[0]["message"]


def test_dangling_agent(world: Any) -> None:
    def dangle(t: Table) -> None:
        col = column(t, "agentSourcedIds")
        row = next(i for i, r in enumerate(t) if i and r[col])
        t[row][col] = "ghost"

    errors = fails(edit(export_zip(world.district), "users.csv", dangle))
    assert [(e["column"], e["value"]) for e in errors] == [("agentSourcedIds", "ghost")]


def test_bad_date_and_bad_score(world: Any) -> None:
    def bad_date(t: Table) -> None:
        t[1][column(t, "startDate")] = "2026/09/01"

    errors = fails(edit(export_zip(world.district), "academicSessions.csv", bad_date))
    assert (errors[0]["line"], errors[0]["column"], errors[0]["value"]) == (2, "startDate", "2026/09/01")


def test_scheduled_class_across_homerooms_is_refused(world: Any) -> None:
    data = export_zip(world.district)
    files = read_zip_files(data)
    classes = list(csv.DictReader(io.StringIO(files["classes.csv"].decode())))
    sections = [c["sourcedId"] for c in classes if c["classType"] == "scheduled"]

    def mix(t: Table) -> None:
        cls, role, school, user = (
            column(t, n) for n in ("classSourcedId", "role", "schoolSourcedId", "userSourcedId")
        )
        students = [r for r in t[1:] if r[cls] in sections and r[role] == "student"]
        first = students[0]
        members = {r[user] for r in students if r[cls] == first[cls]}
        other = next(r for r in students if r[school] == first[school] and r[user] not in members)
        other[cls] = first[cls]

    errors = fails(edit(data, "enrollments.csv", mix))
    assert any("share one homeroom" in e["message"] for e in errors)


def test_manifest_and_zip_errors(world: Any) -> None:
    def version(t: Table) -> None:
        t[2][1] = "1.1"

    errors = fails(edit(export_zip(world.district), "manifest.csv", version))
    assert errors[0]["file"] == "manifest.csv"
    assert errors[0]["value"] == "1.1"
    errors = fails(b"not a zip")
    assert "not a zip" in errors[0]["message"]


def test_student_needs_an_identifier(world: Any) -> None:
    def blank(t: Table) -> None:
        col = column(t, "identifier")
        row = next(i for i, r in enumerate(t) if r[col].startswith("A0"))
        t[row][col] = ""

    errors = fails(edit(export_zip(world.district), "users.csv", blank))
    assert errors[0]["column"] == "identifier"
    assert "student number" in errors[0]["message"]


def test_duplicate_user_sourced_id(world: Any) -> None:
    def twice(t: Table) -> None:
        t.append(list(t[3]))

    errors = fails(edit(export_zip(world.district), "users.csv", twice))
    assert [(e["column"], e["message"]) for e in errors] == [("sourcedId", "appears twice in users.csv")]


@pytest.mark.parametrize("class_type", ["homeroom", "scheduled"])
def test_a_teacher_enrollment_of_someone_who_is_not_staff_there_is_named(world: Any, class_type: str) -> None:
    """Head teachers of homeroom classes and subject teachers of scheduled classes alike."""
    data = export_zip(world.district)
    classes = list(csv.reader(io.StringIO(read_zip_files(data)["classes.csv"].decode())))
    kind = {row[column(classes, "sourcedId")]: row[column(classes, "classType")] for row in classes[1:]}
    lines: list[int] = []

    def student_as_teacher(t: Table) -> None:
        role, user, klass = column(t, "role"), column(t, "userSourcedId"), column(t, "classSourcedId")
        pupil = next(row[user] for row in t[1:] if row[role] == "student")
        for number, row in enumerate(t[1:], start=2):
            if row[role] == "teacher" and kind[row[klass]] == class_type:
                row[user] = pupil
                lines.append(number)

    errors = fails(edit(data, "enrollments.csv", student_as_teacher))
    assert lines
    assert sorted(e["line"] for e in errors) == lines
    for e in errors:
        assert e["file"] == "enrollments.csv" and e["column"] == "userSourcedId"
        assert e["message"] == "is not a teacher of this class's school in roles.csv"
