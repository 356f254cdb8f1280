"""iCal feeds: secret per-user links, concrete dated events from the term's bell schedule and calendar
(holidays skipped, make-up days following another weekday), access re-checked on every fetch."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from schoolbridge.core.models import Guardianship
from schoolbridge.schoolcal.models import CalendarException
from schoolbridge.schoolcal.queries import school_days
from schoolbridge.testing.auth import login_verified
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import FeedToken, Substitution

from .ttworld import build

pytestmark = pytest.mark.django_db
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def client_for(world, name: str) -> Client:
    client = Client()
    client.cookies["sb_lang"] = "en"
    login_verified(client, world.user(name))
    return client


def next_weekday(iso: int, weeks: int = 1) -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=(iso - today.isoweekday()) % 7 + 7 * weeks)


def published(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)  # Monday 08:00–08:45
    tt.place("g7c1_maths", 1, 3, 3)  # Wednesday 10:00–10:45
    tt.place("g7c1_chinese", 0, 2, 2)  # Tuesday 08:55–09:40 in A 101
    tt.place("g8c1_maths", 0, 4, 7)  # another class
    actions.publish(tt.admin, tt.version)
    return tt


def events(body: bytes) -> list:
    cal = Calendar.from_ical(body)
    return [c for c in cal.walk("VEVENT")]


def issue(client: Client, kind: str, object_id: int) -> int:
    return client.post("/timetable/feeds/", {"kind": kind, "object_id": object_id}).status_code


def test_class_feed_content(world):
    published(world)
    sw = world.a
    holiday = next_weekday(1)  # a Monday off
    makeup = next_weekday(6, 2)  # a Saturday that follows Monday's timetable
    CalendarException.objects.create(
        district=world.district,
        school=sw.school,
        kind="holiday",
        name="校庆",
        start_date=holiday,
        end_date=holiday,
    )
    CalendarException.objects.create(
        district=world.district,
        school=sw.school,
        kind="workday",
        name="调休",
        start_date=makeup,
        end_date=makeup,
        follows_weekday=1,
    )
    parent = client_for(world, "a_parent")
    assert issue(parent, "class", sw.g7c1.pk) == 302
    token = FeedToken.objects.get(user=world.user("a_parent"))
    assert len(token.token) >= 40
    # The same link again while it is live.
    assert issue(parent, "class", sw.g7c1.pk) == 302 and FeedToken.objects.count() == 1
    page = parent.get("/timetable/feeds/").content.decode()
    assert f"/timetable/feeds/{token.token}.ics" in page and "webcal://" in page and "七年级1班" in page

    r = Client().get(f"/timetable/feeds/{token.token}.ics")  # no login: calendar apps cannot log in
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    evs = events(r.content)
    # Expected: every school day of the term, Monday/Tuesday/Wednesday lessons of 七年级1班.
    per_weekday = {1: 1, 2: 1, 3: 1}
    expected = 0
    for d in school_days(sw.school.pk, sw.term.start_date, sw.term.end_date):
        expected += per_weekday.get(1 if d == makeup else d.isoweekday(), 0)
    assert len(evs) == expected > 10
    assert len({str(e["UID"]) for e in evs}) == len(evs)
    starts = {e.decoded("DTSTART") for e in evs}
    assert datetime.datetime.combine(holiday, datetime.time(8, 0), tzinfo=TZ) not in starts
    assert datetime.datetime.combine(makeup, datetime.time(8, 0), tzinfo=TZ) in starts
    monday = next_weekday(1, 2)
    ev = next(
        e
        for e in evs
        if e.decoded("DTSTART") == datetime.datetime.combine(monday, datetime.time(8, 0), tzinfo=TZ)
    )
    assert str(ev["SUMMARY"]) == "数学 · 七年级1班"
    assert ev.decoded("DTEND") == datetime.datetime.combine(monday, datetime.time(8, 45), tzinfo=TZ)
    assert "王老师" in str(ev["DESCRIPTION"])
    chinese = [e for e in evs if str(e["SUMMARY"]).startswith("语文")]
    assert chinese and all(str(e["LOCATION"]) == "A 101" for e in chinese)
    assert not any("八年级1班" in str(e["SUMMARY"]) for e in evs)
    assert Calendar.from_ical(r.content).walk("VTIMEZONE")


def test_feed_access(world):
    tt = published(world)
    sw = world.a
    # A guardian of another class / school, a teacher's feed for a parent: 404 and nothing issued.
    assert issue(client_for(world, "b_parent"), "class", sw.g7c1.pk) == 404
    assert issue(client_for(world, "a_parent"), "class", sw.g7c2.pk) == 404
    assert issue(client_for(world, "a_parent"), "teacher", tt.teacher.pk) == 404
    assert issue(client_for(world, "a_parent"), "student", sw.students["g7c1"][1].pk) == 404
    assert issue(client_for(world, "a_parent"), "nonsense", sw.g7c1.pk) == 404
    assert not FeedToken.objects.exists()
    assert Client().get("/timetable/feeds/not-a-token.ics").status_code == 404
    # A child's feed; revoked → gone.
    parent = client_for(world, "a_parent")
    child = sw.students["g7c1"][0]
    assert issue(parent, "student", child.pk) == 302
    token = FeedToken.objects.get()
    url = f"/timetable/feeds/{token.token}.ics"
    assert Client().get(url).status_code == 200
    assert (
        client_for(world, "a_parent_norec").post("/timetable/feeds/", {"revoke": token.pk}).status_code == 404
    )
    assert parent.post("/timetable/feeds/", {"revoke": token.pk}).status_code == 302
    assert Client().get(url).status_code == 404
    # The guardianship ends: the link stops working without being revoked.
    assert issue(parent, "class", sw.g7c1.pk) == 302
    token = FeedToken.objects.get(revoked_at__isnull=True)
    Guardianship.objects.filter(guardian__person__user=world.user("a_parent")).delete()
    assert Client().get(f"/timetable/feeds/{token.token}.ics").status_code == 404


def test_teacher_feed_shows_cover(world):
    tt = published(world)
    monday = next_weekday(1)
    lesson = tt.lessons("g7c1_maths")[0]  # 王老师, Monday 1
    Substitution.objects.create(
        district=world.district,
        school=world.a.school,
        lesson=lesson,
        date=monday,
        absent_teacher=tt.head,
        substitute=tt.teacher,
        status="confirmed",
    )
    head = client_for(world, "a_head")
    teacher = client_for(world, "a_teacher")
    assert issue(head, "teacher", tt.head.pk) == 302 and issue(teacher, "teacher", tt.teacher.pk) == 302
    slot = datetime.datetime.combine(monday, datetime.time(8, 0), tzinfo=TZ)
    feeds = {t.user.username: t.token for t in FeedToken.objects.select_related("user")}
    head_events = events(Client().get(f"/timetable/feeds/{feeds['a_head']}.ics").content)
    teacher_events = events(Client().get(f"/timetable/feeds/{feeds['a_teacher']}.ics").content)
    assert slot not in {e.decoded("DTSTART") for e in head_events}
    assert slot + datetime.timedelta(days=7) in {e.decoded("DTSTART") for e in head_events}
    cover = [e for e in teacher_events if e.decoded("DTSTART") == slot]
    assert len(cover) == 1 and "数学 · 七年级1班" in str(cover[0]["SUMMARY"])
    # Only that date: the week after, 李老师 has no Monday 08:00 lesson.
    assert slot + datetime.timedelta(days=7) not in {e.decoded("DTSTART") for e in teacher_events}
