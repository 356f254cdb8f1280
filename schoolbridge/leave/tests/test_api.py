"""Leave over the JSON API: every answer checked against the OpenAPI document."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.leave.models import LeaveRequest, Status

pytestmark = pytest.mark.django_db


def _day(offset: int = 1) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def _api(client, world, name):
    return ApiClient(client, token_for(world.user(name)), HTTP_ACCEPT_LANGUAGE="en")


def test_apply_list_decide(client, world):
    child = world.a.students["g7c1"][0]
    parent = _api(client, world, "a_parent")
    r = parent.post(
        "/leave",
        {
            "student_id": child.pk,
            "kind": "periods",
            "start_date": _day(1),
            "periods": [3, 4],
            "reason": "medical",
            "reason_text": "牙医",
        },
    )
    assert r.status_code == 201, r.data
    leave_id = r.data["id"]
    assert r.data["status"] == "pending" and r.data["periods"] == [3, 4] and r.data["end_date"] == _day(1)
    assert [i["id"] for i in parent.get("/leave").data["items"]] == [leave_id]
    head = _api(client, world, "a_head")
    assert [i["id"] for i in head.get("/leave/waiting").data["items"]] == [leave_id]
    assert head.get("/leave").data["count"] == 0
    r = head.post(f"/leave/{leave_id}/decision", {"outcome": "reject"})
    assert r.status_code == 422 and "comment" in r.data["error"]["fields"]
    r = head.post(f"/leave/{leave_id}/decision", {"outcome": "approve", "comment": "ok"})
    assert r.status_code == 200 and r.data["status"] == "approved"
    assert r.data["decisions"][0]["outcome"] == "approve"
    assert parent.get(f"/leave/{leave_id}").data["status"] == "approved"


def test_errors(client, world):
    child = world.a.students["g7c1"][0]
    parent = _api(client, world, "a_parent")
    r = parent.post(
        "/leave", {"student_id": child.pk, "start_date": _day(3), "end_date": _day(1), "reason": "sick"}
    )
    assert r.status_code == 422 and "end_date" in r.data["error"]["fields"]
    r = parent.post(
        "/leave",
        {
            "student_id": world.a.students["g7c1"][2].pk,
            "start_date": _day(1),
            "end_date": _day(1),
            "reason": "sick",
        },
    )
    assert r.status_code == 404
    parent.post(
        "/leave", {"student_id": child.pk, "start_date": _day(1), "end_date": _day(2), "reason": "sick"}
    )
    r = parent.post(
        "/leave", {"student_id": child.pk, "start_date": _day(2), "end_date": _day(2), "reason": "sick"}
    )
    assert r.status_code == 422
    message = r.data["error"]["fields"]["__all__"][0]
    assert "overlaps" in message or "重叠" in message  # in the language of the request
    leave = LeaveRequest.objects.get()
    for name in ("a_teacher", "b_head", "a_director"):
        r = _api(client, world, name).post(f"/leave/{leave.pk}/decision", {"outcome": "approve"})
        assert r.status_code == 404
    assert _api(client, world, "b_parent").get(f"/leave/{leave.pk}").status_code == 404
    r = parent.post(f"/leave/{leave.pk}/cancel")
    assert r.status_code == 200 and r.data["status"] == Status.CANCELLED
