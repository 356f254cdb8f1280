import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.attendance.models import Mark, Register

from .conftest import past_weekday


def api(client, world, username):
    return ApiClient(client, token_for(world.user(username)))


def test_post_register_with_exceptions_then_read_it(client, world, today):
    s1, s2, s3 = world.a.students["g7c1"]
    c = api(client, world, "a_teacher")
    url = f"/attendance/classes/{world.a.g7c1.pk}/registers"
    r = c.post(
        url,
        {"date": today.isoformat(), "exceptions": [{"student_id": s2.pk, "status": "absent", "note": "病"}]},
    )
    assert r.status_code == 200, r.data
    assert {m["student_id"]: m["status"] for m in r.data["marks"]} == {
        s1.pk: "present",
        s2.pk: "absent",
        s3.pk: "present",
    }
    r = c.get(url, {"date": today.isoformat()})
    assert r.status_code == 200 and len(r.data["items"]) == 1
    marks = {m["student_id"]: m for m in r.data["items"][0]["marks"]}
    assert marks[s2.pk]["note"] == "病" and r.data["items"][0]["taken_by"]


def test_api_errors(client, world, today):
    s1 = world.a.students["g7c1"][0]
    url = f"/attendance/classes/{world.a.g7c1.pk}/registers"
    # out of scope: the same 404 as a missing class
    r = api(client, world, "b_teacher").post(url, {"date": today.isoformat()})
    assert r.status_code == 404 and r.data["error"]["code"] == "not_found"
    assert api(client, world, "a_parent").get(url, {"date": today.isoformat()}).status_code == 404
    c = api(client, world, "a_teacher")
    r = c.post(url, {"date": today.isoformat(), "exceptions": [{"student_id": s1.pk, "status": "asleep"}]})
    assert r.status_code == 422 and r.data["error"]["code"] == "validation_error"
    other = world.a.students["g7c2"][0]
    r = c.post(url, {"date": today.isoformat(), "exceptions": [{"student_id": other.pk, "status": "absent"}]})
    assert r.status_code == 422 and f"exceptions.{other.pk}" in r.data["error"]["fields"]
    # after the cutoff: the teacher is refused, the head teacher needs a reason
    day = past_weekday(3)
    r = c.post(url, {"date": day.isoformat()})
    assert r.status_code == 403 and r.data["error"]["code"] == "forbidden"
    head = api(client, world, "a_head")
    r = head.post(url, {"date": day.isoformat()})
    assert r.status_code == 422 and "reason" in r.data["error"]["fields"]
    assert not Register.objects.exists() and not Mark.objects.exists()
    r = head.post(url, {"date": day.isoformat(), "reason": "补登"})
    assert r.status_code == 200


@pytest.mark.parametrize("username", ["a_principal", "district_admin"])
def test_people_without_registers_get_404(client, world, today, username):
    r = api(client, world, username).get(
        f"/attendance/classes/{world.a.g7c1.pk}/registers", {"date": today.isoformat()}
    )
    assert r.status_code == 404
