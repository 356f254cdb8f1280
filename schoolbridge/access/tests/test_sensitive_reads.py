"""access.helpers.read_sensitive: the only way to a sensitive field's clear value, and every read is logged."""

from __future__ import annotations

import pytest

from schoolbridge.access.helpers import SENSITIVE_FIELDS, NotFound, read_sensitive
from schoolbridge.audit.models import SensitiveRead


def test_a_read_returns_the_value_and_logs_who_what_and_how(world):
    head = world.user("a_head")
    child = world.a.students["g7c1"][0]
    value = read_sensitive(head, child, "national_id", via="api")
    assert value == child.national_id and value.startswith("110101")
    (row,) = SensitiveRead.objects.all()
    assert row.actor == head
    assert row.student == child
    assert row.field == "national_id"
    assert row.via == "api"
    assert row.school_id == world.a.school.pk
    assert row.district_id == world.district.pk
    assert row.at is not None


def test_every_read_is_a_row_of_its_own(world):
    admin = world.user("a_admin")
    child = world.a.students["g8c1"][1]
    for field in SENSITIVE_FIELDS:
        read_sensitive(admin, child, field)
    read_sensitive(admin, child, "health_notes")
    rows = list(SensitiveRead.objects.filter(student=child).order_by("id").values_list("field", "via"))
    assert rows == [("national_id", "web"), ("health_notes", "web"), ("health_notes", "web")]


def test_a_guardian_with_records_reads_their_own_childs_notes(world):
    parent = world.user("a_parent")
    child = world.a.students["g7c1"][0]
    assert read_sensitive(parent, child, "health_notes") == child.health_notes
    assert SensitiveRead.objects.filter(actor=parent, student=child, field="health_notes").count() == 1


@pytest.mark.parametrize(
    "username,school,klass,index",
    [
        ("a_teacher", "a", "g7c1", 0),  # teaches the class, but no sensitive fields for subject teachers
        ("a_director", "a", "g7c1", 0),  # grade director: records and contacts, not sensitive fields
        ("a_head", "a", "g7c2", 0),  # another class
        ("b_admin", "a", "g7c1", 0),  # another school
        ("a_parent", "a", "g7c1", 1),  # another family's child
        ("a_parent_norec", "a", "g7c1", 1),  # own child, but the guardianship excludes records
        ("a_student", "a", "g7c1", 0),  # themself: the school keeps these from the student account
        ("district_records", "a", "g7c1", 0),  # district records do not include sensitive fields
    ],
)
def test_out_of_scope_reads_are_not_found_and_not_logged(world, username, school, klass, index):
    child = getattr(world, school).students[klass][index]
    with pytest.raises(NotFound):
        read_sensitive(world.user(username), child, "national_id")
    assert not SensitiveRead.objects.exists()


def test_only_sensitive_fields_go_through_read_sensitive(world):
    with pytest.raises(ValueError):
        read_sensitive(world.user("a_admin"), world.a.students["g7c1"][0], "student_number")
    assert not SensitiveRead.objects.exists()


def test_anonymous_reads_are_not_found(world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotFound):
        read_sensitive(AnonymousUser(), world.a.students["g7c1"][0], "health_notes")
    assert not SensitiveRead.objects.exists()
