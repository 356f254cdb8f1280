"""Published timetables over the JSON API: a class's, a teacher's or a student's week, with bell times.

Only the published version of the current term, for whom the pages allow (missing and forbidden: the
same 404)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema

from schoolbridge.access.helpers import NotFound
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.pagination import MAX_ID
from schoolbridge.api_support.responses import ok

from . import queries
from .models import Lesson, TimetableVersion

router = Router(tags=["timetable"])

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class LessonOut(Schema):
    id: int
    day: int  # ISO weekday, 1 = Monday
    period: int
    duration: int
    start: datetime.time | None
    end: datetime.time | None
    class_id: int
    class_name: str
    subject: str
    teachers: list[str]
    room: str | None


class TimetableOut(Schema):
    version_id: int
    version: str
    term_id: int
    term: str
    published_at: datetime.datetime | None
    lessons: list[LessonOut]


def _out(version: TimetableVersion, keep: Any) -> dict[str, Any]:
    times = queries.bell_times(version.term)
    lessons: list[Lesson] = [x for x in queries.lessons_of(version) if x.placed and keep(x)]
    out = []
    for x in lessons:
        assert x.day is not None and x.period is not None
        schedule = times.get(x.day) or times.get(0) or {}
        first, last = schedule.get(x.period), schedule.get(x.period + x.duration - 1)
        out.append(
            {
                "id": x.pk,
                "day": x.day,
                "period": x.period,
                "duration": x.duration,
                "start": first.start if first else None,
                "end": last.end if last else None,
                "class_id": x.requirement.klass_id,
                "class_name": x.requirement.klass.name,
                "subject": x.requirement.subject.name,
                "teachers": [t.person.full_name for t in x.requirement.teachers.all()],
                "room": str(x.room) if x.room else None,
            }
        )
    return {
        "version_id": version.pk,
        "version": version.name,
        "term_id": version.term_id,
        "term": version.term.name,
        "published_at": version.published_at,
        "lessons": out,
    }


def _published(school_id: int) -> TimetableVersion:
    version = queries.published_version(school_id, queries.current_term(school_id))
    if version is None:
        raise NotFound
    return version


@router.get("/classes/{class_id}", response=ok(TimetableOut), summary="A class's published timetable")
def class_timetable(request: HttpRequest, class_id: ObjectId) -> dict[str, Any]:
    klass = queries.viewable_class(caller(request), class_id)
    return _out(_published(klass.school_id), lambda x: x.requirement.klass_id == klass.pk)


@router.get("/teachers/{staff_id}", response=ok(TimetableOut), summary="A teacher's published timetable")
def teacher_timetable(request: HttpRequest, staff_id: ObjectId) -> dict[str, Any]:
    staff = queries.viewable_teacher(caller(request), staff_id)
    return _out(
        _published(staff.school_id), lambda x: staff.pk in {t.pk for t in x.requirement.teachers.all()}
    )


@router.get(
    "/students/{student_id}",
    response=ok(TimetableOut),
    summary="A student's (their class's) published timetable: the student, their guardians, their school",
)
def student_timetable(request: HttpRequest, student_id: ObjectId) -> dict[str, Any]:
    student = queries.viewable_student(caller(request), student_id)
    if student.current_class_id is None:
        raise NotFound
    class_id = student.current_class_id
    return _out(_published(student.school_id), lambda x: x.requirement.klass_id == class_id)
