"""What each role reads through the API: only what the access layer allows."""

from __future__ import annotations

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.audit.models import SensitiveRead
from schoolbridge.notify.actions import notify


def api_for(client, world, username):
    return ApiClient(client, token_for(world.user(username)))


def ids(items):
    return {item["id"] for item in items}


def test_me_lists_every_grant(client, world):
    r = api_for(client, world, "teacher_parent").get("/me")
    assert r.status_code == 200
    roles = sorted(g["role"] for g in r.data["grants"])
    assert roles == ["guardian", "subject_teacher"]
    guardian = next(g for g in r.data["grants"] if g["role"] == "guardian")
    assert guardian["student_id"] == world.b.students["g7c1"][2].pk
    assert guardian["home_kind"] == "guardian"
    assert guardian["key"].startswith("guardian:")
    assert all(g["label"] and g["role_label"] for g in r.data["grants"])


def test_schools_with_counts(client, world):
    r = api_for(client, world, "district_officer").get("/schools")
    assert r.data["count"] == 2
    by_name = {s["name"]: s for s in r.data["items"]}
    a = by_name[world.a.school.name]
    assert (a["student_count"], a["class_count"]) == (9, 3)
    assert a["staff_count"] == 6  # five staff plus the teacher-parent
    assert by_name[world.b.school.name]["staff_count"] == 5
    # No school overview for a teacher or a parent.
    assert api_for(client, world, "a_teacher").get("/schools").data["count"] == 0
    assert api_for(client, world, "a_parent").get(f"/schools/{world.a.school.pk}").status_code == 404


def test_classes_filter_and_counts(client, world):
    officer = api_for(client, world, "district_officer")
    assert officer.get("/classes").data["count"] == 6
    r = officer.get("/classes", {"school": world.b.school.pk})
    assert ids(r.data["items"]) == {world.b.g7c1.pk, world.b.g7c2.pk, world.b.g8c1.pk}
    g7c1 = next(c for c in r.data["items"] if c["id"] == world.b.g7c1.pk)
    assert g7c1["student_count"] == 3 and g7c1["head_teacher"]["name"] == "王老师"
    head = api_for(client, world, "a_head")
    assert ids(head.get("/classes").data["items"]) == {world.a.g7c1.pk}


def test_class_students_only_those_in_view(client, world):
    klass = world.a.g7c1
    r = api_for(client, world, "a_head").get(f"/classes/{klass.pk}/students")
    assert ids(r.data["items"]) == {s.pk for s in world.a.students["g7c1"]}
    # A parent sees their child's class aggregates, but only their own child in it.
    r = api_for(client, world, "a_parent").get(f"/classes/{klass.pk}/students")
    assert ids(r.data["items"]) == {world.a.students["g7c1"][0].pk}
    # An officer without record access sees the class, with no students.
    r = api_for(client, world, "district_officer").get(f"/classes/{klass.pk}/students")
    assert r.status_code == 200 and r.data["count"] == 0


def test_students_list_scope_and_filters(client, world):
    a = world.a
    teacher = api_for(client, world, "a_teacher")
    expected = {s.pk for s in a.students["g7c1"] + a.students["g8c1"]}
    assert ids(teacher.get("/students").data["items"]) == expected
    assert ids(teacher.get("/students", {"class": a.g8c1.pk}).data["items"]) == {
        s.pk for s in a.students["g8c1"]
    }
    assert teacher.get("/students", {"school": world.b.school.pk}).data["count"] == 0
    target = a.students["g8c1"][1]
    for term in (target.student_number, target.person.given_name, target.person.full_name):
        assert ids(teacher.get("/students", {"q": term}).data["items"]) == {target.pk}, term
    assert api_for(client, world, "district_officer").get("/students").data["count"] == 0
    assert api_for(client, world, "district_records").get("/students").data["count"] == 18
    assert ids(api_for(client, world, "a_student").get("/students").data["items"]) == {
        a.students["g7c1"][0].pk
    }
    assert api_for(client, world, "a_parent_norec").get("/students").data["count"] == 0


def test_student_detail_guardian_contacts_only_with_capability(client, world):
    student = world.a.students["g7c1"][0]
    guardian_person = student.guardianships.get().guardian.person
    guardian_person.phone = "13812345678"
    guardian_person.save(update_fields=["phone"])

    r = api_for(client, world, "a_head").get(f"/students/{student.pk}")
    assert r.data["guardian_contacts_visible"] is True
    assert r.data["guardians"][0]["phone"] == "13812345678"
    assert r.data["sensitive_fields"] == ["national_id", "health_notes"]
    assert "national_id" not in r.data and "health_notes" not in r.data

    r = api_for(client, world, "a_teacher").get(f"/students/{student.pk}")
    assert r.status_code == 200
    assert r.data["guardian_contacts_visible"] is False
    assert r.data["guardians"][0]["phone"] is None
    assert r.data["guardians"][0]["name"] == guardian_person.full_name
    assert r.data["sensitive_fields"] == []
    assert "13812345678" not in r.content.decode()


def test_sensitive_read_is_logged_via_api(client, world):
    student = world.a.students["g7c1"][0]
    r = api_for(client, world, "a_head").get(f"/students/{student.pk}/sensitive/health_notes")
    assert r.status_code == 200
    assert r.data["value"] == student.health_notes
    assert r["Cache-Control"] == "no-store"
    read = SensitiveRead.objects.get()
    assert (read.actor, read.student_id, read.field, read.via) == (
        world.user("a_head"),
        student.pk,
        "health_notes",
        "api",
    )


def test_sensitive_refused_is_404_and_not_logged(client, world):
    student = world.a.students["g7c1"][0]
    for username in ("a_teacher", "a_director", "b_head"):
        r = api_for(client, world, username).get(f"/students/{student.pk}/sensitive/national_id")
        assert r.status_code == 404, username
    assert not SensitiveRead.objects.exists()


def test_notifications_own_only_unread_and_since(client, world):
    me, other = world.user("a_parent"), world.user("b_parent")
    first, second, third = (notify([me], "test", f"n{i}")[0] for i in range(3))
    theirs = notify([other], "test", "not yours")[0]
    api = api_for(client, world, "a_parent")

    r = api.get("/notifications")
    assert [n["id"] for n in r.data["items"]] == [third.pk, second.pk, first.pk]
    assert r.data["unread_count"] == 3
    assert api.get("/notifications", {"since_id": first.pk}).data["count"] == 2

    r = api.post("/notifications/read", {"ids": [first.pk, theirs.pk]})
    assert r.data == {"marked": 1, "unread_count": 2}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert ids(api.get("/notifications", {"unread": 1}).data["items"]) == {second.pk, third.pk}

    r = api.post("/notifications/read-all")
    assert r.data == {"marked": 2, "unread_count": 0}
    assert api.get("/notifications", {"unread": "1"}).data["count"] == 0
    assert api.get("/notifications").data["count"] == 3
