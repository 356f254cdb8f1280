"""Clash checks for a timetable being edited by hand. Pure Python, no Django.

A lesson occupies its class, its teachers and its room (when it has one) for `duration` consecutive
periods of one day. Moving a lesson to a (day, period, room) is legal when the periods exist that day
and lie in one half of the day, no other lesson holds the class, a teacher or the room in any of them,
and no teacher is unavailable then. `check` lists what is wrong with a placement; `alternatives` lists
every legal (day, period, room) for a lesson.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TEACHER = "teacher"
CLASS = "class"
ROOM = "room"
UNAVAILABLE = "unavailable"
NO_SUCH_PERIOD = "no_such_period"
SPLIT = "split"  # a multi-period lesson across the midday break


@dataclass(frozen=True)
class Placed:
    lesson_id: int
    class_id: int
    teacher_ids: frozenset[int]
    room_id: int | None
    day: int | None
    period: int | None
    duration: int = 1

    @property
    def placed(self) -> bool:
        return self.day is not None and self.period is not None

    def at(self, day: int, period: int, room_id: int | None) -> Placed:
        return Placed(self.lesson_id, self.class_id, self.teacher_ids, room_id, day, period, self.duration)


@dataclass(frozen=True)
class Clash:
    kind: str
    day: int
    period: int
    other_lesson_id: int | None = None
    teacher_id: int | None = None
    room_id: int | None = None
    class_id: int | None = None


@dataclass
class Week:
    """The periods of each school day: day -> {period number: half ("am"/"pm")}, and the periods when
    teachers cannot teach."""

    days: dict[int, dict[int, str]]
    unavailable: set[tuple[int, int, int]] = field(default_factory=set)  # (teacher, day, period)

    def span(self, day: int, period: int, duration: int) -> list[int] | None:
        """The period numbers a lesson starting here takes, or None if they do not all exist that day."""
        numbers = self.days.get(day, {})
        wanted = list(range(period, period + duration))
        if any(p not in numbers for p in wanted):
            return None
        return wanted

    def slots(self) -> list[tuple[int, int]]:
        return [(d, p) for d in sorted(self.days) for p in sorted(self.days[d])]


class Occupancy:
    """Who holds what at each (day, period), built once for a set of placed lessons."""

    def __init__(self, lessons: Iterable[Placed], exclude: int | None = None) -> None:
        self.teachers: dict[tuple[int, int, int], int] = {}
        self.classes: dict[tuple[int, int, int], int] = {}
        self.rooms: dict[tuple[int, int, int], int] = {}
        for lesson in lessons:
            if lesson.lesson_id == exclude or lesson.day is None or lesson.period is None:
                continue
            for p in range(lesson.period, lesson.period + lesson.duration):
                key = (lesson.day, p)
                self.classes.setdefault((*key, lesson.class_id), lesson.lesson_id)
                for t in lesson.teacher_ids:
                    self.teachers.setdefault((*key, t), lesson.lesson_id)
                if lesson.room_id is not None:
                    self.rooms.setdefault((*key, lesson.room_id), lesson.lesson_id)


def _clashes_at(
    week: Week, occ: Occupancy, lesson: Placed, day: int, period: int, with_room: bool
) -> list[Clash]:
    span = week.span(day, period, lesson.duration)
    if span is None:
        return [Clash(NO_SUCH_PERIOD, day, period)]
    halves = {week.days[day][p] for p in span}
    if len(halves) > 1:
        return [Clash(SPLIT, day, period)]
    found: list[Clash] = []
    for p in span:
        other = occ.classes.get((day, p, lesson.class_id))
        if other is not None:
            found.append(Clash(CLASS, day, p, other, class_id=lesson.class_id))
        for t in sorted(lesson.teacher_ids):
            other = occ.teachers.get((day, p, t))
            if other is not None:
                found.append(Clash(TEACHER, day, p, other, teacher_id=t))
            if (t, day, p) in week.unavailable:
                found.append(Clash(UNAVAILABLE, day, p, teacher_id=t))
        if with_room and lesson.room_id is not None:
            other = occ.rooms.get((day, p, lesson.room_id))
            if other is not None:
                found.append(Clash(ROOM, day, p, other, room_id=lesson.room_id))
    return found


def check(week: Week, lessons: Sequence[Placed], moved: Placed) -> list[Clash]:
    """What is wrong with `moved` (a lesson at its new day, period and room) among the other lessons."""
    if moved.day is None or moved.period is None:
        return []
    occ = Occupancy(lessons, exclude=moved.lesson_id)
    return _clashes_at(week, occ, moved, moved.day, moved.period, with_room=True)


@dataclass(frozen=True)
class Alternative:
    day: int
    period: int
    room_ids: tuple[int | None, ...]  # free rooms, the lesson's own room first; (None,) without a room


def alternatives(
    week: Week, lessons: Sequence[Placed], lesson: Placed, room_ids: Sequence[int] = ()
) -> list[Alternative]:
    """Every (day, period) where the lesson can start without a clash, each with the rooms free then
    (the lesson's current room first, then `room_ids` in order). A lesson without a room needs none.
    The lesson's current position is not listed."""
    occ = Occupancy(lessons, exclude=lesson.lesson_id)
    out: list[Alternative] = []
    for day, period in week.slots():
        if (day, period) == (lesson.day, lesson.period):
            continue
        if _clashes_at(week, occ, lesson, day, period, with_room=False):
            continue
        if lesson.room_id is None:
            out.append(Alternative(day, period, (None,)))
            continue
        span = range(period, period + lesson.duration)
        candidates = [lesson.room_id, *[r for r in room_ids if r != lesson.room_id]]
        free = tuple(r for r in candidates if all((day, p, r) not in occ.rooms for p in span))
        if free:
            out.append(Alternative(day, period, free))
    return out


def all_clashes(week: Week, lessons: Sequence[Placed]) -> list[tuple[int, Clash]]:
    """Every clash in a timetable, as (lesson id, clash) with the later lesson (by id) blamed."""
    out: list[tuple[int, Clash]] = []
    placed = sorted((x for x in lessons if x.placed), key=lambda x: x.lesson_id)
    occ = Occupancy([])
    for lesson in placed:
        assert lesson.day is not None and lesson.period is not None
        for c in _clashes_at(week, occ, lesson, lesson.day, lesson.period, with_room=True):
            out.append((lesson.lesson_id, c))
        for p in range(lesson.period, lesson.period + lesson.duration):
            key = (lesson.day, p)
            occ.classes.setdefault((*key, lesson.class_id), lesson.lesson_id)
            for t in lesson.teacher_ids:
                occ.teachers.setdefault((*key, t), lesson.lesson_id)
            if lesson.room_id is not None:
                occ.rooms.setdefault((*key, lesson.room_id), lesson.lesson_id)
    return out
