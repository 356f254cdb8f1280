"""Approved staff leave → substitutes proposed for the teacher's published lessons → the office confirms
one → the substitute and the class's guardians are told."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone, translation

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput
from schoolbridge.core.models import Staff, TeachingAssignment
from schoolbridge.leave import actions as leave_actions
from schoolbridge.notify.models import Notification
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import Substitution

from .ttworld import build

pytestmark = pytest.mark.django_db


def next_monday() -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 - today.weekday())


def setup(world):
    tt = build(world)
    sw = world.a
    director = Staff.objects.get(school=sw.school, person__user=world.user("a_director"))
    # 孙年级主任 teaches Chinese in 七年级2班: qualified to cover Chinese.
    TeachingAssignment.objects.create(
        district=world.district,
        school=sw.school,
        teacher=director,
        klass=sw.g7c2,
        subject=sw.chinese,
        term=sw.term,
    )
    tt.place("g7c1_chinese", 0, 1, 1)  # 李老师, Monday 1, 七年级1班
    tt.place("g8c1_maths", 0, 1, 3)  # 李老师, Monday 3, 八年级1班
    tt.place("g7c1_maths", 0, 1, 3)  # 王老师 busy on Monday 3
    tt.place("g7c1_chinese", 1, 3, 5)  # 李老师, Wednesday afternoon
    actions.publish(tt.admin, tt.version)
    return tt, director


def apply_and_approve(world, django_capture_on_commit_callbacks, **fields):
    monday = next_monday()
    data: dict[str, Any] = {"kind": "days", "start_date": monday, "end_date": monday, "reason": "personal"}
    data.update(fields)
    leave = leave_actions.apply_for_staff_leave(world.user("a_teacher"), world.a.school.pk, **data)
    with django_capture_on_commit_callbacks(execute=True):
        leave_actions.decide(world.user("a_principal"), leave.pk, "approve")
    return leave


def test_end_to_end(world, django_capture_on_commit_callbacks):
    tt, director = setup(world)
    leave = apply_and_approve(world, django_capture_on_commit_callbacks)
    subs = list(Substitution.objects.order_by("lesson__period"))
    assert [(s.lesson.period, s.date, s.status) for s in subs] == [
        (1, next_monday(), "proposed"),
        (3, next_monday(), "proposed"),
    ]
    assert all(s.absent_teacher == tt.teacher and s.leave_request_id == leave.pk for s in subs)
    chinese, maths = subs
    # Chinese: only the director teaches Chinese besides 李老师. Maths on Monday 3: 王老师 is busy then,
    # 周老师 (teaches maths in 七年级2班) is free.
    assert [c["staff"] for c in chinese.candidates] == [director.pk]
    assert [c["staff"] for c in maths.candidates] == [tt.tp.pk]
    # The school office hears that cover is needed.
    assert Notification.objects.filter(user=world.user("a_admin"), kind="timetable.cover").count() == 1
    # Proposing again changes nothing.
    leave.refresh_from_db()
    assert actions.propose_substitutions(leave) == []

    with pytest.raises(InvalidInput):
        actions.confirm_substitution(tt.admin, chinese.pk, tt.head.pk)  # not qualified for Chinese
    with translation.override("en"):
        actions.confirm_substitution(tt.admin, chinese.pk, director.pk)
    chinese.refresh_from_db()
    assert (
        chinese.status == "confirmed" and chinese.substitute == director and chinese.confirmed_by == tt.admin
    )
    assert AuditEvent.objects.filter(action="timetable.substitution.confirm").count() == 1
    told = Notification.objects.get(user=world.user("a_director"), kind="timetable.cover.you")
    assert "七年级1班" in told.title and "语文" in told.title
    guardians = set(
        Notification.objects.filter(kind="timetable.cover.class").values_list("user__username", flat=True)
    )
    assert guardians == {"a_parent", "a_parent_norec"}
    # The director is now busy on Monday 1 for that date: not offered for the same slot again.
    ctx = actions._CoverContext(tt.version, next_monday(), next_monday())
    lesson = chinese.lesson
    assert director.pk not in {c["staff"] for c in ctx.candidates(lesson, next_monday(), 1, tt.teacher.pk)}


def test_half_day_leave_only_covers_its_half(world, django_capture_on_commit_callbacks):
    setup(world)
    monday = next_monday()
    wednesday = monday + datetime.timedelta(days=2)
    apply_and_approve(
        world,
        django_capture_on_commit_callbacks,
        kind="half_days",
        start_date=monday,
        end_date=wednesday,
        start_half="pm",
        end_half="pm",
    )
    # Monday's lessons are in the morning (not covered); Wednesday period 5 is in the afternoon.
    assert [(s.date, s.lesson.period) for s in Substitution.objects.all()] == [(wednesday, 5)]


def test_others_cannot_confirm_and_rejected_leave_proposes_nothing(world, django_capture_on_commit_callbacks):
    tt, director = setup(world)
    monday = next_monday()
    leave = leave_actions.apply_for_staff_leave(
        world.user("a_teacher"),
        world.a.school.pk,
        kind="days",
        start_date=monday,
        end_date=monday,
        reason="personal",
    )
    with django_capture_on_commit_callbacks(execute=True):
        leave_actions.decide(world.user("a_principal"), leave.pk, "reject", "busy week")
    assert not Substitution.objects.exists()
    leave.status = "approved"
    leave.save()
    sub = actions.propose_substitutions(leave)[0]
    from schoolbridge.access.helpers import NotFound

    for name in ("b_admin", "a_principal", "a_head"):
        with pytest.raises(NotFound):
            actions.confirm_substitution(world.user(name), sub.pk, director.pk)


def test_cover_page(world, django_capture_on_commit_callbacks):
    from django.test import Client

    from schoolbridge.testing.auth import login_verified

    tt, director = setup(world)
    apply_and_approve(world, django_capture_on_commit_callbacks)
    admin = Client()
    admin.cookies["sb_lang"] = "en"
    login_verified(admin, tt.admin)
    url = f"/timetable/cover/{world.a.school.pk}/"
    html = admin.get(url).content.decode()
    assert "孙年级主任" in html and "周老师家长" in html and "李老师 is on leave" in html
    chinese = Substitution.objects.get(lesson__requirement__subject=world.a.chinese)
    r = admin.post(url, {"substitution": chinese.pk, "staff": tt.head.pk})
    assert r.status_code == 422 and "not free and qualified" in r.content.decode()
    r = admin.post(url, {"substitution": chinese.pk, "staff": director.pk})
    assert r.status_code == 302
    chinese.refresh_from_db()
    assert chinese.substitute == director
    # The substitute sees it on their timetable page, the families on the class's.
    for name, page_url in (
        ("a_director", f"/timetable/teacher/{director.pk}/"),
        ("a_parent", f"/timetable/class/{world.a.g7c1.pk}/"),
        ("a_parent", f"/timetable/student/{world.a.students['g7c1'][0].pk}/"),
    ):
        viewer = Client()
        viewer.cookies["sb_lang"] = "en"
        login_verified(viewer, world.user(name))
        page = viewer.get(page_url).content.decode()
        assert "Cover lessons" in page and "taught by 孙年级主任" in page, (name, page_url)
    # No cover needed after all: the substitute is told, the lesson leaves the list.
    r = admin.post(url, {"cancel": chinese.pk})
    assert r.status_code == 302
    chinese.refresh_from_db()
    assert chinese.status == "cancelled"
    assert Notification.objects.filter(
        user=world.user("a_director"), kind="timetable.cover.cancelled"
    ).exists()
    assert f'id="cover-{chinese.pk}"' not in admin.get(url).content.decode()
    other = Client()
    login_verified(other, world.user("b_admin"))
    assert other.post(f"/timetable/cover/{world.b.school.pk}/", {"cancel": chinese.pk}).status_code == 404
    assert other.get(url).status_code == 404
    assert (
        other.post(
            f"/timetable/cover/{world.b.school.pk}/", {"substitution": chinese.pk, "staff": director.pk}
        ).status_code
        == 404
    )
