import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.attendance import actions, alerts, gate, queries
from schoolbridge.attendance.models import AttendanceAlert, AttendanceSettings, GateDevice, StudentCard
from schoolbridge.core.models import Guardianship
from schoolbridge.notify.models import Notification
from schoolbridge.web.tests.helpers import english_client, verified_client

from .conftest import add_students, ensure_school_day, past_weekday
from .test_actions import approved_leave


@pytest.fixture
def day(world):
    d = past_weekday(1)
    AttendanceSettings.objects.create(
        district=world.district,
        school=world.a.school,
        cutoff_days=7,
        late_after=datetime.time(8, 0),
        alert_at=datetime.time(9, 0),
    )
    ensure_school_day(world.a.school, d)
    return d


def at(day, hh, mm):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hh, mm)))


@pytest.fixture
def device(world):
    d, _raw = gate.create_device(world.user("a_admin"), world.a.school, "东门")
    for i, s in enumerate(world.a.students["g7c1"]):
        StudentCard.objects.create(district=world.district, school=world.a.school, student=s, number=f"C{i}")
    return GateDevice.objects.select_related("school").get(pk=d.pk)


def arrive(device, day, *cards, hh=7, mm=45, direction="in", prefix="e"):
    return gate.ingest(
        device,
        [
            gate.IncomingEvent(f"{prefix}{direction}{c}{hh}{mm}", at(day, hh, mm), direction, card=c)
            for c in cards
        ],
        now=at(day, 18, 0),
    )


def inbox(username, world, kind="attendance.absence"):
    return list(Notification.objects.filter(user=world.user(username), kind=kind))


def test_absence_alert_once_to_guardians_and_head_teacher(world, day, device):
    s1, s2, s3 = world.a.students["g7c1"]
    arrive(device, day, "C0")  # s1 arrived
    approved_leave(world, s3, day)  # s3 on approved leave
    # s2 is missing; so is everyone in g7c2 and g8c1 (no guardians with accounts there)
    assert alerts.send_absence_alerts(now=at(day, 8, 59)) == 0  # before the school's alert time
    sent = alerts.send_absence_alerts(now=at(day, 9, 1))
    assert sent == 7  # s2 + 3 + 3
    assert {a.student_id for a in AttendanceAlert.objects.filter(date=day)} == {
        s2.pk,
        *[s.pk for s in world.a.students["g7c2"]],
        *[s.pk for s in world.a.students["g8c1"]],
    }
    guardian = inbox("a_parent_norec", world)
    assert len(guardian) == 1 and s2.person.given_name in guardian[0].title
    assert inbox("a_parent", world) == []  # s1 arrived
    head = inbox("a_head", world)
    assert len(head) == 1 and s2.person.given_name in head[0].body
    assert s3.person.given_name not in head[0].body
    # re-running sends nothing new
    assert alerts.send_absence_alerts(now=at(day, 9, 4)) == 0
    assert len(inbox("a_parent_norec", world)) == 1 and len(inbox("a_head", world)) == 1


def test_register_mark_suppresses_alert_and_guardians_without_notices_are_skipped(world, day, device):
    s1, s2, _s3 = world.a.students["g7c1"]
    Guardianship.objects.filter(student=s2).update(receives_notices=False)
    actions.take_register(world.user("a_teacher"), world.a.g7c1, day, exceptions={s1.pk: ("absent", "")})
    alerts.send_absence_alerts(now=at(day, 10, 0))
    # the register was taken: nobody in g7c1 is alerted (an absent mark is the teacher's knowledge)
    assert not AttendanceAlert.objects.filter(student__in=world.a.students["g7c1"]).exists()
    assert inbox("a_parent", world) == [] and inbox("a_head", world) == []


def test_leave_suppresses_alert(world, day, device):
    s1, s2, s3 = world.a.students["g7c1"]
    arrive(device, day, "C2")
    approved_leave(world, s1, day)
    approved_leave(world, s2, day, kind="half_days", start_half="am", end_half="am")
    afternoon = world.a.students["g7c2"][0]
    approved_leave(world, afternoon, day, kind="half_days", start_half="pm", end_half="pm")
    alerts.send_absence_alerts(now=at(day, 9, 30))
    assert not AttendanceAlert.objects.filter(student__in=[s1, s2, s3]).exists()
    assert AttendanceAlert.objects.filter(student=afternoon).exists()  # expected in the morning
    assert inbox("a_parent", world) == [] and inbox("a_parent_norec", world) == []


def test_no_alerts_on_non_school_days_or_for_schools_without_settings(world, device):
    AttendanceSettings.objects.create(district=world.district, school=world.a.school)
    d = timezone.localdate() - datetime.timedelta(days=1)
    while d.isoweekday() < 6:
        d -= datetime.timedelta(days=1)
    assert alerts.send_absence_alerts(now=at(d, 11, 0)) == 0
    assert not AttendanceAlert.objects.exists()
    weekday = past_weekday(1)
    alerts.send_absence_alerts(now=at(weekday, 11, 0))
    assert not AttendanceAlert.objects.filter(school=world.b.school).exists()


def test_departure_notice_once_per_day_when_enabled(world, day, device):
    s1 = world.a.students["g7c1"][0]
    arrive(device, day, "C0")
    arrive(device, day, "C0", hh=12, mm=5, direction="out")
    assert inbox("a_parent", world, "attendance.departure") == []  # off by default
    AttendanceSettings.objects.filter(school=world.a.school).update(departure_notices=True)
    device.school.refresh_from_db()
    arrive(device, day, "C0", hh=16, mm=42, direction="out")
    arrive(device, day, "C0", hh=16, mm=50, direction="out")
    got = inbox("a_parent", world, "attendance.departure")
    assert len(got) == 1 and "16:42" in got[0].title and s1.person.given_name in got[0].title
    assert inbox("a_head", world, "attendance.departure") == []


def test_board_counts_and_unaccounted(world, day, device):
    s1, s2, s3 = world.a.students["g7c1"]
    others = add_students(world.a.g7c1, 3, tag="B")
    arrive(device, day, "C0")
    arrive(device, day, "C1", hh=8, mm=30)
    approved_leave(world, s3, day)
    AttendanceSettings.objects.filter(school=world.a.school).update(cutoff_days=7)
    with CaptureQueriesContext(connection) as ctx:
        board = queries.today_board(world.a.school, day, [world.a.g7c1.pk])
    assert len(ctx.captured_queries) <= 3
    assert board.counts == {"present": 1, "late": 1, "absent": 0, "on_leave": 1, "unaccounted": 3}
    assert {u.student_id for u in board.unaccounted} == {o.pk for o in others}
    actions.take_register(
        world.user("a_teacher"), world.a.g7c1, day, exceptions={others[0].pk: ("absent", "")}
    )
    board = queries.today_board(world.a.school, day, [world.a.g7c1.pk])
    assert board.counts == {"present": 3, "late": 1, "absent": 1, "on_leave": 1, "unaccounted": 0}
    school = queries.today_board(world.a.school, day)
    assert school.total == 12 and school.counts["unaccounted"] == 6


def test_board_pages(world, today):
    s1 = world.a.students["g7c1"][0]
    url = f"/attendance/class/{world.a.g7c1.pk}/today/"
    head = english_client(world.user("a_head"))
    r = head.get(url)
    body = r.content.decode()
    assert r.status_code == 200 and 'hx-trigger="every 5s"' in body and s1.person.given_name in body
    r = head.get(url, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.content.decode() and 'id="board"' in r.content.decode()
    assert english_client(world.user("a_teacher")).get(url).status_code == 404
    assert english_client(world.user("a_parent")).get(url).status_code == 404
    school_url = f"/attendance/school/{world.a.school.pk}/today/"
    assert verified_client(world.user("a_admin")).get(school_url).status_code == 200
    assert verified_client(world.user("a_admin")).get(url).status_code == 200
    assert english_client(world.user("a_head")).get(school_url).status_code == 404
    assert verified_client(world.user("b_admin")).get(school_url).status_code == 404
    assert url in head.get("/attendance/").content.decode()
    home = verified_client(world.user("a_admin")).get("/attendance/").content.decode()
    assert school_url in home and f"/attendance/school/{world.a.school.pk}/gate/" in home


def test_today_status_for_guardians(world, day, device):
    s1, s2, s3 = world.a.students["g7c1"]
    g1 = world.a.students["g7c2"][0]
    arrive(device, day, "C0", hh=7, mm=52)
    arrive(device, day, "C1", hh=8, mm=14)
    arrive(device, day, "C0", hh=16, mm=42, direction="out")
    approved_leave(world, s3, day)
    with CaptureQueriesContext(connection) as ctx:
        status = queries.today_status([s1.pk, s2.pk, s3.pk, g1.pk], day)
    assert len(ctx.captured_queries) <= 3
    assert status[s1.pk].status == "present" and status[s1.pk].time == datetime.time(16, 42)
    assert "16:42" in status[s1.pk].label
    assert status[s2.pk].status == "late" and status[s2.pk].time == datetime.time(8, 14)
    assert "08:14" in status[s2.pk].label
    assert status[s3.pk].status == "on_leave"
    assert status[g1.pk].status == "none"


def test_beat_schedules_the_alert_task():
    from schoolbridge.attendance.tasks import send_absence_alerts

    entry = dict(settings.CELERY_BEAT_SCHEDULE["attendance-absence-alerts"])
    assert entry["task"] == send_absence_alerts.name and float(str(entry["schedule"])) <= 300
