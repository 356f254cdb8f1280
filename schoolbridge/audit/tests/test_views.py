"""The audit pages: "who viewed my child's record" for guardians, and the school audit log."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from schoolbridge.access.helpers import read_sensitive
from schoolbridge.audit.log import record, record_sensitive_read, snapshot
from schoolbridge.audit.models import AuditEvent, SensitiveRead
from schoolbridge.core.models import Guardianship
from schoolbridge.testing.auth import login_verified

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _get(client, url, **params):
    return client.get(url, params, **EN)


def _as(client, user):
    login_verified(client, user)
    return client


def _text(response) -> str:
    """The page's visible text, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- who viewed my child's record -----------------------------------------------------------------


def test_url_name_and_path():
    assert reverse("audit:child_views", args=[7]) == "/audit/children/7/views/"
    assert reverse("audit:log") == "/audit/log/"


def test_guardian_sees_who_read_what_when_and_how(world, client):
    child = world.a.students["g7c1"][0]
    read_sensitive(world.user("a_head"), child, "national_id", via="web")
    read_sensitive(world.user("a_admin"), child, "health_notes", via="api")
    read_sensitive(world.user("a_parent"), child, "health_notes")
    response = _get(_as(client, world.user("a_parent")), reverse("audit:child_views", args=[child.pk]))
    assert response.status_code == 200
    text = _text(response)
    # Names and roles at the child's school, never usernames.
    assert "王老师" in text and "Head teacher · 第A中学 · 七年级1班" in text
    assert "赵主任" in text and "School administrator · 第A中学" in text
    assert "You" in text
    for username in ("a_head", "a_admin", "a_parent"):
        assert username not in response.content.decode()
    assert "national ID number" in text.lower() or "National ID number" in text
    assert "health notes" in text.lower()
    assert "API" in text and "Website" in text
    # Newest first: the guardian's own read, then the admin's, then the head teacher's.
    assert text.index("You") < text.index("赵主任") < text.index("王老师")
    # The clear values never appear on this page.
    assert child.national_id not in text and child.health_notes not in text


def test_a_guardian_without_records_may_still_see_who_looked(world, client):
    child = world.a.students["g7c1"][1]
    read_sensitive(world.user("a_head"), child, "health_notes")
    response = _get(_as(client, world.user("a_parent_norec")), reverse("audit:child_views", args=[child.pk]))
    assert response.status_code == 200
    assert "王老师" in _text(response)


def test_nobody_has_looked_yet(world, client):
    child = world.a.students["g7c1"][0]
    response = _get(_as(client, world.user("a_parent")), reverse("audit:child_views", args=[child.pk]))
    assert response.status_code == 200
    assert "Nobody has viewed" in _text(response)


def test_readers_are_described_by_their_roles_for_this_child_only(world, client):
    """teacher_parent teaches in school A; to another guardian of their child in B they are a guardian."""
    child = world.b.students["g7c1"][2]
    Guardianship.objects.create(
        district=world.district,
        school=world.b.school,
        guardian=world.user("b_parent_norec").person.guardian,
        student=child,
        relationship="mother",
        may_see_records=False,
    )
    read_sensitive(world.user("teacher_parent"), child, "health_notes")
    record_sensitive_read(world.user("district_records"), child, "national_id", via="export")
    record_sensitive_read(None, child, "national_id")
    response = _get(_as(client, world.user("b_parent_norec")), reverse("audit:child_views", args=[child.pk]))
    assert response.status_code == 200
    text = _text(response)
    assert "周老师家长" in text and "Guardian" in text
    assert "第A中学" not in text and "Subject teacher" not in text
    # A reader without a person record is named by role only, and a deleted account as such.
    assert "District officer · 示范区教育局" in text and "no name on record" in text
    assert "district_records" not in response.content.decode()
    assert "A deleted account" in text
    assert "Export" in text


@pytest.mark.parametrize(
    "username,school,klass,index",
    [
        ("a_parent", "a", "g7c1", 1),  # another family's child in the same class
        ("a_parent", "b", "g7c1", 0),  # the same seat in the other school
        ("a_head", "a", "g7c1", 0),  # staff, however close: the page is for guardians
        ("a_admin", "a", "g7c1", 0),
        ("a_student", "a", "g7c1", 0),
        ("teacher_parent", "a", "g7c2", 0),  # a class they teach, not their child
    ],
)
def test_not_a_guardian_of_this_child_is_not_found(world, client, username, school, klass, index):
    child = getattr(world, school).students[klass][index]
    record_sensitive_read(world.user("a_admin"), child, "national_id")
    c = _as(client, world.user(username))
    forbidden = _get(c, reverse("audit:child_views", args=[child.pk]))
    missing = _get(c, reverse("audit:child_views", args=[10**12]))
    assert forbidden.status_code == missing.status_code == 404
    assert "赵主任" not in forbidden.content.decode()


def test_anonymous_is_sent_to_log_in(world, client):
    child = world.a.students["g7c1"][0]
    response = client.get(reverse("audit:child_views", args=[child.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_child_views_are_paginated_fifty_a_page_newest_first(world, client):
    child = world.a.students["g7c1"][0]
    head = world.user("a_head")
    start = timezone.now() - datetime.timedelta(days=10)
    SensitiveRead.objects.bulk_create(
        SensitiveRead(
            district=world.district,
            school=world.a.school,
            student=child,
            actor=head,
            field="health_notes" if i else "national_id",
            at=start + datetime.timedelta(minutes=i),
        )
        for i in range(51)
    )
    c = _as(client, world.user("a_parent"))
    url = reverse("audit:child_views", args=[child.pk])
    first = _get(c, url)
    assert first.context["page"].paginator.count == 51
    assert len(first.context["rows"]) == 50
    assert [r["read"].at for r in first.context["rows"]] == sorted(
        (r["read"].at for r in first.context["rows"]), reverse=True
    )
    assert "Page 1 of 2" in _text(first)
    second = _get(c, url, page=2)
    (last,) = second.context["rows"]
    assert last["read"].field == "national_id"  # the oldest
    assert _get(c, url, page="nonsense").status_code == 200


# --- the school audit log -------------------------------------------------------------------------


def _student_update(actor, student, number):
    before = snapshot(student)
    student.student_number = number
    student.national_id = "110101201201019999"
    student.save()
    return record(actor, "student.update", student, before, snapshot(student))


@pytest.fixture
def events(world):
    a_student = world.a.students["g7c1"][0]
    b_student = world.b.students["g7c1"][0]
    e1 = _student_update(world.user("a_admin"), a_student, "A-NEW-1")
    e2 = record(
        world.user("a_admin"), "class.rename", world.a.g7c2, {"name": "七年级2班"}, {"name": "七年级二班"}
    )
    e3 = _student_update(world.user("b_admin"), b_student, "B-NEW-1")
    e4 = record(world.user("district_admin"), "district.update", world.district, {"name": "x"}, {"name": "y"})
    return {"a_student": e1, "a_class": e2, "b_student": e3, "district": e4}


def test_school_admin_sees_their_schools_changes_newest_first(world, client, events):
    response = _get(_as(client, world.user("a_admin")), reverse("audit:log"))
    assert response.status_code == 200
    shown = [r["event"].pk for r in response.context["rows"]]
    assert shown == [events["a_class"].pk, events["a_student"].pk]
    text = _text(response)
    # before → after, with field labels; sensitive values redacted, never in clear.
    assert "Student number" in text or "student number" in text
    assert "A-NEW-1" in text
    assert "七年级2班" in text and "七年级二班" in text
    assert "110101201201019999" not in response.content.decode()
    assert "B-NEW-1" not in text
    assert "赵主任" in text  # the actor by name


def test_principal_sees_the_log_too(world, client, events):
    response = _get(_as(client, world.user("b_principal")), reverse("audit:log"))
    assert response.status_code == 200
    assert [r["event"].pk for r in response.context["rows"]] == [events["b_student"].pk]


def test_district_admin_sees_every_school_and_can_pick_one(world, client, events):
    c = _as(client, world.user("district_admin"))
    response = _get(c, reverse("audit:log"))
    shown = {r["event"].pk for r in response.context["rows"]}
    # District-level rows belong to no school's log.
    assert shown == {events["a_student"].pk, events["a_class"].pk, events["b_student"].pk}
    only_b = _get(c, reverse("audit:log"), school=world.b.school.pk)
    assert [r["event"].pk for r in only_b.context["rows"]] == [events["b_student"].pk]


def test_filter_by_object_type(world, client, events):
    c = _as(client, world.user("a_admin"))
    response = _get(c, reverse("audit:log"), type="core.class")
    assert [r["event"].pk for r in response.context["rows"]] == [events["a_class"].pk]
    assert response.context["filter_query"] == "type=core.class"
    # The choices are the types present in this admin's schools.
    choices = dict(response.context["form"].fields["type"].choices)
    assert set(choices) == {"", "core.student", "core.class"}
    # A school the admin does not hold is not a valid choice (single school: no school filter).
    assert "school" not in response.context["form"].fields


def test_an_unknown_type_is_a_field_error_not_a_crash(world, client, events):
    response = _get(_as(client, world.user("a_admin")), reverse("audit:log"), type="core.person")
    assert response.status_code == 200
    assert response.context["form"].errors["type"]
    assert 'role="alert"' in response.content.decode()
    assert len(response.context["rows"]) == 2


def test_a_school_outside_ones_scope_is_not_a_valid_filter(world, client, events):
    c = _as(client, world.user("district_admin"))
    response = _get(c, reverse("audit:log"), school=999999)
    assert response.context["form"].errors["school"]


def test_log_is_paginated_fifty_a_page(world, client):
    admin = world.user("a_admin")
    base = timezone.now() - datetime.timedelta(days=1)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            district=world.district,
            school=world.a.school,
            actor=admin,
            at=base + datetime.timedelta(seconds=i),
            action="class.rename",
            object_type="core.class",
            object_id=str(world.a.g7c1.pk),
            before={"name": str(i)},
            after={"name": str(i + 1)},
        )
        for i in range(120)
    )
    c = _as(client, admin)
    first = _get(c, reverse("audit:log"))
    assert len(first.context["rows"]) == 50
    assert first.context["rows"][0]["event"].before == {"name": "119"}
    third = _get(c, reverse("audit:log"), page=3, type="core.class")
    assert len(third.context["rows"]) == 20
    assert third.context["rows"][-1]["event"].before == {"name": "0"}
    assert 'href="?type=core.class&amp;page=2"' in third.content.decode()


@pytest.mark.parametrize(
    "username",
    ["district_officer", "district_records", "a_director", "a_head", "a_teacher", "a_parent", "a_student"],
)
def test_others_find_no_log(world, client, events, username):
    response = _get(_as(client, world.user(username)), reverse("audit:log"))
    assert response.status_code == 404


def test_child_views_queries_grow_with_readers_not_with_reads(world, client, django_assert_max_num_queries):
    child = world.a.students["g7c1"][0]
    c = _as(client, world.user("a_parent"))
    url = reverse("audit:child_views", args=[child.pk])
    for _ in range(40):
        record_sensitive_read(world.user("a_head"), child, "health_notes")
        record_sensitive_read(world.user("a_admin"), child, "national_id")
    _get(c, url)  # warm the session
    # Session, user, the guardian's grants, the child, the reads, and five queries per distinct reader.
    with django_assert_max_num_queries(25):
        response = _get(c, url)
    assert len(response.context["rows"]) == 50
