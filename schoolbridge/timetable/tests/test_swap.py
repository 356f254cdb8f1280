"""Recursive swapping, the first-timetable search of large schools (numba-compiled). No database."""

from __future__ import annotations

import time

import pytest

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine import swap
from schoolbridge.timetable.engine.ejection import Ejection
from schoolbridge.timetable.engine.score import score
from schoolbridge.timetable.engine.solver import check_assignment, compile_instance
from schoolbridge.timetable.engine.swap import RecursiveSwap

from .test_ejection import sport_school, tight_school
from .test_tabu import _solution


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    """The search compiled before the tests that time it (about 12 s when numba's cache is cold)."""
    swap.warm()


def chain_school() -> m.Instance:
    """One day of three periods. X (T0, class C0) may only start in period 0, Y (T1, C0) in periods 0 and
    1, Z (T1, C1) anywhere. With Y in period 0 and Z in period 1, X goes in only if Y moves to period 1
    and Z moves out of Y's way: a chain of two moves."""
    inst = m.Instance(name="chain", days=["Mo"], hours=["1", "2", "3"])
    inst.teachers = {t: m.Teacher(t) for t in ("T0", "T1")}
    for k in ("C0", "C1"):
        inst.students_sets[k] = m.StudentsSet(k, "year", 30, subgroups=(k,))
        inst.years.append(k)
        inst.subgroups.append(k)
    inst.activities = {
        1: m.Activity(1, 1, 1, 1, ("T0",), "S", (), ("C0",), True, ("C0",), 30),  # X
        2: m.Activity(2, 2, 1, 1, ("T1",), "S", (), ("C0",), True, ("C0",), 30),  # Y
        3: m.Activity(3, 3, 1, 1, ("T1",), "S", (), ("C1",), True, ("C1",), 30),  # Z
    }
    inst.time_constraints = [
        m.BasicCompulsoryTime(),
        m.ActivityPreferredStartingTimes(activity_id=1, times=((0, 0),)),
        m.ActivityPreferredStartingTimes(activity_id=2, times=((0, 0), (0, 1))),
    ]
    inst.space_constraints = [m.BasicCompulsorySpace()]
    return inst


def test_warm_compiles_the_search_and_places_its_two_lessons_on_different_days() -> None:
    started = time.monotonic()
    assert sorted(swap.warm()) == [0, 1]  # type: ignore[type-var]
    assert time.monotonic() - started < 5  # the fixture compiled it: now it is loaded, not compiled again


def test_a_lesson_goes_in_by_a_chain_of_moves_in_one_step() -> None:
    inst = chain_school()
    c = compile_instance(inst)
    index = {act.id: i for i, act in enumerate(c.acts)}
    cur: list[int | None] = [None] * len(c.acts)
    cur[index[2]], cur[index[3]] = 0, 1
    search = RecursiveSwap(c, cur, {}, seed=1)
    assert search.run(time.monotonic() + 10, lambda: False) == 0
    # one step: X was placed by moving Y and then Z, nothing was pushed out to wait for a later step
    assert search.ctr[swap.STEPS] == 1
    assert search.ctr[swap.CALLS] >= 3
    assert (cur[index[1]], cur[index[2]]) == (0, 1) and cur[index[3]] in (0, 2)
    rep = score(inst, _solution(c, cur, {}))
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()


def test_recursive_swapping_completes_a_school_with_no_free_period_from_nothing() -> None:
    """Every class and teacher busy in every period, lessons of a class with a teacher on different days
    (hard min days), two lessons starting together."""
    inst = tight_school(n=6, days=3)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    assert RecursiveSwap(c, cur, rooms, seed=1).run(time.monotonic() + 30, lambda: False) == 0
    sol = _solution(c, cur, rooms)
    rep = score(inst, sol)
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()
    assert check_assignment(c, sol)[0]
    a, b = (i for i, act in enumerate(c.acts) if act.id in inst.time_constraints[-1].activity_ids)  # type: ignore[attr-defined]
    assert cur[a] == cur[b]


def test_recursive_swapping_finishes_what_the_ejection_search_left() -> None:
    inst = tight_school(n=7, days=3)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    Ejection(c, cur, rooms, seed=1).run(time.monotonic() + 0.001, lambda: False)
    placed_before = {i: s for i, s in enumerate(cur) if s is not None}
    assert len(placed_before) < len(cur)
    search = RecursiveSwap(c, cur, rooms, seed=2)
    # what was placed stays at the head of the order, as placed
    assert search.ctr[swap.ADDED] == sum(all(i in placed_before for i in u) for u in search.units) > 0
    assert search.run(time.monotonic() + 30, lambda: False) == 0
    rep = score(inst, _solution(c, cur, rooms))
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()


def test_recursive_swapping_never_moves_a_lesson_it_does_not_handle() -> None:
    """T0's first lessons with C0 and C1 must follow each other: the search leaves them where they are."""
    inst = tight_school(n=5, days=3)
    ids = sorted(inst.activities)
    inst.time_constraints.append(m.TwoActivitiesConsecutive(first=ids[0], second=ids[3]))
    c = compile_instance(inst)
    index = {act.id: i for i, act in enumerate(c.acts)}
    first, second = index[ids[0]], index[ids[3]]
    cur: list[int | None] = [None] * len(c.acts)
    cur[first], cur[second] = 0, 1
    RecursiveSwap(c, cur, {}, seed=3).run(time.monotonic() + 5, lambda: False)
    assert (cur[first], cur[second]) == (0, 1)
    rep = score(inst, _solution(c, cur, {}))
    assert {v.constraint_type for v in rep.hard} <= {"Unplaced"}, rep.to_text()


def test_recursive_swapping_gives_lessons_starting_together_their_own_rooms() -> None:
    inst, sport = sport_school()
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    assert RecursiveSwap(c, cur, rooms, seed=4).run(time.monotonic() + 10, lambda: False) == 0
    index = {act.id: i for i, act in enumerate(c.acts)}
    assert len({cur[index[a]] for a in sport}) == 1
    assert len({rooms[index[a]] for a in sport}) == 3
    rep = score(inst, _solution(c, cur, rooms))
    assert rep.hard_total == 0, rep.to_text()


def test_recursive_swapping_keeps_the_best_state_when_no_complete_timetable_exists() -> None:
    """A fourth C0 lesson for T0 cannot fit: the search stops at its deadline, at most a few lessons stay
    out and what is placed has no clash."""
    inst = tight_school(n=5, days=3)
    inst.activities[999] = m.Activity(999, 999, 1, 1, ("T0",), "S0", (), ("C0",), True, ("C0",), 30)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    t0 = time.monotonic()
    left = RecursiveSwap(c, cur, rooms, seed=5).run(t0 + 2, lambda: False, patience=60)
    assert 1 <= left <= 3
    assert time.monotonic() - t0 < 10
    rep = score(inst, _solution(c, cur, rooms))
    assert len(rep.unplaced) == left
    assert {v.constraint_type for v in rep.hard} == {"Unplaced"}, rep.to_text()


def test_recursive_swapping_stops_when_asked() -> None:
    inst = tight_school(n=5, days=3)
    inst.activities[999] = m.Activity(999, 999, 1, 1, ("T0",), "S0", (), ("C0",), True, ("C0",), 30)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    t0 = time.monotonic()
    RecursiveSwap(c, cur, {}, seed=6).run(t0 + 60, stop, patience=60)
    assert len(calls) == 4 and time.monotonic() - t0 < 10


def test_recursive_swapping_hands_over_when_it_stalls_with_few_lessons_out() -> None:
    """A lesson too many: the search gets within a lesson or so at once, then stalls; with few out it
    stops after ``patience`` seconds (or as long as it took to get there), long before its deadline."""
    inst = tight_school(n=5, days=3)
    inst.activities[999] = m.Activity(999, 999, 1, 1, ("T0",), "S0", (), ("C0",), True, ("C0",), 30)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    t0 = time.monotonic()
    left = RecursiveSwap(c, cur, {}, seed=7).run(t0 + 60, lambda: False, patience=0.5)
    assert 1 <= left <= swap.FEW
    assert time.monotonic() - t0 < 10
