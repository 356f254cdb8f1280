import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.access.scope import get_scope
from schoolbridge.attendance import actions, queries
from schoolbridge.attendance.models import AttendanceSettings, Correction, Mark, Register
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound, Refused
from schoolbridge.leave.models import LeaveRequest
from schoolbridge.schoolcal.actions import PeriodIn, set_bell_schedule

from .conftest import add_students, ensure_school_day, past_weekday


def approved_leave(world, student, day, **kw):
    return LeaveRequest.objects.create(
        district=world.district,
        school=student.school,
        student=student,
        applicant=world.user("a_parent"),
        start_date=day,
        end_date=day,
        reason="sick",
        status="approved",
        **kw,
    )


def statuses(register):
    return {m.student_id: m.status for m in register.marks.all()}


def test_teacher_takes_register_everyone_present_but_exceptions(world, today):
    s1, s2, s3 = world.a.students["g7c1"]
    reg = actions.take_register(
        world.user("a_teacher"),
        world.a.g7c1,
        today,
        exceptions={s2.pk: ("absent", "发烧"), s3.pk: ("late", "")},
    )
    assert statuses(reg) == {s1.pk: "present", s2.pk: "absent", s3.pk: "late"}
    assert reg.marks.get(student=s2).note == "发烧"
    assert reg.taken_by == world.user("a_teacher") and reg.taken_at is not None
    ev = AuditEvent.objects.get(action="attendance.register.take")
    assert ev.after is not None
    assert ev.after["new_exceptions"] == {str(s2.pk): ["absent", "发烧"], str(s3.pk): ["late", ""]}
    # taken again before the cutoff: s2 came after all; only the change is written
    reg = actions.take_register(world.user("a_head"), world.a.g7c1, today, exceptions={s3.pk: ("late", "")})
    assert statuses(reg) == {s1.pk: "present", s2.pk: "present", s3.pk: "late"}
    assert Register.objects.count() == 1 and Mark.objects.count() == 3
    assert not Correction.objects.exists()


@pytest.mark.parametrize("username", ["a_parent", "a_principal", "b_teacher", "b_admin", "teacher_parent"])
def test_out_of_scope_is_not_found_and_writes_nothing(world, today, username):
    with pytest.raises(NotFound):
        actions.take_register(world.user(username), world.a.g7c1, today)
    assert not Register.objects.exists()


def test_bad_input_is_refused_with_field_errors(world, today):
    teacher = world.user("a_teacher")
    other = world.a.students["g7c2"][0]
    s1 = world.a.students["g7c1"][0]
    with pytest.raises(InvalidInput) as exc:
        actions.take_register(
            teacher, world.a.g7c1, today, exceptions={other.pk: ("absent", ""), s1.pk: ("asleep", "")}
        )
    assert set(exc.value.message_dict) == {f"exceptions.{other.pk}", f"exceptions.{s1.pk}"}
    with pytest.raises(InvalidInput) as exc:
        actions.take_register(teacher, world.a.g7c1, today + datetime.timedelta(days=1))
    assert "date" in exc.value.message_dict
    with pytest.raises(InvalidInput) as exc:
        actions.take_register(teacher, world.a.g7c1, today, period=2)  # daily school
    assert "period" in exc.value.message_dict
    assert not Register.objects.exists() and not Mark.objects.exists()


def test_holiday_is_refused(world):
    day = past_weekday(0)
    from schoolbridge.schoolcal.models import CalendarException

    CalendarException.objects.create(
        district=world.district,
        school=world.a.school,
        kind="holiday",
        name="校庆",
        start_date=day,
        end_date=day,
    )
    with pytest.raises(InvalidInput) as exc:
        actions.take_register(world.user("a_admin"), world.a.g7c1, day, reason="补录")
    assert "date" in exc.value.message_dict


def test_after_cutoff_teacher_refused_head_needs_reason_and_is_audited(world):
    day = past_weekday(3)  # its cutoff (18:00 that day) has passed
    s1, s2, _s3 = world.a.students["g7c1"]
    with pytest.raises(Refused):
        actions.take_register(world.user("a_teacher"), world.a.g7c1, day)
    with pytest.raises(InvalidInput) as exc:
        actions.take_register(world.user("a_head"), world.a.g7c1, day, exceptions={s1.pk: ("sick", "")})
    assert "reason" in exc.value.message_dict
    assert not Register.objects.exists()
    reg = actions.take_register(
        world.user("a_head"), world.a.g7c1, day, exceptions={s1.pk: ("sick", "")}, reason="补登"
    )
    # an administrator corrects again: s1 was only late
    reg = actions.take_register(
        world.user("a_admin"),
        world.a.g7c1,
        day,
        exceptions={s1.pk: ("late", "8:20 到校"), s2.pk: ("absent", "")},
        reason="家长来电更正",
    )
    assert statuses(reg)[s1.pk] == "late"
    c = Correction.objects.get(mark__student=s1, reason="家长来电更正")
    assert (c.before_status, c.after_status, c.after_note) == ("sick", "late", "8:20 到校")
    assert c.actor == world.user("a_admin")
    assert reg.marks.get(student=s1).source == "correction"
    ev = AuditEvent.objects.filter(action="attendance.register.correct").latest("pk")
    assert ev.before is not None and ev.after is not None
    assert ev.before["marks"][str(s1.pk)] == ["sick", ""]
    assert ev.after["marks"][str(s1.pk)] == ["late", "8:20 到校"] and ev.after["reason"] == "家长来电更正"
    # the teacher still cannot
    with pytest.raises(Refused):
        actions.take_register(world.user("a_teacher"), world.a.g7c1, day, reason="x")


def test_cutoff_follows_school_setting(world):
    day = past_weekday(1)
    AttendanceSettings.objects.create(
        district=world.district, school=world.a.school, cutoff_time=datetime.time(23, 59), cutoff_days=7
    )
    reg = actions.take_register(world.user("a_teacher"), world.a.g7c1, day)
    assert reg.cutoff_at > timezone.now()


def test_approved_leave_defaults_to_excused(world, today):
    s1, s2, s3 = world.a.students["g7c1"]
    leave = approved_leave(world, s1, today)
    approved_leave(world, s2, today, kind="half_days", start_half="am", end_half="am")
    view = queries.register_view(world.a.g7c1, today, None)
    rows = {r.student.pk: r for r in view.rows}
    assert rows[s1.pk].status == "excused" and rows[s1.pk].leave_applies
    assert rows[s2.pk].leave is not None and not rows[s2.pk].leave_applies  # half day: shown, not the day
    reg = actions.take_register(world.user("a_teacher"), world.a.g7c1, today)
    m1 = reg.marks.get(student=s1)
    assert (m1.status, m1.leave_id) == ("excused", leave.pk)
    assert statuses(reg)[s2.pk] == "present" and statuses(reg)[s3.pk] == "present"


def test_period_registers_and_half_day_leave(world, today):
    admin = world.user("a_admin")
    actions.set_attendance_settings(admin, world.a.school, "period", datetime.time(18, 0), cutoff_days=1)
    set_bell_schedule(
        admin,
        world.a.term,
        0,
        [
            PeriodIn(1, datetime.time(8), datetime.time(8, 45), "am"),
            PeriodIn(5, datetime.time(14), datetime.time(14, 45), "pm"),
        ],
    )
    s1 = world.a.students["g7c1"][0]
    approved_leave(world, s1, today, kind="half_days", start_half="am", end_half="am")
    teacher = world.user("a_teacher")
    with pytest.raises(InvalidInput):
        actions.take_register(teacher, world.a.g7c1, today)  # period required
    with pytest.raises(InvalidInput):
        actions.take_register(teacher, world.a.g7c1, today, period=3)  # not in the schedule
    am = actions.take_register(teacher, world.a.g7c1, today, period=1)
    pm = actions.take_register(teacher, world.a.g7c1, today, period=5)
    assert statuses(am)[s1.pk] == "excused" and statuses(pm)[s1.pk] == "present"


def test_gate_mark_is_kept(world, today):
    s1 = world.a.students["g7c1"][0]
    reg = Register.objects.create(
        district=world.district,
        school=world.a.school,
        klass=world.a.g7c1,
        date=today,
        cutoff_at=actions.cutoff_for(queries.settings_for(world.a.school), today),
    )
    Mark.objects.create(
        district=world.district,
        school=world.a.school,
        register=reg,
        student=s1,
        date=today,
        status="late",
        source="gate",
    )
    reg = actions.take_register(world.user("a_teacher"), world.a.g7c1, today)
    assert statuses(reg)[s1.pk] == "late"


def _save_queries(world, klass, day, n_exceptions=3):
    students = queries.roster(klass, day)
    get_scope(world.user("a_head"))  # the user's grants are loaded once per request, not per save
    exceptions = {s.pk: ("absent", "") for s in students[:n_exceptions]}
    with CaptureQueriesContext(connection) as ctx:
        actions.take_register(world.user("a_head"), klass, day, exceptions=exceptions)
    first = len(ctx.captured_queries)
    exceptions = {s.pk: ("late", "") for s in students[-n_exceptions:]}
    with CaptureQueriesContext(connection) as ctx:
        actions.take_register(world.user("a_head"), klass, day, exceptions=exceptions)
    return first, len(ctx.captured_queries)


def test_saving_a_register_takes_a_constant_number_of_queries(world, today):
    # g7c1 with 10 students, then the same class on another day with 50
    add_students(world.a.g7c1, 7)
    small = _save_queries(world, world.a.g7c1, today)
    add_students(world.a.g7c1, 40, tag="Y")
    other = ensure_school_day(
        world.a.school, past_weekday(0) if past_weekday(0) != today else past_weekday(1)
    )
    AttendanceSettings.objects.filter(school=world.a.school).update(cutoff_days=7)
    assert len(queries.roster(world.a.g7c1, other)) == 50
    large = _save_queries(world, world.a.g7c1, other)
    assert small == large, (small, large)
    assert large[0] <= 25
