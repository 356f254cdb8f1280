"""The clash rules and the list of legal alternatives, without a database."""

from __future__ import annotations

from schoolbridge.timetable import clashes
from schoolbridge.timetable.clashes import Placed, Week

HALVES = {1: "am", 2: "am", 3: "am", 4: "am", 5: "pm", 6: "pm"}


def week(unavailable: set[tuple[int, int, int]] | None = None) -> Week:
    return Week({d: dict(HALVES) for d in (1, 2, 3, 4, 5)}, unavailable or set())


def lesson(
    pk: int,
    klass: int,
    teachers: set[int],
    room: int | None,
    day: int | None,
    period: int | None,
    duration: int = 1,
) -> Placed:
    return Placed(pk, klass, frozenset(teachers), room, day, period, duration)


BASE = [
    lesson(1, 10, {100}, 500, 1, 3),  # teacher 100 teaches class 10 in room 500 on Monday period 3
    lesson(2, 11, {101}, 501, 1, 3),
    lesson(3, 12, {102}, None, 2, 1, 2),  # a double lesson Tuesday 1–2
]


def kinds(found: list[clashes.Clash]) -> list[str]:
    return [c.kind for c in found]


def test_free_slot_is_legal() -> None:
    assert clashes.check(week(), BASE, lesson(9, 13, {103}, 502, 1, 3)) == []


def test_teacher_class_and_room_double_booked() -> None:
    found = clashes.check(week(), BASE, lesson(9, 13, {100}, None, 1, 3))
    assert kinds(found) == ["teacher"] and found[0].other_lesson_id == 1 and found[0].teacher_id == 100
    found = clashes.check(week(), BASE, lesson(9, 11, {103}, None, 1, 3))
    assert kinds(found) == ["class"] and found[0].other_lesson_id == 2
    found = clashes.check(week(), BASE, lesson(9, 13, {103}, 500, 1, 3))
    assert kinds(found) == ["room"] and found[0].room_id == 500
    # All three at once are all reported.
    assert sorted(kinds(clashes.check(week(), BASE, lesson(9, 10, {100}, 500, 1, 3)))) == [
        "class",
        "room",
        "teacher",
    ]


def test_a_double_lesson_clashes_on_its_second_period() -> None:
    found = clashes.check(week(), BASE, lesson(9, 13, {102}, None, 2, 2))
    assert kinds(found) == ["teacher"] and found[0].period == 2
    found = clashes.check(week(), BASE, lesson(9, 13, {100}, None, 1, 2, duration=2))
    assert kinds(found) == ["teacher"] and found[0].period == 3


def test_unavailable_missing_period_and_midday_break() -> None:
    assert kinds(clashes.check(week({(103, 4, 2)}), BASE, lesson(9, 13, {103}, None, 4, 2))) == [
        "unavailable"
    ]
    assert kinds(clashes.check(week(), BASE, lesson(9, 13, {103}, None, 4, 7))) == ["no_such_period"]
    assert kinds(clashes.check(week(), BASE, lesson(9, 13, {103}, None, 6, 1))) == ["no_such_period"]
    assert kinds(clashes.check(week(), BASE, lesson(9, 13, {103}, None, 4, 4, duration=2))) == ["split"]
    assert kinds(clashes.check(week(), BASE, lesson(9, 13, {103}, None, 4, 6, duration=2))) == [
        "no_such_period"
    ]


def test_moving_a_lesson_does_not_clash_with_itself() -> None:
    assert clashes.check(week(), BASE, lesson(1, 10, {100}, 500, 1, 4)) == []
    assert clashes.check(week(), BASE, lesson(3, 12, {102}, None, 2, 2, duration=2)) == []


def test_alternatives_are_exactly_the_legal_slots() -> None:
    w = week({(100, 5, 6)})
    me = BASE[0]
    alts = clashes.alternatives(w, BASE, me, room_ids=[500, 501, 502])
    listed = {(a.day, a.period) for a in alts}
    # Every slot of the week except its own and the teacher's unavailable one.
    assert listed == {s for s in w.slots()} - {(1, 3), (5, 6)}
    for a in alts:
        assert a.room_ids[0] == 500  # its own room first, where free
        moved = me.at(a.day, a.period, a.room_ids[0])
        assert clashes.check(w, BASE, moved) == []
    # Monday period 3 from another class's lesson: room 500 is taken, 501 too, 502 free.
    other = lesson(9, 13, {103}, 501, 2, 5)
    monday3 = next(
        a for a in clashes.alternatives(w, BASE, other, [500, 501, 502]) if (a.day, a.period) == (1, 3)
    )
    assert monday3.room_ids == (502,)
    # Class 12's double lesson cannot start at period 4 (midday) nor 6 (no period 7).
    double = BASE[2]
    starts = {(a.day, a.period) for a in clashes.alternatives(w, BASE, double)}
    assert (1, 4) not in starts and (1, 6) not in starts and (1, 5) in starts


def test_all_clashes_blames_the_later_lesson() -> None:
    lessons = [*BASE, lesson(4, 13, {100}, None, 1, 3)]
    found = clashes.all_clashes(week(), lessons)
    assert [(pk, c.kind, c.other_lesson_id) for pk, c in found] == [(4, "teacher", 1)]
    assert clashes.all_clashes(week(), BASE) == []
