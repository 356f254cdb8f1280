"""The ejection search that gives large schools their first complete timetable, and the solver's road for
large schools (ejection, then CP-SAT repair on small models, then the soft penalty). No database."""

from __future__ import annotations

import pytest

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine import solver as solver_mod
from schoolbridge.timetable.engine import swap
from schoolbridge.timetable.engine.ejection import Ejection
from schoolbridge.timetable.engine.score import score
from schoolbridge.timetable.engine.solver import (
    SolveParams,
    TimetableSolver,
    check_assignment,
    compile_instance,
)


def tight_school(n: int = 5, days: int = 3) -> m.Instance:
    """n classes and n teachers, ``days`` x n periods; teacher t teaches class k ``days`` lessons, on different
    days. Every class and every teacher is busy in every period: a timetable is a Latin square per day,
    which a first-fit placement rarely completes. Teacher 0 and teacher 1 start one lesson together
    (with classes 0 and 1)."""
    inst = m.Instance(name="tight", days=[f"D{d}" for d in range(days)], hours=[str(h) for h in range(n)])
    inst.teachers = {f"T{t}": m.Teacher(f"T{t}") for t in range(n)}
    for k in range(n):
        name = f"C{k}"
        inst.students_sets[name] = m.StudentsSet(name, "year", 30, subgroups=(name,))
        inst.years.append(name)
        inst.subgroups.append(name)
    acts: list[m.Activity] = []
    groups: list[tuple[int, ...]] = []
    aid = 1
    for t in range(n):
        for k in range(n):
            ids = []
            for _d in range(days):
                acts.append(
                    m.Activity(aid, aid, 1, 1, (f"T{t}",), f"S{t}", (), (f"C{k}",), True, (f"C{k}",), 30)
                )
                ids.append(aid)
                aid += 1
            groups.append(tuple(ids))
    inst.activities = {a.id: a for a in acts}
    # T0 with C0 and T1 with C1: their first lessons start together
    together = (groups[0][0], groups[n + 1][0])
    inst.time_constraints = [
        m.BasicCompulsoryTime(),
        *(m.MinDaysBetweenActivities(activity_ids=g, min_days=1) for g in groups),
        m.ActivitiesSameStartingTime(activity_ids=together),
    ]
    inst.space_constraints = [m.BasicCompulsorySpace()]
    return inst


def sport_school() -> tuple[m.Instance, tuple[int, int, int]]:
    """The tight school with 3 classes over 2 days, where the first lessons T0-C0, T1-C1 and T2-C2 start
    together and each may use either of two gyms or the field. Returns it and those three lessons."""
    inst = tight_school(n=3, days=2)
    inst.rooms = {name: m.Room(name, capacity=40) for name in ("Gym1", "Gym2", "Field")}
    ids = sorted(inst.activities)
    sport = (ids[0], ids[2 * 3 + 2 * 2 - 2], ids[2 * 3 * 2 + 2 * 2])
    inst.time_constraints.append(m.ActivitiesSameStartingTime(activity_ids=sport))
    inst.space_constraints += [
        m.ActivityPreferredRooms(activity_id=a, rooms=("Gym1", "Gym2", "Field")) for a in sport
    ]
    return inst, sport


def test_ejection_completes_a_school_with_no_free_period() -> None:
    inst = tight_school()
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    import time

    left = Ejection(c, cur, rooms, seed=1).run(time.monotonic() + 20, lambda: False)
    assert left == 0
    sol = {
        a.id: m.Placement(s // c.n_hours, s % c.n_hours, None)
        for a, s in zip(c.acts, cur, strict=True)
        if s is not None
    }
    rep = score(inst, sol)
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()
    ok, _penalty = check_assignment(c, sol)
    assert ok
    a, b = (i for i, act in enumerate(c.acts) if act.id in inst.time_constraints[-1].activity_ids)  # type: ignore[attr-defined]
    assert cur[a] == cur[b]


def test_lessons_starting_together_get_different_rooms() -> None:
    """Three lessons start together and each may use either of two gyms or the field: each gets its own
    (chosen one by one, a room taken by the first is not offered to the second)."""
    inst, sport = sport_school()
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    rooms: dict[int, int] = {}
    import time

    assert Ejection(c, cur, rooms, seed=4).run(time.monotonic() + 10, lambda: False) == 0
    index = {act.id: i for i, act in enumerate(c.acts)}
    got = [rooms[index[a]] for a in sport]
    assert len({cur[index[a]] for a in sport}) == 1
    assert len(set(got)) == 3, got
    sol = {
        act.id: m.Placement(s // c.n_hours, s % c.n_hours, c.room_names[rooms[i]] if i in rooms else None)
        for i, (act, s) in enumerate(zip(c.acts, cur, strict=True))
        if s is not None
    }
    rep = score(inst, sol)
    assert rep.hard_total == 0, rep.to_text()


def test_ejection_leaves_what_cannot_fit_and_keeps_the_rest_valid() -> None:
    """One lesson too many for teacher T0 (a fourth C0 lesson): at most that much stays out, and what is placed
    has no clash."""
    inst = tight_school()
    extra = m.Activity(999, 999, 1, 1, ("T0",), "S0", (), ("C0",), True, ("C0",), 30)
    inst.activities[999] = extra
    c = compile_instance(inst)
    cur: list[int | None] = [None] * len(c.acts)
    import time

    left = Ejection(c, cur, {}, seed=2).run(time.monotonic() + 3, lambda: False)
    assert left >= 1
    seen: set[tuple[str, int]] = set()
    for act, s in zip(c.acts, cur, strict=True):
        if s is None:
            continue
        for key in [("t" + str(t), s) for t in act.teachers] + [("g" + str(g), s) for g in act.subgroups]:
            assert key not in seen
            seen.add(key)


@pytest.fixture
def compiled_swap() -> None:
    """The large-school road starts with the numba-compiled search: compiled before the timed solve."""
    swap.warm()


@pytest.mark.usefixtures("compiled_swap")
def test_large_school_road_gives_a_complete_timetable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_mod, "LARGE", 10)  # treat the small school as a large one
    inst = tight_school()
    c = compile_instance(inst)
    reports: list[int | None] = []
    ts = TimetableSolver(c, SolveParams(time_limit=30, seed=3), on_progress=lambda p: reports.append(p.hard))
    result = ts.solve()
    assert result.complete, result.status
    assert result.time_to_first is not None and result.time_to_first <= result.elapsed
    rep = score(inst, result.assignment or {})
    assert rep.hard_total == 0 and not rep.unplaced, rep.to_text()
    assert reports and reports[-1] == 0


@pytest.mark.usefixtures("compiled_swap")
def test_large_school_road_reports_partial_when_no_complete_timetable_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """T0's first lessons with C0 and with C1 must start together: impossible, and no pre-check counts it.
    The result says incomplete and carries the best partial timetable."""
    monkeypatch.setattr(solver_mod, "LARGE", 10)
    inst = tight_school()
    ids = sorted(inst.activities)
    inst.time_constraints.append(m.ActivitiesSameStartingTime(activity_ids=(ids[0], ids[3])))
    c = compile_instance(inst)
    result = TimetableSolver(c, SolveParams(time_limit=4, seed=1)).solve()
    assert not result.complete and result.status == "incomplete"
    assert result.partial is not None and len(result.partial) >= len(c.acts) - 4
    rep = score(inst, result.partial)
    # what is placed breaks nothing; the lessons tied to the impossible pair are listed as unplaced
    assert rep.unplaced and all(v.constraint_type == "Unplaced" for v in rep.hard), rep.to_text()
