"""iCalendar feeds of published timetables (RFC 5545, the `icalendar` package).

Concrete dated events, one per lesson per school day of the term, rather than weekly RRULEs with
EXDATEs: the school calendar has make-up working days (调休) that follow another weekday's timetable
and bell schedules that differ by weekday, which a recurrence rule cannot express, and holidays simply
produce no events. A term is at most a few hundred events per class. Times are local school time
(settings.TIME_ZONE) with a VTIMEZONE. Confirmed substitutions show: the absent teacher's feed drops
the lesson, the substitute's feed gains it, the class's feed names the substitute.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from schoolbridge.core.models import Class, Staff, Student

from . import queries
from .models import FeedToken, Lesson, Substitution, TimetableVersion

PRODID = "-//SchoolBridge//Timetable//ZH"


def _versions(school_id: int) -> list[TimetableVersion]:
    """The published versions of the current (or next) term and any later term already published."""
    today = timezone.localdate()
    return list(
        TimetableVersion.objects.select_related("term", "school")
        .filter(school_id=school_id, status=TimetableVersion.Status.PUBLISHED, term__end_date__gte=today)
        .order_by("term__start_date")
    )


def _event(
    uid: str,
    date: datetime.date,
    start: datetime.time,
    end: datetime.time,
    summary: str,
    location: str,
    description: str,
) -> Event:
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", timezone.now())
    ev.add("dtstart", datetime.datetime.combine(date, start, tzinfo=tz))
    ev.add("dtend", datetime.datetime.combine(date, end, tzinfo=tz))
    ev.add("summary", summary)
    if location:
        ev.add("location", location)
    if description:
        ev.add("description", description)
    return ev


def _teachers(lesson: Lesson) -> str:
    return "、".join(t.person.full_name for t in lesson.requirement.teachers.all())


def build(name: str, school_id: int, keep: Callable[[Lesson], bool], teacher: Staff | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    host = "schoolbridge"
    selected: Callable[[Lesson], bool]
    for version in _versions(school_id):
        covered_away: set[tuple[int, datetime.date]] = set()
        covering: set[tuple[int, datetime.date]] = set()
        if teacher is not None:
            for lesson_id, date, absent, sub in Substitution.objects.filter(
                lesson__version=version, status=Substitution.Status.CONFIRMED
            ).values_list("lesson_id", "date", "absent_teacher_id", "substitute_id"):
                if absent == teacher.pk:
                    covered_away.add((lesson_id, date))
                if sub == teacher.pk:
                    covering.add((lesson_id, date))
            cover_ids = {lesson_id for lesson_id, _d in covering}

            def selected(x: Lesson, cover_ids: set[int] = cover_ids) -> bool:  # type: ignore[misc]
                return keep(x) or x.pk in cover_ids

        else:
            selected = keep
        for d in queries.dated_lessons(version, selected):
            x = d.lesson
            key = (x.pk, d.date)
            if d.start is None or d.end is None:
                continue  # no bell time for that period
            if teacher is not None:
                mine = keep(x)
                if (mine and key in covered_away) or (not mine and key not in covering):
                    continue
            req = x.requirement
            summary = f"{req.subject.name} · {req.klass.name}"
            description = _teachers(x)
            if d.substitute is not None:
                description = _("Cover: %(teacher)s (instead of %(usual)s)") % {
                    "teacher": d.substitute.person.full_name,
                    "usual": description,
                }
            if teacher is not None and key in covering:
                summary = _("Cover: %(lesson)s") % {"lesson": summary}
            cal.add_component(
                _event(
                    f"tt-{version.pk}-{x.pk}-{d.date.isoformat()}@{host}",
                    d.date,
                    d.start,
                    d.end,
                    summary,
                    str(x.room or req.klass.room or ""),
                    description,
                )
            )
    cal.add_missing_timezones()
    return cal.to_ical()


def feed(token: FeedToken) -> tuple[str, bytes]:
    """(file name, iCalendar bytes) for a live token."""
    if token.kind == FeedToken.Kind.TEACHER:
        staff = Staff.objects.select_related("person").get(pk=token.object_id)
        name = _("Timetable: %(name)s") % {"name": staff.person.full_name}
        return f"teacher-{staff.pk}.ics", build(
            name, staff.school_id, lambda x: staff.pk in {t.pk for t in x.requirement.teachers.all()}, staff
        )
    if token.kind == FeedToken.Kind.STUDENT:
        student = Student.objects.select_related("person").get(pk=token.object_id)
        class_id = student.current_class_id
        name = _("Timetable: %(name)s") % {"name": student.person.full_name}
        return f"student-{student.pk}.ics", build(
            name, student.school_id, lambda x: class_id is not None and x.requirement.klass_id == class_id
        )
    klass = Class.objects.get(pk=token.object_id)
    name = _("Timetable: %(name)s") % {"name": klass.name}
    return f"class-{klass.pk}.ics", build(name, klass.school_id, lambda x: x.requirement.klass_id == klass.pk)
