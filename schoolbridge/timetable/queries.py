"""Reading timetables: the week of a term, the lessons of a version, who may see which timetable, the
published version, the dated lessons of a term (for iCal feeds and substitution).

Views read people (staff, students) only through this module and the access layer.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from schoolbridge.access.helpers import NotFound, _pk, access_class_by_id, access_guarded_child_by_id
from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class, Guardianship, Room, School, Staff, Student, Subject, Term
from schoolbridge.schoolcal.models import DEFAULT_WEEKDAYS, BellPeriod, CalendarException, WeekPattern
from schoolbridge.schoolcal.queries import school_days

from .clashes import Placed, Week
from .models import (
    FeedToken,
    Lesson,
    LessonRequirement,
    Substitution,
    TeacherUnavailability,
    TimetableVersion,
)

# Without a bell schedule the editor still works on eight periods (four in the morning).
DEFAULT_PERIODS = {n: ("am" if n <= 4 else "pm") for n in range(1, 9)}


# --------------------------------------------------------------------------- the week of a term


@dataclass(frozen=True)
class BellTime:
    number: int
    start: datetime.time
    end: datetime.time
    half: str


def bell_times(term: Term) -> dict[int, dict[int, BellTime]]:
    """The term's bell schedule by ISO weekday (0 = the common schedule). One query."""
    out: dict[int, dict[int, BellTime]] = defaultdict(dict)
    for r in BellPeriod.objects.filter(term=term).order_by("weekday", "number"):
        out[r.weekday][r.number] = BellTime(r.number, r.start, r.end, r.half)
    return dict(out)


def school_weekdays(term: Term) -> list[int]:
    pattern = WeekPattern.objects.filter(term=term).first()
    return sorted(int(c) for c in (pattern.weekdays if pattern else DEFAULT_WEEKDAYS) if c.isdigit())


def week_of(term: Term, times: dict[int, dict[int, BellTime]] | None = None) -> Week:
    """The periods of each school weekday of the term and the teachers' unavailable periods."""
    times = bell_times(term) if times is None else times
    days: dict[int, dict[int, str]] = {}
    for day in school_weekdays(term):
        own = times.get(day) or times.get(0)
        days[day] = {n: t.half for n, t in own.items()} if own else dict(DEFAULT_PERIODS)
    unavailable = set(
        TeacherUnavailability.objects.filter(term=term).values_list("teacher_id", "day", "period")
    )
    return Week(days, unavailable)


def has_bell_schedule(term: Term) -> bool:
    return BellPeriod.objects.filter(term=term).exists()


# --------------------------------------------------------------------------- versions and lessons


def managed_schools(user: Any) -> QuerySet[School]:
    return get_scope(user).queryset("school.manage")


def may_manage(user: Any, school_id: int) -> bool:
    return managed_schools(user).filter(pk=school_id).exists()


def managed_version(user: Any, version_id: Any) -> TimetableVersion:
    """A version of a school the user manages (draft or not), else NotFound."""
    pk = _pk(version_id)
    version = TimetableVersion.objects.select_related("term", "school").filter(pk=pk).first() if pk else None
    if version is None or not may_manage(user, version.school_id):
        raise NotFound
    return version


def published_version(school_id: int, term: Term | None) -> TimetableVersion | None:
    if term is None:
        return None
    return (
        TimetableVersion.objects.select_related("term", "school")
        .filter(school_id=school_id, term=term, status=TimetableVersion.Status.PUBLISHED)
        .first()
    )


def current_term(school_id: int, day: datetime.date | None = None) -> Term | None:
    day = day or timezone.localdate()
    terms = Term.objects.filter(school_id=school_id).order_by("start_date")
    return (
        terms.filter(start_date__lte=day, end_date__gte=day).first()
        or terms.filter(start_date__gt=day).first()
    )


def versions_of(school_id: int) -> list[TimetableVersion]:
    return list(
        TimetableVersion.objects.filter(school_id=school_id)
        .select_related("term")
        .order_by("-term__start_date", "-created_at", "-id")
    )


def lessons_of(version: TimetableVersion) -> list[Lesson]:
    """Every lesson of a version with its requirement, class, subject, teachers and room. Three queries."""
    teachers = Prefetch("requirement__teachers", queryset=Staff.objects.select_related("person"))
    return list(
        Lesson.objects.filter(version=version)
        .select_related("requirement__klass", "requirement__subject", "room")
        .prefetch_related(teachers)
        .order_by("day", "period", "id")
    )


def as_placed(lessons: Iterable[Lesson]) -> list[Placed]:
    return [
        Placed(
            x.pk,
            x.requirement.klass_id,
            frozenset(t.pk for t in x.requirement.teachers.all()),
            x.room_id,
            x.day,
            x.period,
            x.duration,
        )
        for x in lessons
    ]


def requirements_of(version: TimetableVersion) -> list[LessonRequirement]:
    teachers = Prefetch("teachers", queryset=Staff.objects.select_related("person"))
    return list(
        LessonRequirement.objects.filter(version=version)
        .select_related("klass", "subject", "room")
        .prefetch_related(teachers, "lessons")
    )


def school_staff(school_id: int) -> list[Staff]:
    """Active staff of a school for the editor's choices (the editor is a school.manage page)."""
    return list(
        Staff.objects.filter(school_id=school_id, active=True)
        .select_related("person")
        .order_by("person__family_name", "person__given_name", "pk")
    )


def school_classes(school_id: int, term: Term) -> list[Class]:
    return list(Class.objects.filter(school_id=school_id, year_id=term.year_id).select_related("grade"))


def school_subjects(school_id: int) -> list[Subject]:
    return list(Subject.objects.filter(school_id=school_id))


def school_rooms(school_id: int) -> list[Room]:
    return list(Room.objects.filter(school_id=school_id))


def staff_of_school(school_id: int, staff_id: Any) -> Staff | None:
    pk = _pk(staff_id)
    return Staff.objects.select_related("person").filter(pk=pk, school_id=school_id).first() if pk else None


# --------------------------------------------------------------------------- who may see which timetable


def own_staff(user: Any) -> list[Staff]:
    """The user's own active staff records (one per school they work at)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Staff.objects.filter(person__user=user, active=True).select_related("person", "school"))


def viewable_class(user: Any, class_id: Any) -> Class:
    """A class whose timetable the user may see: class.aggregate (its teachers, head teacher, the
    school office, its students and their guardians)."""
    return access_class_by_id(user, class_id, "class.aggregate")


def viewable_teacher(user: Any, staff_id: Any) -> Staff:
    """A teacher whose timetable the user may see: themself, or anyone overseeing the school."""
    pk = _pk(staff_id)
    staff = Staff.objects.select_related("person", "school").filter(pk=pk).first() if pk else None
    if staff is None:
        raise NotFound
    if staff.person.user_id == getattr(user, "pk", None):
        return staff
    if get_scope(user).queryset("school.aggregate").filter(pk=staff.school_id).exists():
        return staff
    raise NotFound


def viewable_room(user: Any, room_id: Any) -> Room:
    """A room's timetable: for the school office and the school's staff."""
    pk = _pk(room_id)
    room = Room.objects.filter(pk=pk).first() if pk else None
    if room is None:
        raise NotFound
    if get_scope(user).queryset("school.aggregate").filter(pk=room.school_id).exists():
        return room
    if any(s.school_id == room.school_id for s in own_staff(user)):
        return room
    raise NotFound


def viewable_student(user: Any, student_id: Any) -> Student:
    """A student whose (class) timetable the user may see: the student themself, a guardian (any
    guardianship) or anyone with student.view."""
    pk = _pk(student_id)
    if pk is None:
        raise NotFound
    scope = get_scope(user)
    if pk in {g.student_id for g in scope.grants_of("student")}:
        found = Student.objects.select_related("person", "current_class").filter(pk=pk).first()
        if found is not None:
            return found
    try:
        return access_guarded_child_by_id(user, pk)
    except NotFound:
        pass
    found = (
        scope.queryset("student.view", Student.objects.select_related("person", "current_class"))
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound
    return found


def timetable_links(user: Any) -> dict[str, Any]:
    """What the timetable index offers this user: schools to manage, their own teacher timetable,
    their children's and their own class."""
    scope = get_scope(user)
    children = [g for g in scope.grants_of("guardian", "student") if g.student_id]
    students = {
        s.pk: s
        for s in Student.objects.filter(pk__in=[g.student_id for g in children]).select_related(
            "person", "current_class", "school"
        )
    }
    classes = {g.class_id for g in scope.grants_of("head_teacher", "subject_teacher") if g.class_id}
    return {
        "schools": list(managed_schools(user).order_by("name")),
        "staff": own_staff(user),
        "students": [students[g.student_id] for g in children if g.student_id in students],
        "classes": list(Class.objects.filter(pk__in=classes).select_related("school")),
    }


# --------------------------------------------------------------------------- dated lessons of a term


@dataclass(frozen=True)
class DatedLesson:
    lesson: Lesson
    date: datetime.date
    start: datetime.time | None
    end: datetime.time | None
    substitute: Staff | None = None


def term_dates(
    term: Term, start: datetime.date | None = None, end: datetime.date | None = None
) -> list[tuple[datetime.date, int]]:
    """The school days of the term (optionally within start..end), each with the weekday whose
    timetable it follows (a make-up working day may follow another weekday's timetable)."""
    first = max(term.start_date, start) if start else term.start_date
    last = min(term.end_date, end) if end else term.end_date
    days = school_days(term.school_id, first, last)
    follows = {}
    for exc in CalendarException.objects.filter(
        school_id=term.school_id,
        kind=CalendarException.Kind.WORKDAY,
        follows_weekday__isnull=False,
        start_date__lte=last,
        end_date__gte=first,
    ):
        d = exc.start_date
        while d <= exc.end_date:
            follows[d] = exc.follows_weekday
            d += datetime.timedelta(days=1)
    return [(d, follows.get(d) or d.isoweekday()) for d in days]


def dated_lessons(
    version: TimetableVersion,
    keep: Any,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> list[DatedLesson]:
    """Concrete lessons of a version on the school days of its term, with their bell times;
    `keep(lesson)` selects the lessons. Confirmed substitutions are attached."""
    term = version.term
    times = bell_times(term)
    lessons = [x for x in lessons_of(version) if x.placed and keep(x)]
    by_day: dict[int, list[Lesson]] = defaultdict(list)
    for x in lessons:
        assert x.day is not None
        by_day[x.day].append(x)
    subs = {
        (s.lesson_id, s.date): s.substitute
        for s in Substitution.objects.filter(
            lesson__in=lessons, status=Substitution.Status.CONFIRMED
        ).select_related("substitute__person")
    }
    out = []
    for date, weekday in term_dates(term, start, end):
        schedule = times.get(weekday) or times.get(0) or {}
        for x in by_day.get(weekday, []):
            assert x.period is not None
            first, last = schedule.get(x.period), schedule.get(x.period + x.duration - 1)
            out.append(
                DatedLesson(
                    x,
                    date,
                    first.start if first else None,
                    last.end if last else None,
                    subs.get((x.pk, date)),
                )
            )
    return out


def guardian_user_ids_of_class(class_id: int) -> list[int]:
    """Guardian accounts (receiving notices) of the students now in a class."""
    return sorted(
        set(
            Guardianship.objects.filter(
                student__current_class_id=class_id,
                student__status=Student.Status.ENROLLED,
                receives_notices=True,
                guardian__person__user__isnull=False,
            ).values_list("guardian__person__user_id", flat=True)
        )
    )


def user_feeds(user: Any) -> list[tuple[FeedToken, str]]:
    """The user's live calendar links, each with what it shows (three queries at most)."""
    tokens = list(FeedToken.objects.filter(user=user, revoked_at__isnull=True).order_by("kind", "object_id"))
    ids: dict[str, set[int]] = defaultdict(set)
    for t in tokens:
        ids[t.kind].add(t.object_id)
    names: dict[tuple[str, int], str] = {}
    if ids[FeedToken.Kind.CLASS]:
        for pk, name in Class.objects.filter(pk__in=ids[FeedToken.Kind.CLASS]).values_list("pk", "name"):
            names[(FeedToken.Kind.CLASS, pk)] = name
    if ids[FeedToken.Kind.TEACHER]:
        for s in Staff.objects.filter(pk__in=ids[FeedToken.Kind.TEACHER]).select_related("person"):
            names[(FeedToken.Kind.TEACHER, s.pk)] = s.person.full_name
    if ids[FeedToken.Kind.STUDENT]:
        for st in Student.objects.filter(pk__in=ids[FeedToken.Kind.STUDENT]).select_related("person"):
            names[(FeedToken.Kind.STUDENT, st.pk)] = st.person.full_name
    return [(t, names.get((t.kind, t.object_id), "")) for t in tokens]


def substitutions_of_school(school_id: int, since: datetime.date) -> list[Substitution]:
    teachers = Prefetch("lesson__requirement__teachers", queryset=Staff.objects.select_related("person"))
    return list(
        Substitution.objects.filter(school_id=school_id, date__gte=since)
        .exclude(status=Substitution.Status.CANCELLED)
        .select_related(
            "lesson__requirement__klass",
            "lesson__requirement__subject",
            "lesson__room",
            "absent_teacher__person",
            "substitute__person",
        )
        .prefetch_related(teachers)
        .order_by("date", "lesson__period", "pk")
    )


def staff_names(ids: Iterable[int]) -> dict[int, str]:
    return {s.pk: s.person.full_name for s in Staff.objects.filter(pk__in=set(ids)).select_related("person")}


def class_filter(klass: Class) -> Q:
    return Q(requirement__klass=klass)


def upcoming_covers(
    since: datetime.date, substitute_id: int | None = None, class_id: int | None = None, limit: int = 20
) -> list[Substitution]:
    """Confirmed cover from `since` on: the lessons a teacher covers, or a class's covered lessons."""
    qs = Substitution.objects.filter(status=Substitution.Status.CONFIRMED, date__gte=since)
    if substitute_id is not None:
        qs = qs.filter(substitute_id=substitute_id)
    if class_id is not None:
        qs = qs.filter(lesson__requirement__klass_id=class_id)
    return list(
        qs.select_related(
            "lesson__requirement__klass", "lesson__requirement__subject", "lesson__room", "substitute__person"
        ).order_by("date", "lesson__period", "pk")[:limit]
    )
