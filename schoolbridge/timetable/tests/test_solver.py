"""The CP-SAT solver: a tiny hand-built school, the pre-checks, soft penalties as the scorer counts them,
cancellation, and the model checked against FET's own timetables. No database."""

from __future__ import annotations

import threading
import time

import pytest
from ortools.sat.python import cp_model

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine.score import score
from schoolbridge.timetable.engine.solver import (
    Progress,
    SolveParams,
    SolveResult,
    TimetableSolver,
    _Model,
    check_assignment,
    compile_instance,
    precheck,
    solve_instance,
)

from .fetdata import FET_DIR

REF_DIR = FET_DIR / "fet-reference-runs"
VARTHOLOMIO = FET_DIR / "greece-vartholomio-2008-2009.fet"
needs_fet = pytest.mark.skipif(not REF_DIR.is_dir(), reason="FET example files not present")


def tiny(lessons_li: int = 4, extra: list[m.Constraint] | None = None) -> m.Instance:
    """Two classes, two teachers, 3 days x 3 periods; 李老师 teaches maths to both classes."""
    inst = m.Instance(name="tiny", days=["Mon", "Tue", "Wed"], hours=["1", "2", "3"])
    inst.teachers = {"李老师": m.Teacher("李老师"), "王老师": m.Teacher("王老师")}
    inst.rooms = {"Lab": m.Room("Lab", capacity=40), "Small": m.Room("Small", capacity=10)}
    for cls in ("1A", "1B"):
        inst.students_sets[cls] = m.StudentsSet(cls, "year", 30, subgroups=(cls,))
        inst.years.append(cls)
        inst.subgroups.append(cls)
    acts: list[m.Activity] = []
    aid = 1
    for cls in ("1A", "1B"):
        for _k in range(lessons_li // 2):
            acts.append(
                m.Activity(aid, 100 + ord(cls[1]), 1, 2, ("李老师",), "Maths", (), (cls,), True, (cls,), 30)
            )
            aid += 1
        acts.append(m.Activity(aid, aid, 2, 2, ("王老师",), "Physics", (), (cls,), True, (cls,), 30))
        aid += 1
    inst.activities = {a.id: a for a in acts}
    maths = {
        cls: [a.id for a in acts if a.subject == "Maths" and a.students == (cls,)] for cls in ("1A", "1B")
    }
    inst.time_constraints = [
        m.BasicCompulsoryTime(),
        m.TeacherNotAvailableTimes(teacher="王老师", times=((0, 0), (0, 1), (0, 2))),
        *(m.MinDaysBetweenActivities(activity_ids=tuple(ids), min_days=1) for ids in maths.values()),
        *(extra or []),
    ]
    inst.space_constraints = [
        m.BasicCompulsorySpace(),
        m.SubjectPreferredRooms(subject="Physics", rooms=("Lab", "Small")),
    ]
    return inst


def test_tiny_school_is_timetabled_without_violations() -> None:
    inst = tiny()
    result = solve_instance(inst, SolveParams(time_limit=10, seed=1))
    assert result.complete and result.time_to_first is not None
    rep = score(inst, result.assignment or {})
    assert rep.hard_total == 0, rep.to_text()
    sol = result.assignment or {}
    # physics (double lesson) never on Monday (王老师 is away), always in the lab (the small room is too small)
    physics = [sol[a.id] for a in inst.activities.values() if a.subject == "Physics"]
    assert all(p.day != 0 and p.room == "Lab" for p in physics)
    # maths of one class on different days
    for cls in ("1A", "1B"):
        days = [
            sol[a.id].day for a in inst.activities.values() if a.subject == "Maths" and a.students == (cls,)
        ]
        assert len(set(days)) == len(days)


def test_repair_search_places_every_lesson_when_started_empty() -> None:
    """The path large schools take: lessons may stay unplaced, the neighbourhood search places them."""
    inst = tiny()
    result = solve_instance(inst, SolveParams(time_limit=20, seed=3, first_limit=0))
    assert result.complete, result
    assert score(inst, result.assignment or {}).hard_total == 0


def test_precheck_explains_an_overloaded_teacher_in_plain_words() -> None:
    inst = tiny(lessons_li=10)  # 10 maths lessons for 9 periods
    c = compile_instance(inst)
    assert "Teacher 李老师: 10 lessons required, only 9 periods available" in precheck(c)
    result = TimetableSolver(c, SolveParams(time_limit=5)).solve()
    assert result.status == "precheck" and not result.complete
    assert any("李老师" in p for p in result.problems)


def test_precheck_counts_max_days_and_unavailable_times() -> None:
    inst = tiny(extra=[m.TeacherMaxDaysPerWeek(teacher="王老师", max_days=1)])
    problems = precheck(compile_instance(inst))
    assert problems == [
        "Teacher 王老师: 4 lessons required, only 3 periods available within the limits of hours per day "
        "and days per week"
    ]


def test_soft_penalty_is_minimised_and_agrees_with_the_scorer() -> None:
    # maths of 1A preferably (weight 95 %) at period 1 on Monday: only one lesson can be there
    ids = tuple(a.id for a in tiny().activities.values() if a.subject == "Maths" and a.students == ("1A",))
    soft = [
        m.ActivitiesPreferredStartingTimes(
            weight_percentage=95, filter=m.ActivityFilter(subject="Maths", students="1A"), times=((0, 0),)
        ),
        m.MinDaysBetweenActivities(weight_percentage=50, activity_ids=ids, min_days=3),
    ]
    inst = tiny(extra=soft)
    result = solve_instance(inst, SolveParams(time_limit=10, seed=2))
    assert result.complete
    rep = score(inst, result.assignment or {})
    assert rep.hard_total == 0
    # one maths lesson off the preferred time (0.95); the two lessons at most 2 days apart (3-2 = 1 x 0.5)
    assert result.penalty == pytest.approx(1.45)
    assert rep.soft_total == pytest.approx(1.45)


def test_infeasible_links_are_reported() -> None:
    inst = tiny()
    a, b = (a.id for a in inst.activities.values() if a.subject == "Physics")
    inst.time_constraints.append(m.ActivityPreferredStartingTime(activity_id=a, day=1, hour=0))
    inst.time_constraints.append(m.ActivityPreferredStartingTime(activity_id=b, day=2, hour=1))
    inst.time_constraints.append(m.ActivitiesSameStartingTime(activity_ids=(a, b)))
    result = solve_instance(inst, SolveParams(time_limit=5))
    assert not result.complete
    assert any("must start together" in p for p in result.problems)


def test_gap_slack_is_counted_from_the_timetable_not_read_from_its_variable() -> None:
    """A gap slack is only bounded below, so a search without an objective may leave it anywhere above its
    true size; the repair search and the progress report must see the gaps the timetable really has."""
    limits: list[m.Constraint] = [
        m.TeacherMaxGapsPerWeek(teacher=t, max_gaps=1) for t in ("李老师", "王老师")
    ]
    c = compile_instance(tiny(extra=limits))
    model = _Model(c)
    assert [o[1] for o in model.slack_owner] == [
        c.teacher_names.index("李老师"),
        c.teacher_names.index("王老师"),
    ]
    # 李老师 teaches at the first and the last hour on Tuesday and Wednesday: two gaps, one over the limit;
    # 王老师 teaches one two-hour lesson a day on two days: no gap
    slots = {1: 3, 2: 6, 4: 5, 5: 8}  # activity id -> day * 3 + hour
    for i, a in enumerate(c.acts):
        if a.id in slots:
            model.m.add(model.x[i][slots[a.id]] == 1)
    li, wang = model.slacks
    model.m.add(li == 7)
    model.m.add(wang == 5)
    solver = cp_model.CpSolver()
    assert solver.solve(model.m) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assert (solver.value(li), solver.value(wang)) == (7, 5)
    assert model.true_slacks(solver.value) == [1, 0]
    ts = TimetableSolver(c)
    assert ts._slack(model, solver) == 1
    assert ts._owners(model, solver) == [("teacher", c.teacher_names.index("李老师"))]


def test_progress_callback_sees_the_first_complete_timetable() -> None:
    seen: list[Progress] = []
    result = TimetableSolver(compile_instance(tiny()), SolveParams(time_limit=5), seen.append).solve()
    assert result.complete
    assert seen[0].phase == "first" and seen[0].penalty is None
    assert any(p.hard == 0 and p.penalty is not None for p in seen)


@needs_fet
def test_fet_reference_timetable_satisfies_the_model_with_the_same_penalty() -> None:
    """The solver's model accepts FET's own complete timetables, and its objective equals FET's total."""
    from schoolbridge.timetable.engine.fet import parse_activities_xml, parse_fet

    for stem, total in (("greece-vartholomio-2008-2009", 0.0), ("germany-ss1-German_subact_constr", 13.3)):
        inst = parse_fet(FET_DIR / f"{stem}.fet")
        sol = parse_activities_xml(REF_DIR / f"{stem}.activities.xml", inst)
        ok, penalty = check_assignment(compile_instance(inst), sol)
        assert ok, stem
        assert penalty == pytest.approx(total), stem


@needs_fet
def test_cancel_returns_quickly_with_the_best_so_far() -> None:
    from schoolbridge.timetable.engine.fet import parse_fet

    found = threading.Event()

    def progress(p: Progress) -> None:
        if p.hard is not None:  # a timetable exists (complete or still breaking a gap limit)
            found.set()

    solver = TimetableSolver(
        compile_instance(parse_fet(VARTHOLOMIO)), SolveParams(time_limit=120, seed=1), progress
    )
    box: dict[str, SolveResult] = {}
    thread = threading.Thread(target=lambda: box.update(r=solver.solve()))
    thread.start()
    assert found.wait(60)
    t0 = time.monotonic()
    solver.cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - t0 < 10
    result = box["r"]
    assert result.cancelled
    # either complete already, or the best timetable so far (still breaking a gap limit) is kept
    assert result.assignment is not None or result.partial is not None


class _SeedLog(TimetableSolver):
    """Records every CP-SAT run of the first, all-placed attempt: when it began, its time limit, its seed
    and its search branching."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.first_runs: list[tuple[float, float, int, int]] = []

    def _new_solver(self, limit: float, seed: int, first: bool, sat_search: bool = False):  # type: ignore[no-untyped-def]
        solver = super()._new_solver(limit, seed, first, sat_search)
        if first:
            self.first_runs.append((self._elapsed(), limit, seed, solver.parameters.search_branching))
        return solver


def test_first_attempt_retries_with_the_next_seed_within_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # a school with no free period that CP-SAT needs over a second for: slices of 0.1 s never get there
    from schoolbridge.timetable.engine import solver as engine

    from .test_ejection import tight_school

    monkeypatch.setattr(engine, "FIRST_SLICE", 0.0)
    monkeypatch.setattr(engine, "FIRST_SLICE_MIN", 0.1)
    c = compile_instance(tight_school(n=8, days=4))
    s = _SeedLog(c, SolveParams(time_limit=3.0, seed=7, first_limit=1.0, first_only=True))
    s.solve()
    runs = s.first_runs
    assert len(runs) >= 3, runs
    assert [seed for _t, _limit, seed, _b in runs] == list(range(7, 7 + len(runs)))
    assert all(limit <= 0.2 + 1e-6 for _t, limit, _seed, _b in runs), runs
    # every try is limited to end by the cap, counted from the first try's start (a run may end early on a
    # busy machine, so the limits' sum is no bound)
    first = runs[0][0]
    assert all(t + limit <= first + 1.0 + 0.02 for t, limit, _seed, _b in runs), runs
    # the first try searches CP-SAT's default way, the others leave their decisions to the SAT search
    assert runs[0][3] == cp_model.AUTOMATIC_SEARCH
    assert {b for *_, b in runs[1:]} == {cp_model.FIXED_SEARCH}


def test_first_attempt_that_succeeds_is_not_repeated() -> None:
    from .test_ejection import tight_school

    c = compile_instance(tight_school(n=4, days=2))
    s = _SeedLog(c, SolveParams(time_limit=30.0, seed=3, first_only=True))
    result = s.solve()
    assert result.complete
    assert [seed for _t, _limit, seed, _b in s.first_runs] == [3]
