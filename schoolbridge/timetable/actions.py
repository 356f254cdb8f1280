"""Writes to timetables: versions, requirements, placing and moving lessons (with clash checks),
publishing, calendar feed tokens and substitutions.

Every action takes the acting user first, runs in one transaction, checks access through the access
layer (a school the actor does not manage gives the same NotFound as a missing one), refuses bad input
with InvalidInput (nothing written), writes an audit row and notifies through notify.actions.notify
(delivered after the commit).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.helpers import NotFound, _pk
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import NON_FIELD_ERRORS, Errors, InvalidInput
from schoolbridge.core.models import Class, Room, Staff, Subject, TeachingAssignment, Term
from schoolbridge.notify.actions import notify

from . import clashes, queries
from .models import (
    DAY_CHOICES,
    FeedToken,
    Lesson,
    LessonRequirement,
    Substitution,
    TeacherUnavailability,
    TimetableVersion,
)

MAX_LESSONS_PER_WEEK = 20
MAX_DURATION = 4
DAY_LABELS = dict(DAY_CHOICES)


def _id(value: Any) -> int:
    """A primary key from input, 0 (matches nothing) when it is not one."""
    return _pk(value) or 0


def day_label(day: int) -> str:
    return str(DAY_LABELS.get(day, day))


def _draft_for_update(actor: Any, version: TimetableVersion | int) -> TimetableVersion:
    """The version, locked (edits of one version are serialised), if the actor manages its school."""
    found = queries.managed_version(actor, getattr(version, "pk", version))
    locked = TimetableVersion.objects.select_for_update().select_related("term", "school").get(pk=found.pk)
    if not locked.is_draft:
        raise InvalidInput(
            _("Only a draft can be edited. Make a new draft from this version and publish it when ready.")
        )
    return locked


# --------------------------------------------------------------------------- versions


@action
def create_version(
    actor: Any, school_id: Any, term_id: Any, name: str, copy_from: Any = None
) -> TimetableVersion:
    """A new draft version of a term's timetable, empty or a copy of another version of the school."""
    pk = _pk(school_id)
    school = queries.managed_schools(actor).filter(pk=pk).first() if pk else None
    if school is None:
        raise NotFound
    errors = Errors()
    tpk = _pk(term_id)
    term = Term.objects.filter(pk=tpk, school=school).first() if tpk else None
    if term is None:
        errors.add("term", _("Choose a term of this school."))
    name = " ".join(str(name or "").split())
    if not name:
        errors.add("name", _("Give the version a name."))
    elif len(name) > 80:
        errors.add("name", _("Keep the name under 80 characters."))
    source = None
    if copy_from:
        source = TimetableVersion.objects.filter(pk=_id(copy_from), school=school).first()
        if source is None:
            errors.add("copy_from", _("Choose a version of this school."))
        elif term is not None and source.term_id != term.pk:
            errors.add("copy_from", _("A version can only be copied within its term."))
    if term is not None and name and TimetableVersion.objects.filter(term=term, name=name).exists():
        errors.add("name", _("This term already has a version with that name."))
    errors.raise_if_any()
    assert term is not None
    version = TimetableVersion.objects.create(
        district_id=school.district_id, school=school, term=term, name=name, created_by=actor
    )
    if source is not None:
        _copy_into(source, version)
    record(
        actor,
        "timetable.version.create",
        version,
        None,
        {**snapshot(version), "copy_from": getattr(source, "pk", None)},
    )
    return version


def _copy_into(source: TimetableVersion, version: TimetableVersion) -> None:
    for old in LessonRequirement.objects.filter(version=source).prefetch_related("teachers", "lessons"):
        lessons = list(old.lessons.all())
        req = LessonRequirement.objects.create(
            district_id=old.district_id,
            school_id=old.school_id,
            version=version,
            klass_id=old.klass_id,
            subject_id=old.subject_id,
            lessons_per_week=old.lessons_per_week,
            duration=old.duration,
            room_id=old.room_id,
        )
        req.teachers.set([t.pk for t in old.teachers.all()])
        Lesson.objects.bulk_create(
            [
                Lesson(
                    district_id=x.district_id,
                    school_id=x.school_id,
                    version=version,
                    requirement=req,
                    day=x.day,
                    period=x.period,
                    duration=x.duration,
                    room_id=x.room_id,
                    locked=x.locked,
                )
                for x in lessons
            ]
        )


@action
def publish(actor: Any, version: TimetableVersion | int) -> TimetableVersion:
    """Publish a draft: it becomes the term's timetable for teachers, students and guardians; the
    version published before it is superseded. Refused while lessons clash."""
    v = _draft_for_update(actor, version)
    lessons = queries.lessons_of(v)
    week = queries.week_of(v.term)
    found = clashes.all_clashes(week, queries.as_placed(lessons))
    if found:
        by_id = {x.pk: x for x in lessons}
        lesson_id, clash = found[0]
        raise InvalidInput(
            _("This version has %(n)d clashes and cannot be published. The first: %(first)s")
            % {"n": len(found), "first": clash_message(clash, by_id[lesson_id], by_id)}
        )
    now = timezone.now()
    previous = list(
        TimetableVersion.objects.select_for_update().filter(
            term=v.term, status=TimetableVersion.Status.PUBLISHED
        )
    )
    for old in previous:
        before = snapshot(old)
        old.status = TimetableVersion.Status.SUPERSEDED
        old.save(update_fields=["status"])
        record(actor, "timetable.version.supersede", old, before, snapshot(old))
    before = snapshot(v)
    v.status = TimetableVersion.Status.PUBLISHED
    v.published_at = now
    v.published_by = actor
    v.save(update_fields=["status", "published_at", "published_by"])
    record(actor, "timetable.version.publish", v, before, snapshot(v))
    teacher_users = {
        t.person.user_id for x in lessons for t in x.requirement.teachers.all() if t.person.user_id
    }
    notify(
        sorted(teacher_users),
        "timetable.published",
        gettext("The timetable for %(term)s was published") % {"term": v.term.name},
        v.name,
        "/timetable/",
        school=v.school_id,
    )
    return v


# --------------------------------------------------------------------------- requirements


@action
def add_requirement(
    actor: Any,
    version: TimetableVersion | int,
    klass_id: Any,
    subject_id: Any,
    teacher_ids: Iterable[Any],
    lessons_per_week: Any,
    duration: Any = 1,
    room_id: Any = None,
) -> LessonRequirement:
    """What a class is taught each week; creates its lessons, unplaced."""
    v = _draft_for_update(actor, version)
    errors = Errors()
    klass = Class.objects.filter(pk=_id(klass_id), school_id=v.school_id, year_id=v.term.year_id).first()
    if klass is None:
        errors.add("klass", _("Choose a class of this school year."))
    subject = Subject.objects.filter(pk=_id(subject_id), school_id=v.school_id).first()
    if subject is None:
        errors.add("subject", _("Choose a subject of this school."))
    ids = {p for p in (_pk(t) for t in teacher_ids) if p}
    teachers = list(Staff.objects.filter(pk__in=ids, school_id=v.school_id, active=True))
    if not teachers or len(teachers) != len(ids):
        errors.add("teachers", _("Choose one or more teachers of this school."))
    room = None
    if room_id not in (None, ""):
        room = Room.objects.filter(pk=_id(room_id), school_id=v.school_id).first()
        if room is None:
            errors.add("room", _("Choose a room of this school."))
    try:
        n = int(lessons_per_week)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_LESSONS_PER_WEEK:
        errors.add("lessons_per_week", _("Enter 1 to %(n)d lessons a week.") % {"n": MAX_LESSONS_PER_WEEK})
    try:
        d = int(duration)
    except (TypeError, ValueError):
        d = 0
    if not 1 <= d <= MAX_DURATION:
        errors.add("duration", _("A lesson lasts 1 to %(n)d periods.") % {"n": MAX_DURATION})
    errors.raise_if_any()
    req = LessonRequirement.objects.create(
        district_id=v.district_id,
        school_id=v.school_id,
        version=v,
        klass=klass,  # type: ignore[misc]  # checked by errors.raise_if_any()
        subject=subject,  # type: ignore[misc]
        lessons_per_week=n,
        duration=d,
        room=room,
    )
    req.teachers.set(teachers)
    Lesson.objects.bulk_create(
        [
            Lesson(
                district_id=v.district_id,
                school_id=v.school_id,
                version=v,
                requirement=req,
                duration=d,
                room=room,
            )
            for _i in range(n)
        ]
    )
    record(actor, "timetable.requirement.add", req, None, {**snapshot(req), "teachers": sorted(ids)})
    return req


@action
def requirements_from_assignments(
    actor: Any, version: TimetableVersion | int, lessons_per_week: Any, duration: Any = 1
) -> list[LessonRequirement]:
    """One requirement per class and subject taught this term (from the teaching assignments, all its
    teachers together), each with this many lessons a week; pairs already in the version are skipped."""
    v = _draft_for_update(actor, version)
    try:
        n, d = int(lessons_per_week), int(duration)
    except (TypeError, ValueError):
        n = d = 0
    errors = Errors()
    if not 1 <= n <= MAX_LESSONS_PER_WEEK:
        errors.add("lessons_per_week", _("Enter 1 to %(n)d lessons a week.") % {"n": MAX_LESSONS_PER_WEEK})
    if not 1 <= d <= MAX_DURATION:
        errors.add("duration", _("A lesson lasts 1 to %(n)d periods.") % {"n": MAX_DURATION})
    errors.raise_if_any()
    have = set(LessonRequirement.objects.filter(version=v).values_list("klass_id", "subject_id"))
    teachers: dict[tuple[int, int], list[int]] = defaultdict(list)
    for klass_id, subject_id, teacher_id in (
        TeachingAssignment.objects.filter(
            term=v.term, school_id=v.school_id, teacher__active=True, klass__year_id=v.term.year_id
        )
        .order_by("klass_id", "subject_id", "teacher_id")
        .values_list("klass_id", "subject_id", "teacher_id")
    ):
        if (klass_id, subject_id) not in have:
            teachers[(klass_id, subject_id)].append(teacher_id)
    created = []
    for (klass_id, subject_id), ids in teachers.items():
        req = LessonRequirement.objects.create(
            district_id=v.district_id,
            school_id=v.school_id,
            version=v,
            klass_id=klass_id,
            subject_id=subject_id,
            lessons_per_week=n,
            duration=d,
        )
        req.teachers.set(ids)
        Lesson.objects.bulk_create(
            [
                Lesson(
                    district_id=v.district_id, school_id=v.school_id, version=v, requirement=req, duration=d
                )
                for _i in range(n)
            ]
        )
        record(actor, "timetable.requirement.add", req, None, {**snapshot(req), "teachers": ids})
        created.append(req)
    return created


@action
def delete_requirement(actor: Any, requirement_id: Any) -> None:
    pk = _pk(requirement_id)
    req = LessonRequirement.objects.filter(pk=pk).first() if pk else None
    if req is None:
        raise NotFound
    _draft_for_update(actor, req.version_id)
    record(actor, "timetable.requirement.delete", req, snapshot(req), None)
    req.delete()


# --------------------------------------------------------------------------- placing lessons


def clash_message(clash: clashes.Clash, lesson: Lesson, by_id: dict[int, Lesson]) -> str:
    """A clash in words, naming the teacher, class or room and the other lesson."""
    other = by_id.get(clash.other_lesson_id) if clash.other_lesson_id else None
    teachers = {t.pk: t for t in lesson.requirement.teachers.all()}
    args: dict[str, Any] = {"day": day_label(clash.day), "period": clash.period}
    if clash.kind == clashes.TEACHER and other is not None:
        teacher = teachers.get(clash.teacher_id or 0)
        args.update(teacher=teacher.person.full_name if teacher else "?", klass=other.requirement.klass.name)
        return gettext("%(teacher)s already teaches %(klass)s on %(day)s period %(period)s") % args
    if clash.kind == clashes.CLASS and other is not None:
        args.update(klass=lesson.requirement.klass.name, subject=other.requirement.subject.name)
        return gettext("%(klass)s already has %(subject)s on %(day)s period %(period)s") % args
    if clash.kind == clashes.ROOM and other is not None:
        args.update(room=str(other.room or ""), klass=other.requirement.klass.name)
        return gettext("%(room)s is already used by %(klass)s on %(day)s period %(period)s") % args
    if clash.kind == clashes.UNAVAILABLE:
        teacher = teachers.get(clash.teacher_id or 0)
        args.update(teacher=teacher.person.full_name if teacher else "?")
        return gettext("%(teacher)s is not available on %(day)s period %(period)s") % args
    if clash.kind == clashes.SPLIT:
        args.update(n=lesson.duration)
        return (
            gettext("A %(n)d-period lesson cannot run across the midday break (%(day)s period %(period)s)")
            % args
        )
    if lesson.duration > 1:
        args.update(n=lesson.duration)
        return gettext("A %(n)d-period lesson does not fit from %(day)s period %(period)s") % args
    return gettext("There is no period %(period)s on %(day)s") % args


@action
def move_lesson(actor: Any, lesson_id: Any, day: Any, period: Any, room_id: Any = "keep") -> Lesson:
    """Place or move a lesson to (day, period[, room]); day=None takes it off the grid. Refused, with
    every clash in words, when it would double-book a class, teacher or room or a teacher is
    unavailable then. room_id "keep" keeps the lesson's room; None or "" means no room."""
    pk = _pk(lesson_id)
    lesson = Lesson.objects.filter(pk=pk).first() if pk else None
    if lesson is None:
        raise NotFound
    v = _draft_for_update(actor, lesson.version_id)
    lessons = queries.lessons_of(v)
    by_id = {x.pk: x for x in lessons}
    lesson = by_id[lesson.pk]
    before = snapshot(lesson)
    if lesson.locked:
        raise InvalidInput(_("This lesson is locked. Unlock it before moving it."))
    if day in (None, ""):
        lesson.day = lesson.period = None
        lesson.save(update_fields=["day", "period"])
        record(actor, "timetable.lesson.unplace", lesson, before, snapshot(lesson))
        return lesson
    d, p, room = _checked_move(v, lessons, lesson, day, period, room_id)
    lesson.day, lesson.period, lesson.room = d, p, room
    lesson.save(update_fields=["day", "period", "room"])
    record(actor, "timetable.lesson.move", lesson, before, snapshot(lesson))
    return lesson


def _checked_move(
    v: TimetableVersion, lessons: list[Lesson], lesson: Lesson, day: Any, period: Any, room_id: Any
) -> tuple[int, int, Room | None]:
    """(day, period, room) for moving `lesson`, or InvalidInput naming every clash."""
    try:
        d, p = int(day), int(period)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a day and a period.")) from None
    room: Room | None
    if room_id == "keep":
        room = lesson.room
    elif room_id in (None, ""):
        room = None
    else:
        room = Room.objects.filter(pk=_id(room_id), school_id=v.school_id).first()
        if room is None:
            raise InvalidInput({"room": [_("Choose a room of this school.")]})
    week = queries.week_of(v.term)
    if d not in week.days:
        raise InvalidInput(_("%(day)s is not a school day in this term.") % {"day": day_label(d)})
    placed = queries.as_placed(lessons)
    me = next(x for x in placed if x.lesson_id == lesson.pk).at(d, p, room.pk if room else None)
    found = clashes.check(week, placed, me)
    if found:
        by_id = {x.pk: x for x in lessons}
        raise InvalidInput({NON_FIELD_ERRORS: [clash_message(c, lesson, by_id) for c in found]})
    return d, p, room


def check_move(
    version: TimetableVersion, lesson_id: Any, day: Any, period: Any, room_id: Any = "keep"
) -> list[str]:
    """What would stop a move (read-only; the editor asks as the choice changes). Empty: it is legal."""
    lessons = queries.lessons_of(version)
    lesson = next((x for x in lessons if x.pk == _pk(lesson_id)), None)
    if lesson is None:
        raise NotFound
    if lesson.locked:
        return [str(_("This lesson is locked. Unlock it before moving it."))]
    try:
        _checked_move(version, lessons, lesson, day, period, room_id)
    except InvalidInput as exc:
        return [str(m) for m in exc.messages]
    return []


@action
def set_locked(actor: Any, lesson_id: Any, locked: bool) -> Lesson:
    pk = _pk(lesson_id)
    lesson = Lesson.objects.filter(pk=pk).first() if pk else None
    if lesson is None:
        raise NotFound
    _draft_for_update(actor, lesson.version_id)
    before = snapshot(lesson)
    lesson.locked = bool(locked)
    lesson.save(update_fields=["locked"])
    record(actor, "timetable.lesson.lock", lesson, before, snapshot(lesson))
    return lesson


def alternatives(version: TimetableVersion, lesson_id: Any) -> tuple[Lesson, list[clashes.Alternative]]:
    """The legal (day, period, rooms) for a lesson of a version (read-only; for the editor)."""
    lessons = queries.lessons_of(version)
    lesson = next((x for x in lessons if x.pk == _pk(lesson_id)), None)
    if lesson is None:
        raise NotFound
    placed = queries.as_placed(lessons)
    me = next(x for x in placed if x.lesson_id == lesson.pk)
    rooms = [r.pk for r in queries.school_rooms(version.school_id)] if lesson.room_id else []
    return lesson, clashes.alternatives(queries.week_of(version.term), placed, me, rooms)


@action
def set_unavailable(
    actor: Any, term_id: Any, teacher_id: Any, slots: Iterable[tuple[int, int]]
) -> list[TeacherUnavailability]:
    """The periods of the week when a teacher cannot teach in a term (replaces the previous set)."""
    term = Term.objects.filter(pk=_id(term_id)).first()
    if term is None or not queries.may_manage(actor, term.school_id):
        raise NotFound
    teacher = queries.staff_of_school(term.school_id, teacher_id)
    if teacher is None:
        raise NotFound
    wanted = sorted({(int(d), int(p)) for d, p in slots})
    if any(not 1 <= d <= 7 or p < 1 for d, p in wanted):
        raise InvalidInput(_("Choose days 1 to 7 and periods from 1."))
    existing = TeacherUnavailability.objects.filter(term=term, teacher=teacher)
    before = {"slots": sorted(existing.values_list("day", "period"))}
    existing.delete()
    rows = TeacherUnavailability.objects.bulk_create(
        [
            TeacherUnavailability(
                district_id=term.district_id,
                school_id=term.school_id,
                term=term,
                teacher=teacher,
                day=d,
                period=p,
            )
            for d, p in wanted
        ]
    )
    record(
        actor,
        "timetable.unavailable.set",
        teacher,
        before,
        {"term": term.pk, "slots": [list(s) for s in wanted]},
    )
    return rows


# --------------------------------------------------------------------------- calendar feeds


def _feed_target(actor: Any, kind: str, object_id: Any) -> tuple[int, int, int]:
    """(object id, school id, district id) of a feed the actor may subscribe to; else NotFound."""
    if kind == FeedToken.Kind.TEACHER:
        staff = queries.viewable_teacher(actor, object_id)
        return staff.pk, staff.school_id, staff.district_id
    if kind == FeedToken.Kind.CLASS:
        klass = queries.viewable_class(actor, object_id)
        return klass.pk, klass.school_id, klass.district_id
    if kind == FeedToken.Kind.STUDENT:
        student = queries.viewable_student(actor, object_id)
        return student.pk, student.school_id, student.district_id
    raise NotFound


@action
def issue_feed(actor: Any, kind: str, object_id: Any) -> FeedToken:
    """The actor's secret subscription URL for a teacher's, class's or student's timetable (the same
    one again while it is not revoked)."""
    pk, school_id, district_id = _feed_target(actor, kind, object_id)
    existing = FeedToken.objects.filter(user=actor, kind=kind, object_id=pk, revoked_at__isnull=True).first()
    if existing is not None:
        return existing
    token = FeedToken.objects.create(
        district_id=district_id, school_id=school_id, user=actor, kind=kind, object_id=pk
    )
    record(actor, "timetable.feed.issue", token, None, snapshot(token, ("user", "kind", "object_id")))
    return token


@action
def revoke_feed(actor: Any, token_id: Any) -> FeedToken:
    pk = _pk(token_id)
    token = (
        FeedToken.objects.select_for_update().filter(pk=pk, user=actor, revoked_at__isnull=True).first()
        if pk and getattr(actor, "is_authenticated", False)
        else None
    )
    if token is None:
        raise NotFound
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(actor, "timetable.feed.revoke", token, None, {"revoked_at": token.revoked_at.isoformat()})
    return token


def feed_for_token(token: str) -> FeedToken:
    """The live token, if its owner may still see what it points at (checked on every fetch, so a
    guardian whose guardianship ends loses the feed). NotFound otherwise."""
    found = (
        FeedToken.objects.select_related("user")
        .filter(token=str(token)[:64], revoked_at__isnull=True)
        .first()
        if token
        else None
    )
    if found is None or not found.user.is_active:
        raise NotFound
    _feed_target(found.user, found.kind, found.object_id)
    return found


# --------------------------------------------------------------------------- substitution


def _iso_week(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    monday = day - datetime.timedelta(days=day.isoweekday() - 1)
    return monday, monday + datetime.timedelta(days=6)


class _CoverContext:
    """What ranking substitutes needs for one published version, loaded once."""

    def __init__(self, version: TimetableVersion, start: datetime.date, end: datetime.date) -> None:
        from schoolbridge.leave.models import LeaveRequest
        from schoolbridge.leave.models import Status as LeaveStatus

        self.version = version
        self.week = queries.week_of(version.term)
        self.lessons = queries.lessons_of(version)
        self.busy: set[tuple[int, int, int]] = set()
        self.load: dict[int, int] = defaultdict(int)
        self.teaches: dict[int, set[int]] = defaultdict(set)  # subject -> staff
        for x in self.lessons:
            for t in x.requirement.teachers.all():
                self.teaches[x.requirement.subject_id].add(t.pk)
                if x.placed:
                    self.load[t.pk] += x.duration
                    for p in x.periods:
                        assert x.day is not None
                        self.busy.add((t.pk, x.day, p))
        for staff_id, subject_id in TeachingAssignment.objects.filter(term=version.term).values_list(
            "teacher_id", "subject_id"
        ):
            self.teaches[subject_id].add(staff_id)
        self.staff = {s.pk: s for s in queries.school_staff(version.school_id)}
        first, _end = _iso_week(start)
        _start, last = _iso_week(end)
        self.covers = list(
            Substitution.objects.filter(
                school_id=version.school_id,
                status=Substitution.Status.CONFIRMED,
                date__gte=first,
                date__lte=last,
                substitute__isnull=False,
            ).values_list("pk", "substitute_id", "date", "lesson__period", "lesson__duration")
        )
        self.leaves = list(
            LeaveRequest.objects.filter(
                school_id=version.school_id,
                staff__isnull=False,
                status=LeaveStatus.APPROVED,
                start_date__lte=end,
                end_date__gte=start,
            )
        )

    def on_leave(self, staff_id: int, day: datetime.date, periods: range, weekday: int) -> bool:
        from schoolbridge.leave.queries import leave_day_cover

        halves = {self.week.days.get(weekday, {}).get(p) for p in periods}
        for leave in self.leaves:
            if leave.staff_id != staff_id:
                continue
            cover = leave_day_cover(leave, day)
            if cover and (cover.whole_day or set(periods) & cover.periods or halves & cover.halves):
                return True
        return False

    def candidates(
        self, lesson: Lesson, day: datetime.date, weekday: int, absent: int, ignore: int | None = None
    ) -> list[dict[str, int]]:
        """Free, qualified teachers for the lesson on day (`ignore`: a substitution not to count)."""
        periods = lesson.periods
        monday, sunday = _iso_week(day)
        extra: dict[int, int] = defaultdict(int)
        covering: set[int] = set()
        for sub_id, staff_id, date, cperiod, cdur in self.covers:
            if sub_id == ignore:
                continue
            if monday <= date <= sunday:
                extra[staff_id] += 1
            if date == day and cperiod is not None and set(range(cperiod, cperiod + cdur)) & set(periods):
                covering.add(staff_id)
        qualified = self.teaches.get(lesson.requirement.subject_id, set())
        out = []
        for staff_id in self.staff:
            if staff_id == absent or staff_id not in qualified or staff_id in covering:
                continue
            if any(
                (staff_id, weekday, p) in self.busy or (staff_id, weekday, p) in self.week.unavailable
                for p in periods
            ):
                continue
            if self.on_leave(staff_id, day, periods, weekday):
                continue
            out.append({"staff": staff_id, "extra": extra[staff_id], "load": self.load[staff_id]})
        names = {pk: s.person.full_name for pk, s in self.staff.items()}
        out.sort(key=lambda c: (c["extra"], c["load"], names.get(c["staff"], ""), c["staff"]))
        return out


def _leave_covers_lesson(
    leave: Any, day: datetime.date, lesson: Lesson, week: clashes.Week, weekday: int
) -> bool:
    from schoolbridge.leave.queries import leave_day_cover

    cover = leave_day_cover(leave, day)
    if cover is None:
        return False
    if cover.whole_day:
        return True
    halves = {week.days.get(weekday, {}).get(p) for p in lesson.periods}
    return bool(set(lesson.periods) & cover.periods or halves & cover.halves)


def propose_substitutions(leave: Any) -> list[Substitution]:
    """For approved staff leave: one proposal per published lesson of theirs in the leave period, each
    with the qualified teachers free then, fewest covers that week first. Tells the school office.
    Idempotent (a lesson and date already proposed is skipped)."""
    from schoolbridge.leave.models import Status as LeaveStatus

    if not getattr(leave, "staff_id", None) or leave.status != LeaveStatus.APPROVED:
        return []
    created: list[Substitution] = []
    with transaction.atomic():
        absent = leave.staff_id
        terms = Term.objects.filter(
            school_id=leave.school_id, start_date__lte=leave.end_date, end_date__gte=leave.start_date
        ).order_by("start_date")
        for term in terms:
            version = queries.published_version(leave.school_id, term)
            if version is None:
                continue
            ctx = _CoverContext(version, leave.start_date, leave.end_date)
            mine = [
                x for x in ctx.lessons if x.placed and absent in {t.pk for t in x.requirement.teachers.all()}
            ]
            if not mine:
                continue
            existing = set(
                Substitution.objects.filter(lesson__in=mine, absent_teacher_id=absent)
                .exclude(status=Substitution.Status.CANCELLED)
                .values_list("lesson_id", "date")
            )
            for day, weekday in queries.term_dates(term, leave.start_date, leave.end_date):
                for lesson in mine:
                    if lesson.day != weekday or (lesson.pk, day) in existing:
                        continue
                    if not _leave_covers_lesson(leave, day, lesson, ctx.week, weekday):
                        continue
                    sub = Substitution.objects.create(
                        district_id=lesson.district_id,
                        school_id=lesson.school_id,
                        lesson=lesson,
                        date=day,
                        absent_teacher_id=absent,
                        leave_request=leave,
                        candidates=ctx.candidates(lesson, day, weekday, absent),
                    )
                    record(None, "timetable.substitution.propose", sub, None, snapshot(sub))
                    created.append(sub)
        if created:
            from schoolbridge.accounts.models import RoleGrant

            office = RoleGrant.objects.filter(role="school_admin", school_id=leave.school_id).values_list(
                "user_id", flat=True
            )
            notify(
                list(office),
                "timetable.cover",
                gettext("Cover needed for %(n)d lessons while %(teacher)s is on leave")
                % {"n": len(created), "teacher": str(leave.staff)},
                f"{leave.start_date.isoformat()} – {leave.end_date.isoformat()}",
                f"/timetable/cover/{leave.school_id}/",
                school=leave.school_id,
            )
    return created


@action
def cancel_substitution(actor: Any, substitution_id: Any) -> Substitution:
    """The office decides a lesson needs no cover (a trip, a merged class). A confirmed substitute is
    told that they are no longer needed."""
    pk = _pk(substitution_id)
    sub = (
        Substitution.objects.select_for_update(of=("self",))
        .select_related("substitute__person", "lesson__requirement__klass", "lesson__requirement__subject")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if sub is None or not queries.may_manage(actor, sub.school_id):
        raise NotFound
    if sub.status == Substitution.Status.CANCELLED:
        return sub
    before = snapshot(sub)
    was_confirmed = sub.status == Substitution.Status.CONFIRMED
    sub.status = Substitution.Status.CANCELLED
    sub.save(update_fields=["status"])
    record(actor, "timetable.substitution.cancel", sub, before, snapshot(sub))
    if was_confirmed and sub.substitute is not None and sub.substitute.person.user_id:
        lesson = sub.lesson
        notify(
            [sub.substitute.person.user_id],
            "timetable.cover.cancelled",
            gettext("No cover needed: %(subject)s in %(klass)s on %(date)s period %(period)s")
            % {
                "subject": lesson.requirement.subject.name,
                "klass": lesson.requirement.klass.name,
                "date": sub.date.isoformat(),
                "period": lesson.period,
            },
            "",
            f"/timetable/teacher/{sub.substitute_id}/",
            school=sub.school_id,
        )
    return sub


@action
def confirm_substitution(actor: Any, substitution_id: Any, staff_id: Any) -> Substitution:
    """The school office confirms a substitute (one of the teachers still free and qualified then).
    The substitute and the class's guardians are told."""
    pk = _pk(substitution_id)
    sub = (
        Substitution.objects.select_for_update(of=("self",))
        .select_related("lesson__version__term", "lesson__requirement__klass", "lesson__requirement__subject")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if sub is None or not queries.may_manage(actor, sub.school_id):
        raise NotFound
    if sub.status == Substitution.Status.CANCELLED:
        raise InvalidInput(_("This cover request was cancelled."))
    version = sub.lesson.version
    ctx = _CoverContext(version, sub.date, sub.date)
    lesson = next(x for x in ctx.lessons if x.pk == sub.lesson_id)
    assert lesson.day is not None
    free = {c["staff"] for c in ctx.candidates(lesson, sub.date, lesson.day, sub.absent_teacher_id, sub.pk)}
    chosen = _pk(staff_id)
    if chosen not in free:
        raise InvalidInput({"staff": [_("That teacher is not free and qualified for this lesson.")]})
    before = snapshot(sub)
    sub.substitute_id = chosen
    sub.status = Substitution.Status.CONFIRMED
    sub.confirmed_at = timezone.now()
    sub.confirmed_by = actor
    sub.save(update_fields=["substitute", "status", "confirmed_at", "confirmed_by"])
    record(actor, "timetable.substitution.confirm", sub, before, snapshot(sub))
    substitute = ctx.staff[chosen]
    klass = lesson.requirement.klass
    args = {
        "date": sub.date.isoformat(),
        "day": day_label(lesson.day),
        "period": lesson.period,
        "subject": lesson.requirement.subject.name,
        "klass": klass.name,
        "teacher": substitute.person.full_name,
    }
    if substitute.person.user_id:
        notify(
            [substitute.person.user_id],
            "timetable.cover.you",
            gettext("You cover %(subject)s in %(klass)s on %(date)s period %(period)s") % args,
            gettext("%(klass)s, %(subject)s, %(date)s (%(day)s) period %(period)s") % args,
            f"/timetable/teacher/{substitute.pk}/",
            school=sub.school_id,
        )
    notify(
        queries.guardian_user_ids_of_class(klass.pk),
        "timetable.cover.class",
        gettext("%(subject)s on %(date)s period %(period)s is taught by %(teacher)s") % args,
        gettext("%(klass)s: the usual teacher is away; %(teacher)s covers the lesson.") % args,
        f"/timetable/class/{klass.pk}/",
        school=sub.school_id,
    )
    return sub
