"""The tabu search over partial timetables that places the last lessons of a large school. No database."""

from __future__ import annotations

import time

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine.ejection import Ejection
from schoolbridge.timetable.engine.score import score
from schoolbridge.timetable.engine.solver import Compiled, check_assignment, compile_instance
from schoolbridge.timetable.engine.tabu import PartialTabu

from .test_ejection import sport_school, tight_school


def _solution(c: Compiled, cur: list[int | None], rooms: dict[int, int]) -> m.Solution:
    return {
        act.id: m.Placement(s // c.n_hours, s % c.n_hours, c.room_names[rooms[i]] if i in rooms else None)
        for i, (act, s) in enumerate(zip(c.acts, cur, strict=True))
        if s is not None
    }


def test_tabu_search_completes_a_school_with_no_free_period_from_nothing() -> None:
    inst = tight_school(n=6, days=3)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    search = PartialTabu(c, cur, rooms, seed=1)
    assert search.run(time.monotonic() + 30, lambda: False) == 0
    assert search.iterations >= len(c.acts)
    sol = _solution(c, cur, rooms)
    rep = score(inst, sol)
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()
    assert check_assignment(c, sol)[0]
    a, b = (i for i, act in enumerate(c.acts) if act.id in inst.time_constraints[-1].activity_ids)  # type: ignore[attr-defined]
    assert cur[a] == cur[b]


def test_tabu_search_finishes_what_the_ejection_search_left() -> None:
    """The ejection search stopped after a handful of steps; the tabu search takes its state as it is."""
    inst = tight_school(n=7, days=3)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    Ejection(c, cur, rooms, seed=1).run(time.monotonic() + 0.001, lambda: False)
    assert any(s is None for s in cur)
    assert PartialTabu(c, cur, rooms, seed=2).run(time.monotonic() + 30, lambda: False) == 0
    rep = score(inst, _solution(c, cur, rooms))
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()


def test_tabu_search_never_moves_a_lesson_it_does_not_handle() -> None:
    """T0's first lessons with C0 and C1 must follow each other: the tabu search leaves them (and only them)
    where they are, even where that costs it lessons."""
    inst = tight_school(n=5, days=3)
    ids = sorted(inst.activities)
    inst.time_constraints.append(m.TwoActivitiesConsecutive(first=ids[0], second=ids[3]))
    c = compile_instance(inst)
    index = {act.id: i for i, act in enumerate(c.acts)}
    first, second = index[ids[0]], index[ids[3]]
    cur: list[int | None] = [None] * len(c.acts)
    cur[first], cur[second] = 0, 1
    search = PartialTabu(c, cur, {}, seed=3)
    assert first not in search.handled and second not in search.handled
    search.run(time.monotonic() + 5, lambda: False)
    assert (cur[first], cur[second]) == (0, 1)
    # what is placed does not clash
    seen: set[tuple[str, int]] = set()
    for act, s in zip(c.acts, cur, strict=True):
        if s is None:
            continue
        for key in [(f"t{t}", s) for t in act.teachers] + [(f"g{g}", s) for g in act.subgroups]:
            assert key not in seen
            seen.add(key)


def test_tabu_search_gives_lessons_starting_together_their_own_rooms() -> None:
    inst, sport = sport_school()
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    assert PartialTabu(c, cur, rooms, seed=4).run(time.monotonic() + 10, lambda: False) == 0
    index = {act.id: i for i, act in enumerate(c.acts)}
    assert len({cur[index[a]] for a in sport}) == 1
    assert len({rooms[index[a]] for a in sport}) == 3
    rep = score(inst, _solution(c, cur, rooms))
    assert rep.hard_total == 0, rep.to_text()


def test_tabu_search_keeps_the_best_state_when_no_complete_timetable_exists() -> None:
    """A fourth C0 lesson for T0 cannot fit: lessons stay out, the search stops at its deadline and leaves
    its best state, which has no clash."""
    inst = tight_school(n=5, days=3)
    inst.activities[999] = m.Activity(999, 999, 1, 1, ("T0",), "S0", (), ("C0",), True, ("C0",), 30)
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    t0 = time.monotonic()
    left = PartialTabu(c, cur, rooms, seed=5).run(t0 + 2, lambda: False, patience=60)
    assert left >= 1
    assert time.monotonic() - t0 < 10
    rep = score(inst, _solution(c, cur, rooms))
    assert len(rep.unplaced) == left
    assert {v.constraint_type for v in rep.hard} == {"Unplaced"}, rep.to_text()
