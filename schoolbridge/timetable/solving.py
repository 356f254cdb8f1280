"""Solving a draft version with the engine: the version as an engine Instance, the solve job, the result
stored as lesson placements.

`build_instance(version)` turns the school's data into the engine's model (timetable.engine.model):
days are the term's school weekdays, hours the union of its bell periods (a period missing on some day
is a break there), classes are students sets, lesson requirements are split activities (one per lesson,
grouped by requirement, at least a day apart where possible), teachers' unavailable periods, a
requirement's room as a preferred room, locked lessons pinned, and multi-period lessons may not span
the midday break. `solve_version` runs the CP-SAT solver (timetable.engine.solver) in the background
job `timetable.tasks.solve_version`, tells the user how it goes through notify, and stores the best
timetable found with `apply_solution` (one transaction, audited; locked lessons stay where they are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext

from schoolbridge.audit.log import record
from schoolbridge.core.errors import InvalidInput
from schoolbridge.notify.actions import notify

from . import clashes, queries
from .engine import model as m
from .models import Lesson, TimetableVersion

logger = logging.getLogger(__name__)
MIN_DAYS_WEIGHT = 95.0  # FET's customary weight for "lessons of a subject on different days"


@dataclass
class Mapping:
    """How engine indices and names map back to the school's data."""

    weekdays: list[int]  # day index -> ISO weekday
    periods: list[int]  # hour index -> bell period number
    rooms: dict[str, int]  # room name -> Room id
    roomed: set[int]  # lessons that take a room (their requirement names one)


def _unique(names: dict[int, str]) -> dict[int, str]:
    """pk -> name, with a suffix where two objects share a name."""
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {pk: (name if seen[name] == 1 else f"{name}#{pk}") for pk, name in names.items()}


def instance_for(version: TimetableVersion) -> tuple[m.Instance, Mapping]:
    term = version.term
    week = queries.week_of(term)
    weekdays = sorted(week.days)
    periods = sorted({n for d in weekdays for n in week.days[d]})
    lessons = queries.lessons_of(version)
    teachers = _unique({t.pk: t.person.full_name for x in lessons for t in x.requirement.teachers.all()})
    classes = _unique({x.requirement.klass_id: x.requirement.klass.name for x in lessons})
    subjects = _unique({x.requirement.subject_id: x.requirement.subject.name for x in lessons})
    rooms = _unique({x.room_id: str(x.room) for x in lessons if x.room_id and x.room is not None})
    inst = m.Instance(
        name=f"{version.school.name} {term.name} {version.name}",
        days=[str(d) for d in weekdays],
        hours=[str(p) for p in periods],
        subjects=sorted(set(subjects.values())),
        teachers={name: m.Teacher(name) for name in teachers.values()},
        rooms={name: m.Room(name) for name in rooms.values()},
        students_sets={name: m.StudentsSet(name, "year", 0, (name,)) for name in classes.values()},
        years=sorted(classes.values()),
        subgroups=sorted(classes.values()),
    )
    totals: dict[int, int] = {}
    for x in lessons:
        totals[x.requirement_id] = totals.get(x.requirement_id, 0) + x.duration
    for x in lessons:
        req = x.requirement
        klass = classes[req.klass_id]
        inst.activities[x.pk] = m.Activity(
            id=x.pk,
            group_id=req.pk,
            duration=x.duration,
            total_duration=totals[req.pk],
            teachers=tuple(teachers[t.pk] for t in req.teachers.all()),
            subject=subjects[req.subject_id],
            tags=(),
            students=(klass,),
            subgroups=(klass,),
        )
    hard: list[m.Constraint] = [m.BasicCompulsoryTime()]
    if rooms:
        hard.append(m.BasicCompulsorySpace())
    breaks = tuple(
        (di, hi) for di, d in enumerate(weekdays) for hi, p in enumerate(periods) if p not in week.days[d]
    )
    if breaks:
        hard.append(m.BreakTimes(times=breaks))
    by_teacher: dict[int, list[tuple[int, int]]] = {}
    for t, d, p in sorted(week.unavailable):
        if t in teachers and d in weekdays and p in periods:
            by_teacher.setdefault(t, []).append((weekdays.index(d), periods.index(p)))
    for t, times in by_teacher.items():
        hard.append(m.TeacherNotAvailableTimes(teacher=teachers[t], times=tuple(times)))
    placed = queries.as_placed(lessons)
    for x, px in zip(lessons, placed, strict=True):
        if x.duration > 1:
            starts = tuple(
                (weekdays.index(d), periods.index(p))
                for d, p in week.slots()
                if not [
                    c
                    for c in clashes.check(week, [], px.at(d, p, None))
                    if c.kind in (clashes.SPLIT, clashes.NO_SUCH_PERIOD)
                ]
            )
            hard.append(m.ActivityPreferredStartingTimes(activity_id=x.pk, times=starts))
        if x.room_id and x.room_id in rooms:
            hard.append(
                m.ActivityPreferredRoom(activity_id=x.pk, room=rooms[x.room_id], permanently_locked=x.locked)
            )
        if x.locked and x.placed:
            assert x.day is not None and x.period is not None
            hard.append(
                m.ActivityPreferredStartingTime(
                    activity_id=x.pk,
                    day=weekdays.index(x.day),
                    hour=periods.index(x.period),
                    permanently_locked=True,
                )
            )
    soft: list[m.Constraint] = []
    groups: dict[int, list[int]] = {}
    for x in lessons:
        groups.setdefault(x.requirement_id, []).append(x.pk)
    for ids in groups.values():
        if 1 < len(ids) <= len(weekdays):
            soft.append(
                m.MinDaysBetweenActivities(
                    weight_percentage=MIN_DAYS_WEIGHT, activity_ids=tuple(ids), min_days=1
                )
            )
    inst.time_constraints = [c for c in hard + soft if c.KIND == "time"]
    inst.space_constraints = [c for c in hard if c.KIND == "space"]
    mapping = Mapping(
        weekdays, periods, {name: pk for pk, name in rooms.items()}, {x.pk for x in lessons if x.room_id}
    )
    return inst, mapping


def build_instance(version: TimetableVersion) -> m.Instance:
    """The version as an engine Instance (see the module docstring)."""
    return instance_for(version)[0]


def apply_solution(
    actor: Any,
    version: TimetableVersion,
    assignment: Mapping_[int, tuple[int, int, str | None]],
    mapping: Mapping,
    partial: bool = False,
) -> int:
    """Store a solver's timetable on a draft: every unlocked lesson moves to its (day, hour[, room]).

    A complete timetable is stored whole or not at all (InvalidInput if it clashes). A partial one (the
    best the solver had when it ran out of time) is stored lesson by lesson, leaving out any lesson that
    would clash with those already stored; the others stay unplaced. Returns the number placed."""
    from .actions import _draft_for_update

    with transaction.atomic():
        v = _draft_for_update(actor, version)
        lessons = {x.pk: x for x in queries.lessons_of(v)}
        week = queries.week_of(v.term)
        movable = {pk for pk, x in lessons.items() if not x.locked}
        if partial:
            for pk in movable:  # everything the solver may move starts off the grid
                lessons[pk].day = lessons[pk].period = None
        placed = {p.lesson_id: p for p in queries.as_placed(lessons.values())}
        changed: list[Lesson] = [lessons[pk] for pk in movable] if partial else []
        for lesson_id, (day, hour, room) in assignment.items():
            x = lessons.get(lesson_id)
            if x is None or x.locked:
                continue
            room_id = x.room_id
            if room is not None and lesson_id in mapping.roomed and room in mapping.rooms:
                room_id = mapping.rooms[room]
            there = placed[lesson_id].at(mapping.weekdays[day], mapping.periods[hour], room_id)
            if partial and clashes.check(week, list(placed.values()), there):
                continue
            placed[lesson_id] = there
            x.day, x.period, x.room_id = there.day, there.period, room_id
            if not partial:
                changed.append(x)
        if not partial and clashes.all_clashes(week, list(placed.values())):
            raise InvalidInput(gettext("The solver's timetable clashes; nothing was stored."))
        Lesson.objects.bulk_update(changed, ["day", "period", "room"])
        n = sum(1 for x in changed if x.day is not None)
        record(actor, "timetable.version.solve", v, None, {"placed": n, "partial": partial})
    return n


def solve_version(
    version_id: int,
    user_id: int,
    time_limit: float = 60.0,
    on_progress: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Solve a draft and store the result; the user is told when it starts, at the first complete
    timetable and at the end (with the plain-words reasons when it cannot be timetabled)."""
    from .engine import solver as engine

    user = get_user_model().objects.get(pk=user_id)
    version = queries.managed_version(user, version_id)
    inst, mapping = instance_for(version)
    link = f"/timetable/v/{version.pk}/"
    notify(
        [user],
        "timetable.solve",
        gettext("Solving %(name)s…") % {"name": version.name},
        "",
        link,
        school=version.school_id,
    )
    told_first = False

    def progress(p: Any) -> None:
        nonlocal told_first
        if on_progress is not None:
            on_progress(p)
        if (p.penalty is not None or p.solutions > 0) and not told_first:
            told_first = True
            _safe_notify(
                [user],
                "timetable.solve",
                gettext("A complete timetable was found for %(name)s; improving it…")
                % {"name": version.name},
                "",
                link,
                school=version.school_id,
            )

    compiled = engine.compile_instance(inst)
    params = engine.SolveParams(time_limit=time_limit, seed=1, workers=1)
    result = engine.TimetableSolver(compiled, params, on_progress=progress).solve()
    result.problems = [in_reader_language(p) for p in result.problems]
    if result.assignment is None and result.partial:
        try:
            placed = apply_solution(user, version, result.partial, mapping, partial=True)
        except InvalidInput as exc:
            placed, result.problems = 0, [*result.problems, *(str(m) for m in exc.messages)]
        if placed:
            notify(
                [user],
                "timetable.solve",
                gettext("%(name)s: %(n)d of %(total)d lessons placed; place the rest by hand")
                % {"name": version.name, "n": placed, "total": len(inst.activities)},
                "\n".join(result.problems),
                link,
                school=version.school_id,
            )
            return {"status": result.status, "placed": placed, "problems": result.problems}
    if result.assignment is None:
        reasons = "\n".join(result.problems) or gettext(
            "No complete timetable was found in the time allowed."
        )
        notify(
            [user],
            "timetable.solve",
            gettext("%(name)s could not be timetabled") % {"name": version.name},
            reasons,
            link,
            school=version.school_id,
        )
        return {"status": result.status, "placed": 0, "problems": result.problems}
    try:
        placed = apply_solution(user, version, result.assignment, mapping)
    except InvalidInput as exc:
        notify(
            [user],
            "timetable.solve",
            gettext("%(name)s could not be timetabled") % {"name": version.name},
            "\n".join(str(m) for m in exc.messages),
            link,
            school=version.school_id,
        )
        return {"status": "refused", "placed": 0, "problems": [str(m) for m in exc.messages]}
    notify(
        [user],
        "timetable.solve",
        gettext("%(name)s: %(n)d lessons placed by the solver") % {"name": version.name, "n": placed},
        gettext("Soft penalty %(p)s") % {"p": result.penalty},
        link,
        school=version.school_id,
    )
    return {"status": result.status, "placed": placed, "penalty": result.penalty}


def quick_fill(actor: Any, version: TimetableVersion | int) -> int:
    """Place the unplaced lessons one by one on the first legal slot (no solver): the hardest first
    (longest, then the busiest teachers), each on the day where its requirement has the fewest lessons.
    Lessons with no legal slot stay unplaced. One transaction, audited. Returns how many were placed."""
    from .actions import _draft_for_update

    with transaction.atomic():
        v = _draft_for_update(actor, getattr(version, "pk", version))
        lessons = queries.lessons_of(v)
        week = queries.week_of(v.term)
        placed = {p.lesson_id: p for p in queries.as_placed(lessons)}
        load: dict[int, int] = {}
        for p in placed.values():
            for t in p.teacher_ids:
                load[t] = load.get(t, 0) + p.duration
        todo = sorted(
            (x for x in lessons if not x.placed),
            key=lambda x: (
                -x.duration,
                -max((load.get(t, 0) for t in placed[x.pk].teacher_ids), default=0),
                x.pk,
            ),
        )
        rooms = [r.pk for r in queries.school_rooms(v.school_id)]
        days_of: dict[int, dict[int, int]] = {}
        for x in lessons:
            if x.day is not None:
                days_of.setdefault(x.requirement_id, {}).setdefault(x.day, 0)
                days_of[x.requirement_id][x.day] += 1
        changed: list[Lesson] = []
        for x in todo:
            me = placed[x.pk]
            alts = clashes.alternatives(week, list(placed.values()), me, rooms if x.room_id else [])
            if not alts:
                continue
            used = days_of.setdefault(x.requirement_id, {})
            best = min(alts, key=lambda a: (used.get(a.day, 0), a.period, a.day))
            room_id = best.room_ids[0]
            placed[x.pk] = me.at(best.day, best.period, room_id)
            used[best.day] = used.get(best.day, 0) + 1
            x.day, x.period, x.room_id = best.day, best.period, room_id
            changed.append(x)
        Lesson.objects.bulk_update(changed, ["day", "period", "room"])
        record(actor, "timetable.version.quick_fill", v, None, {"placed": len(changed)})
    return len(changed)


def _safe_notify(*args: Any, **kwargs: Any) -> None:
    """Progress from inside the solver's callback: a failure to notify never stops the search."""
    try:
        notify(*args, **kwargs)
    except Exception:  # noqa: BLE001
        logger.exception("timetable: progress notification failed")


def solver_available() -> bool:
    """Whether the engine's CP-SAT solver can be used here."""
    try:
        from .engine import solver as engine
    except Exception:  # noqa: BLE001 — OR-Tools missing or the engine not installed
        return False
    return hasattr(engine, "compile_instance") and hasattr(engine, "TimetableSolver")


def in_reader_language(problem: str) -> str:
    """The engine's reasons are English; those it marked (:class:`engine.solver.Problem`) are shown in the
    reader's language."""
    template = getattr(problem, "template", None)
    if template is None:
        return str(problem)
    return gettext(template) % problem.params  # type: ignore[attr-defined]
