"""Attendance history from a file: GBK CSV with Chinese headers through stage → map → check → commit →
rollback, located errors, re-runs, updates of existing marks, and no alerts or notifications."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from schoolbridge.attendance.actions import take_register
from schoolbridge.attendance.models import AttendanceAlert, AttendanceSettings, Correction, Mark, Register
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import Refused
from schoolbridge.core.models import Enrollment
from schoolbridge.imports import actions, mapping, report
from schoolbridge.imports.models import ImportRow
from schoolbridge.imports.sources.csv import read_csv
from schoolbridge.notify.models import Notification
from schoolbridge.schoolcal.models import CalendarException
from schoolbridge.testing.auth import login_verified

from .helpers import office_csv, run

pytestmark = pytest.mark.django_db

HEADER = ["学号", "姓名", "考勤日期", "考勤状态", "备注"]


@pytest.fixture
def admin(world):
    return world.user("a_admin")


def weekday_back(days_back):
    """A Monday-to-Friday day at least days_back days ago (the world's term began 90 days ago)."""
    day = timezone.localdate() - datetime.timedelta(days=days_back)
    while day.isoweekday() >= 6:
        day -= datetime.timedelta(days=1)
    return day


def saturday_back():
    day = timezone.localdate() - datetime.timedelta(days=7)
    while day.isoweekday() != 6:
        day -= datetime.timedelta(days=1)
    return day


def by_number(batch):
    return {r.number: r for r in ImportRow.objects.filter(batch=batch)}


def mark(student, day, period=None):
    return Mark.objects.filter(student=student, date=day, register__period=period).first()


def test_gbk_file_stage_map_check_commit_and_roll_back(world, admin):
    s1, s2 = world.a.students["g7c1"][:2]
    s3 = world.a.students["g7c2"][0]
    d1, d2 = weekday_back(3), weekday_back(10)
    rows = [
        [s1.student_number, "张一", f"{d1:%Y/%m/%d}", "出勤", ""],
        [s2.student_number, "张二", f"{d1:%Y年%m月%d日}", "缺勤", "发烧"],
        [s3.student_number, "张三", d1.isoformat(), "病假", "感冒"],
        [s1.student_number, "张一", f"{d2:%Y%m%d}", "迟到", ""],
        [s2.student_number, "张二", d2.isoformat(), "早退", "看牙"],
        [s3.student_number, "张三", d2.isoformat(), "事假", ""],
    ]
    data = office_csv(rows, header=HEADER)  # GBK by default
    table = read_csv(data)
    assert table.encoding.lower() in ("gbk", "gb18030") and table.headers == HEADER
    batch = actions.stage(admin, world.a.school, "attendance", table, filename="考勤.csv")
    assert batch.mapping == {
        "student_number": "学号",
        "date": "考勤日期",
        "status": "考勤状态",
        "note": "备注",
    }
    actions.set_mapping(admin, batch, batch.mapping)
    actions.mark_validating(admin, batch)
    batch = actions.check(batch.pk)
    assert batch.status == "previewed", batch.errors
    assert batch.counts["create"] == 6 and batch.counts["error"] == 0, batch.counts
    rows_by = by_number(batch)
    assert (
        rows_by[4].normalized["klass"] == world.a.g7c2.pk
        and rows_by[4].normalized["klass_label"] == "七年级2班"
    )
    assert rows_by[3].normalized["date"] == d1.isoformat() and rows_by[5].normalized["status"] == "late"

    alerts, notes = AttendanceAlert.objects.count(), Notification.objects.exclude(kind="imports").count()
    batch = actions.commit(admin, batch.pk)
    assert batch.status == "committed", batch.errors
    assert batch.counts["committed"]["created"] == 6
    assert mark(s1, d1).status == "present" and mark(s2, d1).status == "absent"
    assert mark(s2, d1).note == "发烧" and mark(s3, d1).status == "sick" and mark(s1, d2).status == "late"
    assert mark(s2, d2).status == "early_leave" and mark(s3, d2).status == "excused"
    assert set(Mark.objects.values_list("source", flat=True)) == {"import"}
    assert mark(s2, d1).register.klass == world.a.g7c1 and mark(s3, d1).register.klass == world.a.g7c2
    registers = Register.objects.filter(school=world.a.school)
    assert registers.count() == 4  # two classes on two days, daily registers, not taken
    assert not registers.filter(taken_at__isnull=False).exists()
    # Past attendance only: no alert, no notice to families or staff, no correction rows.
    assert AttendanceAlert.objects.count() == alerts
    assert Notification.objects.exclude(kind="imports").count() == notes
    assert not Correction.objects.exists()
    assert AuditEvent.objects.filter(action="attendance.marks.import").count() == 4
    assert AuditEvent.objects.filter(action="imports.batch.commit", object_id=str(batch.pk)).exists()

    batch = actions.rollback(admin, batch)
    assert batch.status == "rolled_back"
    assert not Mark.objects.exists() and not Register.objects.exists()
    assert AuditEvent.objects.filter(action="attendance.marks.import_undo").count() == 4


def test_bad_rows_get_located_errors_in_english(world, admin):
    s1, s2 = world.a.students["g7c1"][:2]
    s3 = world.a.students["g7c2"][0]
    other_school = world.b.students["g7c1"][0]
    d1 = weekday_back(3)
    holiday = weekday_back(17)
    CalendarException.objects.create(district=world.district, school=world.a.school, kind="holiday",
                                     name="校庆", start_date=holiday, end_date=holiday)  # fmt: skip
    future = timezone.localdate() + datetime.timedelta(days=3)
    rows = [
        ["NOPE", "x", d1.isoformat(), "出勤", ""],  # 2 unknown student
        [s1.student_number, "x", "2026-13-45", "出勤", ""],  # 3 bad date
        [s1.student_number, "x", future.isoformat(), "出勤", ""],  # 4 future
        [s2.student_number, "x", d1.isoformat(), "旷工了", ""],  # 5 unknown status
        [s3.student_number, "x", d1.isoformat(), "缺勤", ""],  # 6 duplicate of 7
        [s3.student_number, "x", d1.isoformat(), "出勤", ""],  # 7 duplicate of 6
        [s1.student_number, "x", holiday.isoformat(), "出勤", ""],  # 8 holiday
        [s1.student_number, "x", saturday_back().isoformat(), "出勤", ""],  # 9 weekend
        [other_school.student_number, "x", d1.isoformat(), "出勤", ""],  # 10 a student of school B
        [s1.student_number, "x", d1.isoformat(), "present", "fine"],  # 11 valid, English status
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=HEADER), target="attendance")
    assert batch.counts["error"] == 9 and batch.counts["create"] == 1, batch.counts
    rows_by = by_number(batch)
    with translation.override("en"):
        said = {
            n: [(e["column"], e["value"], report.message(e)) for e in r.errors] for n, r in rows_by.items()
        }
    assert said[2] == [("学号", "NOPE", "No student of this school has the number NOPE.")]
    assert said[3] == [("考勤日期", "2026-13-45", "No such date")]
    assert said[4] == [("考勤日期", f"{future:%Y-%m-%d}",
                        f"{future.isoformat()} is in the future: only past attendance can be imported.")]  # fmt: skip
    assert said[5][0][:2] == ("考勤状态", "旷工了") and said[5][0][2].startswith("Unknown attendance status")
    assert said[6] == [
        ("学号", s3.student_number, "The same student, day and period appear again: also in row 7.")
    ]
    assert said[7] == [
        ("学号", s3.student_number, "The same student, day and period appear again: also in row 6.")
    ]
    assert said[8][0][0] == "考勤日期" and "is not a school day" in said[8][0][2]
    assert holiday.isoformat() in said[8][0][2]
    assert "is not a school day" in said[9][0][2]
    assert said[10] == [("学号", other_school.student_number,
                         f"The student {other_school.student_number} is not enrolled in this school.")]  # fmt: skip
    assert rows_by[11].action == "create" and rows_by[11].normalized["status"] == "present"
    with translation.override("en"):
        data = report.error_report(batch, ImportRow.objects.filter(batch=batch).exclude(errors=[]).iterator())
    assert data[:2] == b"PK"  # the Excel error report is built from the same located errors

    batch = actions.commit(admin, batch.pk)  # the valid row only
    assert batch.status == "committed" and batch.counts["committed"]["created"] == 1
    assert Mark.objects.count() == 1 and mark(s1, d1).note == "fine"


def test_same_file_again_changes_nothing(world, admin):
    s1, s2 = world.a.students["g7c1"][:2]
    d1 = weekday_back(4)
    data = office_csv(
        [
            [s1.student_number, "x", d1.isoformat(), "缺勤", "发烧"],
            [s2.student_number, "x", d1.isoformat(), "出勤", ""],
        ],
        header=HEADER,
    )
    actions.commit(admin, run(admin, world.a.school, data, target="attendance").pk)
    marks = list(Mark.objects.order_by("pk").values_list("pk", "status", "note", "updated_at"))
    audit = AuditEvent.objects.filter(action__startswith="attendance.").count()
    again = run(admin, world.a.school, data, target="attendance")
    assert (again.counts["create"], again.counts["update"], again.counts["unchanged"]) == (0, 0, 2)
    again = actions.commit(admin, again.pk)
    assert again.status == "committed" and again.counts["committed"] == {**again.counts["committed"],
                                                                        "created": 0, "updated": 0}  # fmt: skip
    assert list(Mark.objects.order_by("pk").values_list("pk", "status", "note", "updated_at")) == marks
    assert AuditEvent.objects.filter(action__startswith="attendance.").count() == audit
    # Rolling back the empty re-run changes nothing either; the first batch still rolls back.
    actions.rollback(admin, again)
    assert Mark.objects.count() == 2


def test_existing_mark_is_an_update_and_rollback_restores_it(world, admin):
    klass = world.a.g7c1
    s1, s2, s3 = world.a.students["g7c1"]
    d1 = weekday_back(5)
    # The register was taken in SchoolBridge already (after its cutoff: a correction with a reason).
    take_register(admin, klass, d1, exceptions={s3.pk: ("late", "公交晚点")}, reason="补录")
    corrections = Correction.objects.count()
    rows = [
        [s1.student_number, "x", d1.isoformat(), "出勤", ""],  # same: unchanged
        [s2.student_number, "x", d1.isoformat(), "病假", "发烧"],  # present → sick: update
        [s3.student_number, "x", d1.isoformat(), "迟到", ""],  # late, blank note keeps the note: unchanged
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=HEADER), target="attendance")
    rows_by = by_number(batch)
    assert [rows_by[n].action for n in (2, 3, 4)] == ["unchanged", "update", "unchanged"]
    assert rows_by[3].changes == {"status": ["present", "sick"], "note": ["", "发烧"]}
    # The preview shows the change with the statuses' labels (zh-Hans by default).
    client = Client()
    login_verified(client, admin)
    page = client.get(reverse("imports:batch", args=[world.a.school.pk, batch.pk])).content.decode()
    assert "出勤 → 病假" in page and "— → 发烧" in page

    before = mark(s2, d1)
    assert (before.status, before.source) == ("present", "correction")
    batch = actions.commit(admin, batch.pk)
    assert batch.counts["committed"]["updated"] == 1
    after = mark(s2, d1)
    assert (after.pk, after.status, after.note, after.source) == (before.pk, "sick", "发烧", "import")
    assert Correction.objects.count() == corrections  # an import is not a correction
    assert Register.objects.count() == 1

    actions.rollback(admin, batch)
    restored = mark(s2, d1)
    assert (restored.status, restored.note, restored.source) == ("present", "", "correction")
    assert mark(s3, d1).note == "公交晚点" and Register.objects.filter(taken_at__isnull=False).count() == 1


def test_rollback_refused_when_registers_changed_afterwards(world, admin):
    klass = world.a.g7c1
    s1, s2, _s3 = world.a.students["g7c1"]
    d1 = weekday_back(6)
    rows = [
        [s1.student_number, "x", d1.isoformat(), "缺勤", ""],
        [s2.student_number, "x", d1.isoformat(), "出勤", ""],
    ]
    batch = actions.commit(
        admin, run(admin, world.a.school, office_csv(rows, header=HEADER), target="attendance").pk
    )
    assert batch.status == "committed"
    # A head teacher corrects the imported register afterwards: s1 was there after all.
    take_register(admin, klass, d1, exceptions={}, reason="核对纸质点名册")
    assert mark(s1, d1).status == "present"
    with pytest.raises(Refused):
        actions.rollback(admin, batch)
    batch.refresh_from_db()
    assert batch.status == "committed"
    assert mark(s1, d1).status == "present" and Mark.objects.filter(date=d1).count() == 3


def test_history_before_the_enrollment_and_period_registers(world, admin):
    s3 = world.a.students["g7c2"][0]
    d1 = weekday_back(8)
    # A school moving mid-year enrolls its students on the day it brings them in: the history before that
    # goes on the class they were enrolled in, as its school year covers the day.
    Enrollment.objects.filter(student=s3).update(start_date=timezone.localdate())
    AttendanceSettings.objects.create(district=world.district, school=world.a.school, mode="period")
    header = ["Student number", "Date", "Period", "Status", "Reason"]
    rows = [
        [s3.student_number, d1.isoformat(), "第1节", "absent", "dentist"],
        [s3.student_number, d1.isoformat(), "2", "present", ""],
        [s3.student_number, d1.isoformat(), "", "late", ""],  # no period: the daily register
        [s3.student_number, d1.isoformat(), "第25节", "present", ""],
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=header), target="attendance")
    assert batch.mapping == {"student_number": "Student number", "date": "Date", "period": "Period",
                             "status": "Status", "note": "Reason"}  # fmt: skip
    rows_by = by_number(batch)
    assert [rows_by[n].action for n in (2, 3, 4, 5)] == ["create", "create", "create", "error"], [
        r.errors for r in rows_by.values()
    ]
    with translation.override("en"):
        assert report.message(rows_by[5].errors[0]).startswith("Not a period")
    actions.commit(admin, batch.pk)
    assert sorted(Register.objects.filter(klass=world.a.g7c2, date=d1).values_list("period", flat=True),
                  key=lambda p: p or 0) == [None, 1, 2]  # fmt: skip
    assert mark(s3, d1, 1).status == "absent" and mark(s3, d1, 2).status == "present"
    assert mark(s3, d1).status == "late"

    # A daily school refuses periods.
    AttendanceSettings.objects.filter(school=world.a.school).update(mode="daily")
    batch = run(admin, world.a.school, office_csv(rows[:1], header=header), target="attendance")
    with translation.override("en"):
        assert [report.message(e) for e in by_number(batch)[2].errors] == [
            "This school takes one register a day: leave the period empty."
        ]


def test_status_words_and_suggested_columns():
    from schoolbridge.imports import transforms as t

    words = {"出勤": "present", "缺勤": "absent", "迟到": "late", "早退": "early_leave", "病假": "sick",
             "事假": "excused", "Present": "present", "ABSENT": "absent", "left early": "early_leave",
             "sick leave": "sick", "excused": "excused", "旷课": "absent", "请假": "excused"}  # fmt: skip
    assert {w: t.attendance_status(w) for w in words} == words
    with pytest.raises(t.TransformError):
        t.attendance_status("maybe")
    assert [t.period(v) for v in ("3", "第3节", "第十节", "", None)] == [3, 3, 10, None, None]
    assert mapping.suggest("attendance", ["学号", "日期", "节次", "状态", "原因"]) == {
        "student_number": "学号", "date": "日期", "period": "节次", "status": "状态", "note": "原因"}  # fmt: skip


def test_through_the_pages(client, world, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from schoolbridge.imports.models import ImportBatch

    login_verified(client, admin)
    school = world.a.school
    s1, s2 = world.a.students["g7c1"][:2]
    d1 = weekday_back(3)
    rows = [[s1.student_number, "x", d1.isoformat(), "缺勤", "发烧"], [s2.student_number, "x", d1.isoformat(), "迟到", ""],
            ["NOPE", "x", d1.isoformat(), "出勤", ""]]  # fmt: skip
    f = SimpleUploadedFile("考勤.csv", office_csv(rows, header=HEADER), content_type="text/csv")
    r = client.post(
        reverse("imports:upload", args=[school.pk]), {"target": "attendance", "file": f, "header_row": 1}
    )
    batch = ImportBatch.objects.get()
    assert r.status_code == 302 and batch.target == "attendance"
    page = client.get(r["Location"]).content.decode()
    assert '<option value="考勤状态" selected>' in page
    r = client.post(reverse("imports:mapping", args=[school.pk, batch.pk]), batch.mapping)
    assert r.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "previewed" and (batch.counts["create"], batch.counts["error"]) == (2, 1)
    page = client.get(reverse("imports:batch", args=[school.pk, batch.pk])).content.decode()
    assert 'data-count="create">2<' in page and "NOPE" in page
    r = client.post(reverse("imports:commit", args=[school.pk, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "committed" and mark(s1, d1).status == "absent" and mark(s2, d1).status == "late"
    r = client.post(reverse("imports:rollback", args=[school.pk, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "rolled_back" and not Mark.objects.exists()


def test_only_who_may_manage_students_records(world):
    from schoolbridge.core.errors import NotFound

    data = office_csv([[world.a.students["g7c1"][0].student_number, "x", weekday_back(3).isoformat(), "出勤", ""]],
                      header=HEADER)  # fmt: skip
    # A district administrator without a records grant manages the school's tree and staff, not its
    # students' attendance.
    with pytest.raises(NotFound):
        actions.stage(world.user("district_admin"), world.a.school, "attendance", read_csv(data))
    with pytest.raises(NotFound):
        actions.stage(world.user("b_admin"), world.a.school, "attendance", read_csv(data))
