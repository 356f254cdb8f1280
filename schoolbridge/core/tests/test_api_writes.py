"""POST /students: creation through core.actions, field errors and the duplicate-number conflict."""

from __future__ import annotations

import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.models import Enrollment, Person, Student


@pytest.fixture
def admin(client, world):
    return ApiClient(client, token_for(world.user("a_admin")))


def payload(world, **extra):
    data = {
        "school": world.a.school.pk,
        "family_name": "陈",
        "given_name": "小明",
        "student_number": "A-NEW-1",
        "gender": "M",
        "birth_date": "2013-05-01",
        "class_id": world.a.g7c2.pk,
        "national_id": "110101201305010011",
    }
    data.update(extra)
    return data


def test_create_student(admin, world):
    r = admin.post("/students", payload(world))
    assert r.status_code == 201, r.data
    student = Student.objects.get(student_number="A-NEW-1")
    assert r["Location"].endswith(f"/api/v1/students/{student.pk}")
    assert r.data["id"] == student.pk
    assert r.data["current_class"] == {"id": world.a.g7c2.pk, "name": world.a.g7c2.name}
    assert "110101201305010011" not in r.content.decode()
    assert student.national_id == "110101201305010011"
    assert Enrollment.objects.filter(student=student, klass=world.a.g7c2, end_date__isnull=True).exists()
    assert AuditEvent.objects.filter(action="core.student.create", object_id=str(student.pk)).exists()
    # And it is readable at once.
    assert admin.get(f"/students/{student.pk}").status_code == 200


def test_field_errors_write_nothing(admin, world):
    before = (Student.objects.count(), Person.objects.count())
    r = admin.post("/students", payload(world, family_name="", birth_date="2999-01-01", email="not-an-email"))
    assert r.status_code == 422
    fields = r.data["error"]["fields"]
    assert r.data["error"]["code"] == "validation_error"
    assert {"family_name", "birth_date", "email"} <= set(fields)
    assert (Student.objects.count(), Person.objects.count()) == before


def test_type_errors_name_the_field(admin, world):
    r = admin.post("/students", payload(world, birth_date="yesterday", gender="Q"))
    assert r.status_code == 422
    assert set(r.data["error"]["fields"]) == {"birth_date", "gender"}
    r = admin.post("/students", {"school": world.a.school.pk})
    assert {"family_name", "given_name", "student_number"} <= set(r.data["error"]["fields"])


def test_duplicate_student_number_is_a_conflict(admin, world):
    taken = world.b.students["g7c1"][0].student_number  # unique across the district, not just the school
    before = Student.objects.count()
    r = admin.post("/students", payload(world, student_number=taken))
    assert r.status_code == 409
    assert r.data["error"]["code"] == "conflict"
    assert taken in r.data["error"]["fields"]["student_number"][0]
    assert Student.objects.count() == before


def test_duplicate_with_other_errors_is_a_validation_error(admin, world):
    taken = world.a.students["g7c1"][0].student_number
    r = admin.post("/students", payload(world, student_number=taken, given_name=""))
    assert r.status_code == 422
    assert {"student_number", "given_name"} <= set(r.data["error"]["fields"])


def test_other_school_and_foreign_class_are_field_errors(admin, world):
    r = admin.post("/students", payload(world, school=world.b.school.pk))
    missing = admin.post("/students", payload(world, school=987654))
    assert r.status_code == missing.status_code == 422
    assert r.content == missing.content
    assert list(r.data["error"]["fields"]) == ["school"]
    r = admin.post("/students", payload(world, class_id=world.b.g7c1.pk))
    assert list(r.data["error"]["fields"]) == ["class_id"]


@pytest.mark.parametrize("username", ["a_head", "a_parent", "district_officer", "district_admin"])
def test_non_managers_are_forbidden(client, world, username):
    r = ApiClient(client, token_for(world.user(username))).post("/students", payload(world))
    assert r.status_code == 403
    assert r.data["error"]["code"] == "forbidden"
    assert not Student.objects.filter(student_number="A-NEW-1").exists()
