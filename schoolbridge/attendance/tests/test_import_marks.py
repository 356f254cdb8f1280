"""attendance.import_marks / undo_imported_marks on their own: who may, what is refused, what is written."""

import datetime

import pytest
from django.utils import timezone, translation

from schoolbridge.attendance.actions import ImportedMark, import_marks, take_register, undo_imported_marks
from schoolbridge.attendance.alerts import alert_school
from schoolbridge.attendance.models import AttendanceAlert, AttendanceSettings, Mark, Register
from schoolbridge.core.errors import InvalidInput, NotFound, Refused
from schoolbridge.notify.models import Notification
from schoolbridge.schoolcal.models import BellPeriod

from .conftest import ensure_school_day, past_weekday

pytestmark = pytest.mark.django_db


def test_refusals_are_located_and_write_nothing(world):
    admin = world.user("a_admin")
    s1, s2, _s3 = world.a.students["g7c1"]
    other = world.a.students["g7c2"][0]
    day = past_weekday(2)
    future = timezone.localdate() + datetime.timedelta(days=2)
    marks = [
        ImportedMark(10, s1.pk, world.a.g7c1.pk, day, None, "absent", "发烧"),
        ImportedMark(11, s2.pk, world.a.g7c1.pk, future, None, "present"),
        ImportedMark(12, other.pk, world.a.g7c1.pk, day, None, "present"),  # never in that class
        ImportedMark(13, s2.pk, world.a.g7c1.pk, day, None, "asleep"),
        ImportedMark(14, s1.pk, world.a.g7c1.pk, day, None, "late"),  # s1 on that day again
        ImportedMark(15, s2.pk, world.a.g7c1.pk, day, 3, "present"),  # a daily school
    ]
    with translation.override("en"):
        with pytest.raises(InvalidInput) as exc:
            import_marks(admin, world.a.school, marks)
        problems = {k: [str(m) for m in v] for k, v in exc.value.message_dict.items()}
    assert set(problems) == {"11", "12", "13", "14", "15"}
    assert problems["11"] == [f"{future:%m/%d/%Y} has not come yet."]
    assert problems["12"] == ["This student was never in the class 七年级1班."]
    assert problems["13"] == ["Choose one of the statuses offered."]
    assert problems["14"] == ["The same student, day and period appear again: also 10."]
    assert problems["15"] == ["This school takes one register a day, not per period."]
    assert not Mark.objects.exists() and not Register.objects.exists()


def test_only_who_manages_the_school_and_its_students(world):
    s1 = world.a.students["g7c1"][0]
    mark = ImportedMark(1, s1.pk, world.a.g7c1.pk, past_weekday(2), None, "absent")
    for name in ("a_teacher", "a_head", "b_admin", "a_parent"):
        with pytest.raises(NotFound):
            import_marks(world.user(name), world.a.school, [mark])
    with pytest.raises(NotFound):  # a school B student through school A
        import_marks(world.user("a_admin"), world.a.school, [ImportedMark(1, world.b.students["g7c1"][0].pk,
                                                                          world.a.g7c1.pk, mark.day, None, "absent")])  # fmt: skip
    assert not Mark.objects.exists()


def test_period_registers_follow_the_bell_schedule(world):
    admin = world.user("a_admin")
    s1 = world.a.students["g7c1"][0]
    AttendanceSettings.objects.create(district=world.district, school=world.a.school, mode="period")
    for number, half in ((1, "am"), (2, "pm")):
        BellPeriod.objects.create(district=world.district, school=world.a.school, term=world.a.term, weekday=0,
                                  number=number, start=datetime.time(7 + number), end=datetime.time(8 + number),
                                  half=half)  # fmt: skip
    day = past_weekday(2)
    with translation.override("en"):
        with pytest.raises(InvalidInput) as exc:
            import_marks(admin, world.a.school, [ImportedMark(5, s1.pk, world.a.g7c1.pk, day, 3, "absent")])
        assert str(exc.value.message_dict["5"][0]).startswith("There is no period 3 on ")
    done = import_marks(admin, world.a.school, [ImportedMark(5, s1.pk, world.a.g7c1.pk, day, 2, "absent")])
    register = Register.objects.get(pk=done[5]["register"])
    assert (register.period, register.half, register.taken_at) == (2, "pm", None)
    assert done[5]["created"] and done[5]["register_created"]


def test_today_imported_marks_send_nothing_and_count_as_marked(world, today):
    """Even a mark imported for today (not the future) fires nothing, and the alert run then treats the
    student as marked, like any register mark."""
    admin = world.user("a_admin")
    s1, s2, s3 = world.a.students["g7c1"]
    notes = Notification.objects.count()
    import_marks(
        admin, world.a.school, [ImportedMark(1, s1.pk, world.a.g7c1.pk, today, None, "absent", "病")]
    )
    assert Notification.objects.count() == notes and not AttendanceAlert.objects.exists()
    settings = AttendanceSettings.objects.get(school=world.a.school)
    alert_school(settings, today, timezone.now())
    alerted = set(AttendanceAlert.objects.values_list("student_id", flat=True))
    assert s1.pk not in alerted and {s2.pk, s3.pk} <= alerted


def test_undo_restores_and_refuses_after_later_changes(world):
    admin = world.user("a_admin")
    s1, s2, s3 = world.a.students["g7c1"]
    day = ensure_school_day(world.a.school, past_weekday(3))
    take_register(admin, world.a.g7c1, day, exceptions={}, reason="补录")  # all present, after the cutoff
    done = import_marks(
        admin,
        world.a.school,
        [
            ImportedMark(1, s1.pk, world.a.g7c1.pk, day, None, "present"),  # the same: nothing
            ImportedMark(2, s2.pk, world.a.g7c1.pk, day, None, "sick", "发烧"),
        ],
    )
    assert done[1] == {"mark": done[1]["mark"], "unchanged": True}
    assert done[2]["before"]["status"] == "present" and done[2]["before"]["source"] == "correction"
    assert Mark.objects.get(student=s2, date=day).source == "import"
    assert undo_imported_marks(admin, world.a.school, list(done.values())) == 1
    m = Mark.objects.get(student=s2, date=day)
    assert (m.status, m.note, m.source) == ("present", "", "correction")

    done = import_marks(admin, world.a.school, [ImportedMark(2, s3.pk, world.a.g7c1.pk, day, None, "late")])
    take_register(admin, world.a.g7c1, day, exceptions={s3.pk: ("absent", "")}, reason="核对")
    with pytest.raises(Refused):
        undo_imported_marks(admin, world.a.school, list(done.values()))
    assert Mark.objects.get(student=s3, date=day).status == "absent"


def test_undo_refused_after_a_gate_arrival_on_an_imported_mark(world):
    from schoolbridge.attendance import gate

    admin = world.user("a_admin")
    s1 = world.a.students["g7c1"][0]
    day = past_weekday(2)
    done = import_marks(admin, world.a.school, [ImportedMark(1, s1.pk, world.a.g7c1.pk, day, None, "absent")])
    device, _raw = gate.create_device(admin, world.a.school, "东门")
    arrival = timezone.make_aware(datetime.datetime.combine(day, datetime.time(7, 30)))
    gate.ingest(device, [gate.IncomingEvent(event_id="e1", time=arrival, direction="in", student_id=s1.pk)])
    assert Mark.objects.get(student=s1, date=day).arrived_at is not None
    with pytest.raises(Refused):
        undo_imported_marks(admin, world.a.school, list(done.values()))
    assert Mark.objects.filter(student=s1, date=day).exists()
