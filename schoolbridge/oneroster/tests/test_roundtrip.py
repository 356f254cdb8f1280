"""CSV export → import into an empty district → export again gives the same files."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from schoolbridge.core.models import Class, District, Enrollment, Guardianship, Student, TeachingAssignment
from schoolbridge.grades.models import Assessment, AssessmentSubject, Score
from schoolbridge.oneroster import spec
from schoolbridge.oneroster.export import export_zip, read_zip_files
from schoolbridge.oneroster.importer import import_zip
from schoolbridge.oneroster.models import SourcedId

pytestmark = pytest.mark.django_db


def add_gradebook(world: Any) -> None:
    a = world.a
    exam = Assessment.objects.create(
        district=world.district,
        school=a.school,
        term=a.term,
        grade=a.grade7,
        name="期中考试",
        kind="midterm",
        date=a.term.start_date,
    )
    maths = AssessmentSubject.objects.create(
        district=world.district, school=a.school, assessment=exam, subject=a.maths
    )
    s1, s2, s3 = world.a.students["g7c1"]
    Score.objects.create(
        district=world.district,
        school=a.school,
        assessment_subject=maths,
        student=s1,
        klass=a.g7c1,
        value=Decimal("95.5"),
    )
    Score.objects.create(
        district=world.district,
        school=a.school,
        assessment_subject=maths,
        student=s2,
        klass=a.g7c1,
        marker="absent",
    )
    Score.objects.create(
        district=world.district,
        school=a.school,
        assessment_subject=maths,
        student=s3,
        klass=a.g7c1,
        value=Decimal("104"),
    )


def rows(files: dict[str, bytes], name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[f"{name}.csv"].decode())))


def test_export_has_spec_headers_and_manifest(world: Any) -> None:
    files = read_zip_files(export_zip(world.district))
    for name, header in spec.HEADERS.items():
        if name == "userProfiles":
            continue
        first = files[f"{name}.csv"].decode().splitlines()[0]
        assert first == ",".join(header), name
    manifest = dict(csv.reader(io.StringIO(files["manifest.csv"].decode())))
    assert manifest["manifest.version"] == "1.0"
    assert manifest["oneroster.version"] == "1.2"
    assert manifest["file.users"] == "bulk"
    assert manifest["file.resources"] == "absent"


def test_export_maps_the_world(world: Any) -> None:
    add_gradebook(world)
    files = read_zip_files(export_zip(world.district))
    orgs = rows(files, "orgs")
    assert sorted(o["type"] for o in orgs) == ["district", "school", "school"]
    classes = rows(files, "classes")
    assert sum(c["classType"] == "homeroom" for c in classes) == 6
    # World: maths + Chinese in A g7c1, maths in A g8c1, maths in A g7c2 (teacher_parent), same in B minus g7c2.
    assert sum(c["classType"] == "scheduled" for c in classes) == 7
    roles = rows(files, "roles")
    assert {r["role"] for r in roles} == {"student", "teacher", "parent"}
    users = {u["sourcedId"]: u for u in rows(files, "users")}
    student = Student.objects.get(pk=world.a.students["g7c1"][0].pk)
    sid = SourcedId.objects.get(kind="person", key=str(student.person_id)).sourced_id
    assert users[sid]["identifier"] == student.student_number
    assert users[sid]["grades"] == "07"
    assert users[sid]["agentSourcedIds"]  # the guardian
    results = rows(files, "results")
    assert sorted(r["scoreStatus"] for r in results) == ["fully graded", "fully graded", "not submitted"]
    assert "104.00" in {r["score"] for r in results}  # extra credit above resultValueMax
    items = rows(files, "lineItems")
    assert [i["resultValueMax"] for i in items] == ["100.00", "100.00"]  # maths in g7c1 and g7c2


def test_sourced_ids_are_stable_across_exports(world: Any) -> None:
    first = export_zip(world.district)
    second = export_zip(world.district)
    assert first == second


@pytest.mark.django_db(transaction=True)
def test_round_trip_into_an_empty_database(live_world: Any) -> None:
    """Committed data, so that the database can really be emptied (flushed) before the import."""
    world = live_world
    add_gradebook(world)
    original = export_zip(world.district)
    call_command("flush", interactive=False, verbosity=0)
    assert not District.objects.exists()
    report = import_zip(None, original)
    empty = District.objects.get()
    assert (empty.code, empty.name) == ("DEMO", "示范区教育局")
    assert report.created["student"] == 18
    assert Enrollment.objects.filter(district=empty).count() == 18
    assert TeachingAssignment.objects.filter(district=empty).count() == 7
    assert Guardianship.objects.filter(district=empty).count() == 5
    assert Class.objects.get(district=empty, name="七年级1班", school__code="SA").head_teacher is not None
    assert Score.objects.filter(district=empty).count() == 3
    again = export_zip(empty)
    a, b = read_zip_files(original), read_zip_files(again)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name


def test_reimport_of_unchanged_zip_writes_nothing_new(world: Any) -> None:
    data = export_zip(world.district)
    empty = District.objects.create(name="新区", code="NEW")
    import_zip(empty, data)
    before = Enrollment.objects.filter(district=empty).count(), Student.objects.filter(district=empty).count()
    same_files = import_zip(empty, data)
    assert same_files.unchanged["file"] == 12  # eleven data files and the manifest, by digest
    assert not same_files.created.get("user")
    rows = import_zip(empty, data, trust_digests=False)  # the row-by-row path
    assert rows.created.get("user", 0) == 0
    assert rows.unchanged["user"] == 33
    assert rows.created.get("enrollment", 0) == 0
    assert rows.unchanged["enrollment"] > 18
    after = Enrollment.objects.filter(district=empty).count(), Student.objects.filter(district=empty).count()
    assert before == after
    again = read_zip_files(export_zip(empty))
    original = read_zip_files(data)
    assert again.pop("orgs.csv") != original.pop("orgs.csv")  # the district itself is another one
    assert again == original


def test_changed_row_is_applied_on_reimport(world: Any) -> None:
    data = export_zip(world.district)
    empty = District.objects.create(name="新区", code="NEW")
    import_zip(empty, data)
    files = read_zip_files(data)
    users = files["users.csv"].decode()
    student = world.a.students["g7c1"][0]
    files["users.csv"] = users.replace(f",{student.person.given_name},", ",改名,").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    report = import_zip(empty, buf.getvalue())
    assert report.updated["user"] == 1
    assert (
        Student.objects.get(district=empty, student_number=student.student_number).person.given_name == "改名"
    )
