"""Staff leave: a teacher applies for their own leave through the page and the API, the principal (by
default) decides it from "waiting for me"; the school's policy page sets the staff chain."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.audit.models import AuditEvent
from schoolbridge.leave import actions
from schoolbridge.leave.models import ApprovalStep, LeaveRequest, Status
from schoolbridge.testing.auth import login_verified
from schoolbridge.testing.world import World

pytestmark = pytest.mark.django_db


def _day(offset: int = 1) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def client_for(world: World, name: str) -> Client:
    client = Client()
    client.cookies["sb_lang"] = "en"
    login_verified(client, world.user(name))
    return client


def staff_form(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "school": world.a.school.pk,
        "kind": "days",
        "start_date": _day(1),
        "end_date": _day(1),
        "reason": "medical",
        "reason_text": "复查",
    }
    data.update(overrides)
    return data


def test_teacher_applies_and_the_principal_approves_from_waiting(world):
    teacher = client_for(world, "a_teacher")
    mine = teacher.get("/leave/")
    assert mine.status_code == 200 and "/leave/staff/new/" in mine.content.decode()
    page = teacher.get("/leave/staff/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="hidden" name="school"' in html and 'name="student"' not in html
    response = teacher.post("/leave/staff/new/", staff_form(world))
    assert response.status_code == 302
    leave = LeaveRequest.objects.get()
    assert response["Location"] == f"/leave/{leave.pk}/"
    assert leave.staff is not None and leave.staff.person.user == world.user("a_teacher")
    assert leave.student is None and leave.steps == ["principal"] and leave.status == Status.PENDING
    assert AuditEvent.objects.filter(action="leave.apply").count() == 1
    # The teacher sees it and its status in their list and on its page.
    assert f"/leave/{leave.pk}/" in teacher.get("/leave/").content.decode()
    detail = teacher.get(f"/leave/{leave.pk}/").content.decode()
    assert "waiting for the principal" in detail

    # Not for the head teacher of another class, nor another school's principal.
    assert f"/leave/{leave.pk}/" not in client_for(world, "a_head").get("/leave/waiting/").content.decode()
    assert client_for(world, "a_head").get(f"/leave/{leave.pk}/").status_code == 404
    assert client_for(world, "b_principal").get(f"/leave/{leave.pk}/").status_code == 404

    principal = client_for(world, "a_principal")
    waiting = principal.get("/leave/waiting/").content.decode()
    assert f"/leave/{leave.pk}/" in waiting
    assert principal.post(f"/leave/{leave.pk}/decide/", {"outcome": "approve"}).status_code == 302
    leave.refresh_from_db()
    assert leave.status == Status.APPROVED
    assert "approved" in teacher.get(f"/leave/{leave.pk}/").content.decode().lower()


def test_field_errors_and_nothing_saved(world):
    teacher = client_for(world, "a_teacher")
    response = teacher.post("/leave/staff/new/", staff_form(world, end_date=_day(-1 + 0), start_date=_day(3)))
    assert response.status_code == 400
    form = response.context["form"]
    assert "end_date" in form.errors and "before the first day" in str(form.errors["end_date"])
    response = teacher.post("/leave/staff/new/", staff_form(world, reason="", kind="periods", periods=[]))
    assert response.status_code == 400
    assert {"reason", "periods"} <= set(response.context["form"].errors)
    # A school where the teacher does not work, in the hidden field.
    response = teacher.post("/leave/staff/new/", staff_form(world, school=world.b.school.pk))
    assert response.status_code == 400 and "school" in response.context["form"].errors
    assert LeaveRequest.objects.count() == 0
    # Overlapping their own request.
    assert teacher.post("/leave/staff/new/", staff_form(world)).status_code == 302
    response = teacher.post("/leave/staff/new/", staff_form(world))
    assert response.status_code == 400 and "overlaps" in response.content.decode()
    assert LeaveRequest.objects.count() == 1


def test_not_staff_is_404(world):
    for name in ("a_parent", "a_student", "district_officer"):
        client = client_for(world, name)
        assert client.get("/leave/staff/new/").status_code == 404
        assert "/leave/staff/new/" not in client.get("/leave/").content.decode()


def test_staff_leave_api(client, world):
    teacher = ApiClient(client, token_for(world.user("a_teacher")), HTTP_ACCEPT_LANGUAGE="en")
    r = teacher.post(
        "/leave/staff",
        {
            "school_id": world.a.school.pk,
            "kind": "half_days",
            "start_date": _day(2),
            "end_date": _day(2),
            "start_half": "pm",
            "end_half": "pm",
            "reason": "personal",
        },
    )
    assert r.status_code == 201, r.data
    assert r.data["staff_id"] is not None and r.data["student_id"] is None
    assert r.data["steps"] == ["principal"] and r.data["status"] == "pending"
    leave_id = r.data["id"]
    assert [i["id"] for i in teacher.get("/leave").data["items"]] == [leave_id]
    r = teacher.post(
        "/leave/staff",
        {"school_id": world.a.school.pk, "start_date": _day(3), "end_date": _day(1), "reason": "sick"},
    )
    assert r.status_code == 422 and "end_date" in r.data["error"]["fields"]
    r = teacher.post(
        "/leave/staff",
        {"school_id": world.b.school.pk, "start_date": _day(1), "end_date": _day(1), "reason": "sick"},
    )
    assert r.status_code == 404
    parent = ApiClient(client, token_for(world.user("a_parent")), HTTP_ACCEPT_LANGUAGE="en")
    r = parent.post(
        "/leave/staff",
        {"school_id": world.a.school.pk, "start_date": _day(1), "end_date": _day(1), "reason": "sick"},
    )
    assert r.status_code == 404
    principal = ApiClient(client, token_for(world.user("a_principal")), HTTP_ACCEPT_LANGUAGE="en")
    assert [i["id"] for i in principal.get("/leave/waiting").data["items"]] == [leave_id]
    r = principal.post(f"/leave/{leave_id}/decision", {"outcome": "approve"})
    assert r.status_code == 200 and r.data["status"] == "approved"
    assert LeaveRequest.objects.count() == 1


def test_policy_page_sets_the_staff_chain(world):
    admin = client_for(world, "a_admin")
    url = f"/leave/policy/{world.a.school.pk}/"
    page = admin.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="staff_first"' in html and '<option value="principal" selected>' in html
    bad = admin.post(
        url,
        {"remind_after_hours": "24", "staff_first": "principal", "staff_principal_after_days": "2"},
    )
    assert bad.status_code == 400 and "staff_principal_after_days" in bad.context["form"].errors
    assert not ApprovalStep.objects.exists()
    response = admin.post(
        url,
        {
            "grade_director_after_days": "3",
            "remind_after_hours": "24",
            "staff_first": "school_admin",
            "staff_principal_after_days": "2",
        },
    )
    assert response.status_code == 302
    assert list(
        ApprovalStep.objects.filter(audience="staff").order_by("order").values_list("role", "min_days")
    ) == [("school_admin", None), ("principal", 2)]
    current = actions.current_policy(world.a.school.pk)
    assert current["staff_first"] == "school_admin" and current["staff_principal_after_days"] == 2
    teacher = world.user("a_teacher")
    short = actions.apply_for_staff_leave(
        teacher, world.a.school.pk, kind="days", start_date=_day(1), end_date=_day(1), reason="sick"
    )
    long = actions.apply_for_staff_leave(
        teacher, world.a.school.pk, kind="days", start_date=_day(5), end_date=_day(7), reason="family"
    )
    assert short.steps == ["school_admin"] and long.steps == ["school_admin", "principal"]
    # Saving the student chain alone leaves the staff chain as it is.
    assert admin.post(url, {"remind_after_hours": "12"}).status_code == 302
    assert ApprovalStep.objects.filter(audience="staff").count() == 2
    # Back to the principal.
    assert admin.post(url, {"remind_after_hours": "12", "staff_first": "principal"}).status_code == 302
    assert list(ApprovalStep.objects.filter(audience="staff").values_list("role", flat=True)) == ["principal"]


def test_policy_shortcut(world):
    response = client_for(world, "a_admin").get("/leave/policy/")
    assert response.status_code == 302 and response["Location"] == f"/leave/policy/{world.a.school.pk}/"
    assert client_for(world, "a_principal").get("/leave/policy/").status_code == 404
    assert client_for(world, "a_teacher").get("/leave/policy/").status_code == 404
