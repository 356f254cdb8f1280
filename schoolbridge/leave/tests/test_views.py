"""Leave pages: applying through the form, lists, the decision page and access-checked attachments."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from schoolbridge.leave.actions import apply_for_leave
from schoolbridge.leave.models import Attachment, LeaveRequest, Status
from schoolbridge.web.tests.helpers import verified_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + b"x" * 100


def _day(offset: int = 1) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def _client(client, world, name):
    user = world.user(name)
    if name.endswith(("_admin", "_principal")) or name.startswith("district"):
        return verified_client(user, lang="zh-hans")
    client.force_login(user)
    return client


def _leave(world, **kw):
    data = {
        "kind": "days",
        "start_date": _day(1),
        "end_date": _day(1),
        "reason": "sick",
        "reason_text": "fever",
    }
    data.update(kw)
    return apply_for_leave(world.user("a_parent"), world.a.students["g7c1"][0].pk, **data)


def test_form_applies_for_the_child(client, world):
    child = world.a.students["g7c1"][0]
    c = _client(client, world, "a_parent")
    page = c.get(f"/leave/new/?student={child.pk}")
    assert page.status_code == 200 and child.person.full_name in page.content.decode()
    note = SimpleUploadedFile("note.pdf", PDF, content_type="application/pdf")
    response = c.post(
        "/leave/new/",
        {
            "student": child.pk,
            "kind": "half_days",
            "start_date": _day(1),
            "end_date": _day(2),
            "start_half": "pm",
            "end_half": "am",
            "reason": "medical",
            "reason_text": "复诊",
            "attachment": note,
        },
    )
    leave = LeaveRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leave/{leave.pk}/"
    assert leave.kind == "half_days" and leave.student == child and leave.attachments.count() == 1
    detail = c.get(f"/leave/{leave.pk}/").content.decode()
    assert "复诊" in detail and "note.pdf" in detail
    assert child.person.full_name in c.get("/leave/").content.decode()


def test_form_shows_field_errors_and_saves_nothing(client, world):
    child = world.a.students["g7c1"][0]
    c = _client(client, world, "a_parent")
    bad = SimpleUploadedFile("note.pdf", b"GIF89a not allowed", content_type="application/pdf")
    response = c.post(
        "/leave/new/",
        {
            "student": child.pk,
            "kind": "days",
            "start_date": _day(3),
            "end_date": _day(1),
            "reason": "sick",
            "attachment": bad,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "note.pdf" in html and "errorlist" in html
    assert not LeaveRequest.objects.exists() and not Attachment.objects.exists()


@pytest.mark.parametrize("user", ["b_parent", "a_parent_norec", "a_head", "teacher_parent"])
def test_form_for_another_child_is_not_found(client, world, user):
    child = world.a.students["g7c1"][0]
    c = _client(client, world, user)
    assert c.get(f"/leave/new/?student={child.pk}").status_code == 404
    assert (
        c.post(
            "/leave/new/",
            {
                "student": child.pk,
                "kind": "days",
                "start_date": _day(1),
                "end_date": _day(1),
                "reason": "sick",
            },
        ).status_code
        == 404
    )
    assert c.get("/leave/new/?student=abc").status_code == 404
    assert not LeaveRequest.objects.exists()


def test_head_teacher_decides_on_the_page(client, world):
    leave = _leave(world)
    c = _client(client, world, "a_head")
    waiting = c.get("/leave/waiting/").content.decode()
    assert f"/leave/{leave.pk}/" in waiting
    page = c.get(f"/leave/{leave.pk}/").content.decode()
    assert 'value="approve"' in page
    response = c.post(f"/leave/{leave.pk}/decide/", {"outcome": "reject", "comment": ""})
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    response = c.post(f"/leave/{leave.pk}/decide/", {"outcome": "approve", "comment": "早日康复"})
    assert response.status_code == 302
    leave.refresh_from_db()
    assert leave.status == Status.APPROVED
    parent = _client(client, world, "a_parent")
    assert "早日康复" in parent.get(f"/leave/{leave.pk}/").content.decode()


@pytest.mark.parametrize("user", ["a_teacher", "b_head", "a_director"])
def test_others_cannot_decide(client, world, user):
    leave = _leave(world)
    c = _client(client, world, user)
    assert c.post(f"/leave/{leave.pk}/decide/", {"outcome": "approve"}).status_code == 404
    leave.refresh_from_db()
    assert leave.status == Status.PENDING


def test_director_sees_but_may_not_decide_the_head_teacher_step(client, world):
    leave = _leave(world)
    c = _client(client, world, "a_director")
    page = c.get(f"/leave/{leave.pk}/")
    assert page.status_code == 200 and 'value="approve"' not in page.content.decode()


def test_guardian_cancels(client, world):
    leave = _leave(world)
    c = _client(client, world, "a_parent")
    assert c.post(f"/leave/{leave.pk}/cancel/").status_code == 302
    leave.refresh_from_db()
    assert leave.status == Status.CANCELLED
    assert _client(client, world, "b_parent").post(f"/leave/{leave.pk}/cancel/").status_code == 404


def test_edit_page(client, world):
    leave = _leave(world)
    c = _client(client, world, "a_parent")
    assert c.get(f"/leave/{leave.pk}/edit/").status_code == 200
    response = c.post(
        f"/leave/{leave.pk}/edit/",
        {"kind": "periods", "start_date": _day(2), "periods": ["2", "3"], "reason": "medical"},
    )
    assert response.status_code == 302
    leave.refresh_from_db()
    assert leave.kind == "periods" and leave.periods == [2, 3]
    assert _client(client, world, "a_head").get(f"/leave/{leave.pk}/edit/").status_code == 404


@pytest.mark.parametrize(
    "user, status",
    [
        ("a_parent", 200),
        ("a_head", 200),
        ("a_admin", 200),
        ("a_director", 200),
        ("a_teacher", 404),
        ("b_parent", 404),
        ("b_admin", 404),
        ("a_parent_norec", 404),
        ("district_admin", 404),
    ],
)
def test_request_and_attachment_only_for_those_who_may_see_them(client, world, user, status):
    leave = _leave(world, attachments=[SimpleUploadedFile("note.pdf", PDF)])
    att = leave.attachments.get()
    c = _client(client, world, user)
    assert c.get(f"/leave/{leave.pk}/").status_code == status
    response = c.get(f"/leave/attachments/{att.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Security-Policy"] == "sandbox"
        assert b"".join(response.streaming_content) == PDF


def test_attachments_are_not_public_media(client, world, settings):
    leave = _leave(world, attachments=[SimpleUploadedFile("note.pdf", PDF)])
    name = leave.attachments.get().file.name
    client.logout()
    assert client.get(settings.MEDIA_URL + name).status_code == 404
    assert client.get(f"/leave/attachments/{leave.attachments.get().pk}/").status_code == 302  # to log in


def test_school_admin_sets_the_chain(client, world):
    from schoolbridge.audit.models import AuditEvent
    from schoolbridge.leave.models import ApprovalStep

    c = _client(client, world, "a_admin")
    page = c.get(f"/leave/policy/{world.a.school.pk}/")
    assert page.status_code == 200 and 'value="3' in page.content.decode()  # the default: more than 3 days
    response = c.post(
        f"/leave/policy/{world.a.school.pk}/",
        {"grade_director_after_days": "1", "principal_after_days": "5", "remind_after_hours": "8"},
    )
    assert response.status_code == 302
    assert list(ApprovalStep.objects.values_list("role", "min_days")) == [
        ("head_teacher", None),
        ("grade_director", 1),
        ("principal", 5),
    ]
    assert AuditEvent.objects.filter(action="leave.policy").count() == 1
    assert _leave(world, end_date=_day(2)).steps == ["head_teacher", "grade_director"]
    assert c.post(f"/leave/policy/{world.a.school.pk}/", {"remind_after_hours": "0"}).status_code == 400
    response = c.post(f"/leave/policy/{world.a.school.pk}/", {"remind_after_hours": "24"})
    assert response.status_code == 302
    assert list(ApprovalStep.objects.values_list("role", flat=True)) == ["head_teacher"]


@pytest.mark.parametrize("user", ["b_admin", "a_principal", "a_head", "a_parent"])
def test_others_cannot_set_the_chain(client, world, user):
    c = _client(client, world, user)
    assert c.get(f"/leave/policy/{world.a.school.pk}/").status_code == 404
    assert c.post(f"/leave/policy/{world.a.school.pk}/", {"remind_after_hours": "3"}).status_code == 404
