"""Leave actions: applying, overlap, attachments, the approval chain, notifications, reminders."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import Guardian, Guardianship
from schoolbridge.leave.actions import (
    apply_for_leave,
    apply_for_staff_leave,
    cancel_leave,
    decide,
    edit_leave,
    remind_overdue,
)
from schoolbridge.leave.models import ApprovalPolicy, ApprovalStep, Attachment, Decision, LeaveRequest, Status
from schoolbridge.leave.queries import approved_cover, waiting_for
from schoolbridge.notify.models import Notification

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


def _day(offset: int = 1) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=offset)


def _apply(world, user="a_parent", child=None, **kw):
    child = child or world.a.students["g7c1"][0]
    data: dict[str, Any] = {
        "kind": "days",
        "start_date": _day(1),
        "reason": "sick",
        "reason_text": "fever",
    }
    data.update(kw)
    data.setdefault("end_date", data["start_date"])
    return apply_for_leave(world.user(user), child.pk, **data)


def _inbox(user):
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


def _files(tmp_path):
    return sorted(p for p in tmp_path.rglob("*") if p.is_file())


def test_guardian_applies_and_head_teacher_is_told(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        leave = _apply(world)
    assert callbacks  # deliveries wait for the commit
    assert (
        leave.status == Status.PENDING
        and leave.steps == ["head_teacher"]
        and leave.current_role == "head_teacher"
    )
    assert leave.applicant == world.user("a_parent") and leave.student == world.a.students["g7c1"][0]
    assert _inbox(world.user("a_head")) == ["leave.pending"]
    assert _inbox(world.user("a_director")) == []
    assert AuditEvent.objects.filter(action="leave.apply", object_id=str(leave.pk)).count() == 1
    assert list(waiting_for(world.user("a_head"))) == [leave]
    assert list(waiting_for(world.user("a_teacher"))) == []
    assert list(waiting_for(world.user("b_head"))) == []


def test_guardian_without_records_may_apply_too(world):
    leave = _apply(world, user="a_parent_norec", child=world.a.students["g7c1"][1])
    assert leave.pk


@pytest.mark.parametrize("user", ["a_parent", "b_parent", "a_head", "a_admin", "teacher_parent"])
def test_guardian_of_another_child_gets_not_found(world, user):
    other = world.a.students["g7c1"][2]  # nobody in the world is this child's guardian
    with pytest.raises(NotFound):
        _apply(world, user=user, child=other)
    assert not LeaveRequest.objects.exists()


def test_overlap_is_refused_with_a_clear_message(world):
    _apply(world, end_date=_day(3))
    with pytest.raises(InvalidInput) as exc:
        _apply(world, start_date=_day(3), end_date=_day(5))
    message = str(exc.value)
    assert "overlaps" in message or "重叠" in message
    assert _day(1).isoformat() in message
    assert LeaveRequest.objects.count() == 1
    # Another guardian of the same child is refused too.
    second = Guardian.objects.get(person__user=world.user("teacher_parent"))
    Guardianship.objects.create(
        district=world.district,
        school=world.a.school,
        guardian=second,
        student=world.a.students["g7c1"][0],
        relationship="father",
    )
    with pytest.raises(InvalidInput):
        _apply(world, user="teacher_parent", start_date=_day(2), end_date=_day(2))


def test_halves_and_periods_that_do_not_meet_are_allowed(world):
    _apply(world, kind="half_days", start_half="am", end_half="am")
    _apply(world, kind="half_days", start_half="pm", end_half="pm")
    with pytest.raises(InvalidInput):
        _apply(world, kind="periods", periods=[2])  # the day is now fully taken
    _apply(world, kind="periods", start_date=_day(2), periods=[1, 2])
    _apply(world, kind="periods", start_date=_day(2), periods=[5])
    with pytest.raises(InvalidInput):
        _apply(world, kind="periods", start_date=_day(2), periods=[2, 3])
    # Cancelled and rejected requests no longer hold the time.
    leave = LeaveRequest.objects.get(start_date=_day(2), periods=[5])
    cancel_leave(world.user("a_parent"), leave.pk)
    _apply(world, kind="periods", start_date=_day(2), periods=[5, 6])


@pytest.mark.parametrize(
    "data, field",
    [
        ({"start_date": _day(3), "end_date": _day(1)}, "end_date"),
        ({"start_date": ""}, "start_date"),
        ({"kind": "half_days", "start_half": "pm", "end_half": "am"}, "end_half"),
        ({"kind": "half_days", "start_half": "", "end_half": "am"}, "start_half"),
        ({"kind": "periods", "periods": []}, "periods"),
        ({"kind": "periods", "periods": [0, 13]}, "periods"),
        ({"kind": "periods", "periods": ["a"]}, "periods"),
        ({"kind": "periods", "end_date": _day(2), "periods": [1]}, "end_date"),
        ({"reason": "holiday"}, "reason"),
        ({"reason": "other", "reason_text": ""}, "reason_text"),
        ({"end_date": _day(90)}, "end_date"),
        ({"start_date": _day(-40)}, "start_date"),
    ],
)
def test_bad_dates_halves_periods_are_field_errors(world, data, field):
    with pytest.raises(InvalidInput) as exc:
        _apply(world, **data)
    assert field in exc.value.error_dict
    assert not LeaveRequest.objects.exists()


def test_attachment_is_stored_with_its_real_type(world, media_root):
    note = SimpleUploadedFile("医生证明.png", PNG, content_type="image/png")
    leave = _apply(world, attachments=[note])
    att = leave.attachments.get()
    assert att.content_type == "image/png" and att.size == len(PNG) and att.original_name == "医生证明.png"
    assert _files(media_root) and "医生" not in att.file.name
    assert att.file.read() == PNG


@pytest.mark.parametrize(
    "upload, words",
    [
        (
            SimpleUploadedFile("note.png", b"MZ\x90\x00 not an image at all", content_type="image/png"),
            "not a JPEG",
        ),
        (SimpleUploadedFile("note.pdf", b"<html>hello</html>", content_type="application/pdf"), "not a JPEG"),
        (
            SimpleUploadedFile(
                "big.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"
            ),
            "5 MB",
        ),
        (SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"), "empty"),
    ],
)
def test_wrong_attachment_is_refused_and_nothing_is_saved(world, media_root, upload, words, settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        _apply(world, attachments=[SimpleUploadedFile("ok.pdf", PDF), upload])
    messages = [str(m) for m in exc.value.error_dict["attachments"][0].messages]
    assert any(words in m and upload.name in m for m in messages), messages
    assert not LeaveRequest.objects.exists() and not Attachment.objects.exists()
    assert (
        not Notification.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="leave").exists()
    )
    assert _files(media_root) == []


def test_a_failure_after_files_were_written_removes_them(world, media_root, monkeypatch):
    import schoolbridge.leave.actions as actions

    def boom(*args, **kwargs):
        raise RuntimeError("notification failed")

    monkeypatch.setattr(actions, "_tell_approver", boom)
    with pytest.raises(RuntimeError):
        _apply(world, attachments=[SimpleUploadedFile("a.pdf", PDF)])
    assert not LeaveRequest.objects.exists() and not Attachment.objects.exists()
    assert _files(media_root) == []


def test_chain_with_grade_director_for_more_than_three_days(world):
    parent, head, director = world.user("a_parent"), world.user("a_head"), world.user("a_director")
    leave = _apply(world, end_date=_day(4))  # 4 days
    assert leave.steps == ["head_teacher", "grade_director"]
    # The grade director cannot decide the head teacher's step.
    with pytest.raises(NotFound):
        decide(director, leave.pk, "approve")
    Notification.objects.all().delete()
    leave = decide(head, leave.pk, "approve", "好的")
    assert (
        leave.status == Status.PENDING and leave.current_step == 1 and leave.current_role == "grade_director"
    )
    assert _inbox(director) == ["leave.pending"]
    assert _inbox(parent) == ["leave.step"]
    assert _inbox(head) == []
    assert list(waiting_for(director)) == [leave] and list(waiting_for(head)) == []
    with pytest.raises(NotFound):
        decide(head, leave.pk, "approve")
    Notification.objects.all().delete()
    leave = decide(director, leave.pk, "approve")
    assert leave.status == Status.APPROVED and leave.decided_at and leave.current_role == ""
    assert set(Notification.objects.values_list("user_id", flat=True)) == {parent.pk, head.pk}
    assert list(
        Decision.objects.filter(leave=leave).values_list("step", "role", "approver_id", "outcome")
    ) == [
        (0, "head_teacher", head.pk, "approve"),
        (1, "grade_director", director.pk, "approve"),
    ]
    child = world.a.students["g7c1"][0].pk
    assert approved_cover([child], _day(2))[child].whole_day
    assert AuditEvent.objects.filter(action="leave.approve", object_id=str(leave.pk)).count() == 2


def test_three_days_or_fewer_only_needs_the_head_teacher(world):
    leave = _apply(world, end_date=_day(3))
    assert leave.steps == ["head_teacher"]
    leave = _apply(
        world, kind="half_days", start_date=_day(5), end_date=_day(8), start_half="pm", end_half="am"
    )
    assert leave.steps == ["head_teacher"]  # three days, afternoon to morning


@pytest.mark.parametrize(
    "user", ["a_teacher", "a_parent", "b_head", "b_admin", "a_principal", "district_admin"]
)
def test_wrong_approver_gets_not_found(world, user):
    leave = _apply(world)
    with pytest.raises(NotFound):
        decide(world.user(user), leave.pk, "approve")
    leave.refresh_from_db()
    assert leave.status == Status.PENDING and not Decision.objects.exists()


def test_school_admin_may_always_decide(world):
    leave = _apply(world, end_date=_day(5))
    leave = decide(world.user("a_admin"), leave.pk, "approve")
    assert leave.current_role == "grade_director"
    leave = decide(world.user("a_admin"), leave.pk, "approve")
    assert leave.status == Status.APPROVED


def test_rejection_needs_a_comment_and_tells_family_and_head_teacher(world):
    leave = _apply(world, end_date=_day(5))
    decide(world.user("a_head"), leave.pk, "approve")
    with pytest.raises(InvalidInput) as exc:
        decide(world.user("a_director"), leave.pk, "reject", "  ")
    assert "comment" in exc.value.error_dict
    Notification.objects.all().delete()
    leave = decide(world.user("a_director"), leave.pk, "reject", "请先与班主任沟通")
    assert leave.status == Status.REJECTED
    assert set(Notification.objects.values_list("user_id", flat=True)) == {
        world.user("a_parent").pk,
        world.user("a_head").pk,
    }
    assert "请先与班主任沟通" in Notification.objects.get(user=world.user("a_parent")).body
    with pytest.raises(NotFound):
        decide(world.user("a_director"), leave.pk, "approve")
    assert approved_cover([world.a.students["g7c1"][0].pk], _day(1)) == {}


def test_configured_policy(world):
    policy = ApprovalPolicy.objects.create(
        district=world.district, school=world.a.school, remind_after_hours=4
    )
    ApprovalStep.objects.create(policy=policy, order=1, role="head_teacher")
    ApprovalStep.objects.create(policy=policy, order=2, role="principal", min_days=1)
    assert _apply(world).steps == ["head_teacher"]
    leave = _apply(world, start_date=_day(3), end_date=_day(4))
    assert leave.steps == ["head_teacher", "principal"]
    assert leave.remind_at - leave.step_started_at == datetime.timedelta(hours=4)
    decide(world.user("a_head"), leave.pk, "approve")
    assert decide(world.user("a_principal"), leave.pk, "approve").status == Status.APPROVED


def test_edit_and_cancel_until_decided(world):
    parent = world.user("a_parent")
    leave = _apply(world, attachments=[SimpleUploadedFile("a.pdf", PDF)])
    att = leave.attachments.get()
    leave = edit_leave(
        parent,
        leave.pk,
        kind="days",
        start_date=_day(2),
        end_date=_day(6),
        reason="family",
        reason_text="",
        remove_attachments=[att.pk],
        attachments=[SimpleUploadedFile("b.png", PNG)],
    )
    assert leave.start_date == _day(2) and leave.steps == ["head_teacher", "grade_director"]
    assert list(leave.attachments.values_list("original_name", flat=True)) == ["b.png"]
    with pytest.raises(NotFound):
        edit_leave(
            world.user("b_parent"), leave.pk, kind="days", start_date=_day(2), end_date=_day(2), reason="sick"
        )
    decide(world.user("a_head"), leave.pk, "approve")
    with pytest.raises(InvalidInput):
        edit_leave(parent, leave.pk, kind="days", start_date=_day(2), end_date=_day(2), reason="sick")
    Notification.objects.all().delete()
    leave = cancel_leave(parent, leave.pk)
    assert leave.status == Status.CANCELLED
    assert _inbox(world.user("a_director")) == ["leave.cancelled"]
    with pytest.raises(InvalidInput):
        cancel_leave(parent, leave.pk)
    assert AuditEvent.objects.filter(action__in=["leave.edit", "leave.cancel"]).count() == 2


def test_reminder_sent_once_per_period(world):
    leave = _apply(world)
    head = world.user("a_head")
    Notification.objects.all().delete()
    now = timezone.now()
    assert remind_overdue(now + datetime.timedelta(hours=23)) == 0
    assert remind_overdue(now + datetime.timedelta(hours=25)) == 1
    assert _inbox(head) == ["leave.pending"]
    assert remind_overdue(now + datetime.timedelta(hours=26)) == 0
    assert remind_overdue(now + datetime.timedelta(hours=30)) == 0
    assert len(_inbox(head)) == 1
    leave.refresh_from_db()
    assert leave.last_reminded_at == now + datetime.timedelta(hours=25)
    # The next period brings the next reminder; a decided request none.
    assert remind_overdue(now + datetime.timedelta(hours=50)) == 1
    decide(head, leave.pk, "approve")
    assert remind_overdue(now + datetime.timedelta(hours=100)) == 0
    assert len(_inbox(head)) == 2


def test_reminders_are_set_based(world, django_assert_max_num_queries):
    for i, child in enumerate(world.a.students["g7c1"][:2]):
        _apply(world, user=["a_parent", "a_parent_norec"][i], child=child)
    later = timezone.now() + datetime.timedelta(days=2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert remind_overdue(later) == 2
    assert len(ctx) < 25


def test_celery_task_runs_the_reminder(world):
    from schoolbridge.leave.tasks import remind_overdue_leave

    _apply(world)
    LeaveRequest.objects.update(remind_at=timezone.now() - datetime.timedelta(minutes=1))
    assert remind_overdue_leave.delay().get() == 1
    from django.conf import settings

    assert any(
        entry["task"] == "schoolbridge.leave.tasks.remind_overdue_leave"
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )


def test_staff_leave_on_the_same_engine(world):
    teacher = world.user("a_teacher")
    leave = apply_for_staff_leave(
        teacher,
        world.a.school.pk,
        kind="half_days",
        start_date=_day(1),
        end_date=_day(1),
        start_half="am",
        end_half="am",
        reason="medical",
    )
    assert leave.staff and leave.student is None and leave.steps == ["principal"]
    with pytest.raises(NotFound):
        apply_for_staff_leave(
            teacher, world.b.school.pk, kind="days", start_date=_day(1), end_date=_day(1), reason="sick"
        )
    with pytest.raises(NotFound):
        decide(world.user("a_head"), leave.pk, "approve")
    assert decide(world.user("a_principal"), leave.pk, "approve").status == Status.APPROVED
    assert _inbox(teacher)[-1] == "leave.approved"


def test_grade_director_step_with_nobody_falls_back_to_admins(world):
    RoleGrant.objects.filter(role="grade_director").delete()
    leave = _apply(world, end_date=_day(6))
    Notification.objects.all().delete()
    decide(world.user("a_head"), leave.pk, "approve")
    assert _inbox(world.user("a_admin")) == ["leave.pending"]


def test_periods_must_be_in_the_bell_schedule(world):
    from schoolbridge.schoolcal.models import BellPeriod
    from schoolbridge.schoolcal.queries import is_school_day

    day = _day(1)
    while not is_school_day(world.a.school, day):
        day += datetime.timedelta(days=1)
    for n, (start, half) in enumerate([(8, "am"), (9, "am"), (14, "pm")], start=1):
        BellPeriod.objects.create(
            district=world.district,
            school=world.a.school,
            term=world.a.term,
            number=n,
            start=datetime.time(start),
            end=datetime.time(start, 45),
            half=half,
        )
    with pytest.raises(InvalidInput) as exc:
        _apply(world, kind="periods", start_date=day, periods=[3, 4, 5])
    assert "4, 5" in str(exc.value.error_dict["periods"][0].messages)
    assert _apply(world, kind="periods", start_date=day, periods=[1, 3]).periods == [1, 3]
