"""The scorer: calibrated against FET's own reports, and checked on small hand-made timetables."""

from __future__ import annotations

import re

import pytest

from schoolbridge.timetable.engine import model as m
from schoolbridge.timetable.engine.fet import parse_activities_xml, parse_fet
from schoolbridge.timetable.engine.model import Activity, Instance, Placement, StudentsSet, Teacher
from schoolbridge.timetable.engine.score import CHECKERS, score

from .fetdata import FET_DIR

REF_DIR = FET_DIR / "fet-reference-runs"
REFERENCE_RUNS = [
    "greece-vartholomio-2008-2009",
    "brazil-1-Brazil",
    "italy-2007-highschool-Ancona",
    "germany-ss1-German_subact_constr",
    "germany-ss2-GYR",
]

# FET's wording in *_soft_conflicts.txt → our constraint type name
FET_WORDING = [
    (re.compile(r"^Time constraint min days between activities broken"), "MinDaysBetweenActivities"),
    (
        re.compile(r"^Time constraint activities preferred starting times broken"),
        "ActivitiesPreferredStartingTimes",
    ),
    (re.compile(r"^Time constraint teachers max \d+ hours daily broken"), "TeachersMaxHoursDaily"),
]


def _fet_report(stem: str) -> tuple[float, int, dict[str, int], set[tuple[int, int]]]:
    text = (REF_DIR / f"{stem}.soft_conflicts.txt").read_text(encoding="utf-8-sig")
    total = float(re.search(r"Total soft conflicts: ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    broken = int(re.search(r"Number of broken soft constraints: (\d+)", text).group(1))  # type: ignore[union-attr]
    by_type: dict[str, int] = {}
    pairs: set[tuple[int, int]] = set()
    for line in text.splitlines():
        if not line.startswith(("Time constraint", "Space constraint")):
            continue
        kind = next((name for rx, name in FET_WORDING if rx.search(line)), line[:60])
        by_type[kind] = by_type.get(kind, 0) + 1
        if kind == "MinDaysBetweenActivities":
            a, b = (int(x) for x in re.findall(r"activity with id=(\d+)", line))
            pairs.add((min(a, b), max(a, b)))
    return total, broken, by_type, pairs


pytestmark = pytest.mark.skipif(not REF_DIR.is_dir(), reason="FET reference runs not present")


@pytest.mark.parametrize("stem", REFERENCE_RUNS)
def test_reproduces_fet_soft_conflicts(stem: str) -> None:
    """Scoring FET's own timetable gives FET's total, the same broken constraints, and no hard violation."""
    inst = parse_fet(FET_DIR / f"{stem}.fet")
    sol = parse_activities_xml(REF_DIR / f"{stem}.activities.xml", inst)
    rep = score(inst, sol)
    total, broken, by_type, pairs = _fet_report(stem)
    assert rep.hard_total == 0, rep.to_text()
    assert rep.unplaced == []
    assert abs(rep.soft_total - total) < 0.01
    assert rep.n_broken_soft == broken
    assert {t: int(r["broken"]) for t, r in rep.soft_by_type().items()} == by_type
    ours = {
        (min(v.activities), max(v.activities))
        for v in rep.soft
        if v.constraint_type == "MinDaysBetweenActivities"
    }
    assert ours == pairs


def test_every_model_type_has_a_checker() -> None:
    assert set(m.CONSTRAINT_TYPES.values()) <= set(CHECKERS)


# --- small hand-made instances -------------------------------------------------------------------------


def tiny(*constraints: m.Constraint, acts: int = 3, duration: int = 1) -> Instance:
    """2 days x 4 hours, teacher T, one class C of 25 with two subgroups, activities 1..acts of T and C."""
    inst = Instance(name="tiny", days=["Mon", "Tue"], hours=["1", "2", "3", "4"], subjects=["Math"])
    inst.teachers = {"T": Teacher("T"), "U": Teacher("U")}
    inst.students_sets = {
        "C": StudentsSet("C", "year", 25, ("C1", "C2"), ("C1", "C2")),
        "C1": StudentsSet("C1", "subgroup", 12, ("C1",)),
        "C2": StudentsSet("C2", "subgroup", 13, ("C2",)),
    }
    inst.years = ["C"]
    inst.subgroups = ["C1", "C2"]
    inst.rooms = {"R": m.Room("R", capacity=20), "S": m.Room("S", capacity=40)}
    for i in range(1, acts + 1):
        inst.activities[i] = Activity(
            id=i,
            group_id=1,
            duration=duration,
            total_duration=duration * acts,
            teachers=("T",),
            subject="Math",
            tags=(),
            students=("C",),
            subgroups=("C1", "C2"),
            n_students=25,
        )
    inst.time_constraints = [m.BasicCompulsoryTime()] + [c for c in constraints if c.KIND == "time"]
    inst.space_constraints = [m.BasicCompulsorySpace()] + [c for c in constraints if c.KIND == "space"]
    return inst


def P(day: int, hour: int, room: str | None = None) -> Placement:
    return Placement(day, hour, room)


def test_clashes_and_unplaced_are_hard() -> None:
    inst = tiny()
    rep = score(inst, {1: P(0, 0), 2: P(0, 0)})
    assert rep.unplaced == [3]
    # teacher T twice + subgroups C1 and C2 twice at Mon 1
    assert rep.hard_by_type() == {"BasicCompulsoryTime": 3, "Unplaced": 1}
    assert any("teacher T has 2 activities at Mon 1" in v.message for v in rep.hard)
    assert score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(1, 0)}).is_feasible


def test_room_clash_and_capacity() -> None:
    inst = tiny(acts=2)
    inst.activities[2] = Activity(2, 2, 1, 1, ("U",), "Math", (), (), n_students=0)
    rep = score(inst, {1: P(0, 0, "R"), 2: P(0, 0, "R")})
    assert rep.hard_by_type() == {"BasicCompulsorySpace": 2}  # the clash, and 25 students in a room for 20
    assert score(inst, {1: P(0, 0, "S"), 2: P(0, 0, "R")}).is_feasible


def test_soft_min_days_weighs_days_too_close() -> None:
    c = m.MinDaysBetweenActivities(weight_percentage=90, activity_ids=(1, 2, 3), min_days=2)
    inst = tiny(c)
    rep = score(inst, {1: P(0, 0), 2: P(0, 2), 3: P(1, 0)})
    # pairs (1,2): 2 days too close, (1,3) and (2,3): 1 each → 4 units x 0.9
    assert rep.hard_total == 0
    assert rep.soft_total == pytest.approx(3.6)
    assert rep.n_broken_soft == 3


def test_consecutive_if_same_day_is_hard_even_when_soft() -> None:
    c = m.MinDaysBetweenActivities(
        weight_percentage=0, activity_ids=(1, 2), min_days=1, consecutive_if_same_day=True
    )
    inst = tiny(c, acts=2)
    assert score(inst, {1: P(0, 0), 2: P(0, 1)}).is_feasible
    rep = score(inst, {1: P(0, 0), 2: P(0, 2)})
    assert rep.hard_total == 1 and rep.soft_total == 0 and rep.n_broken_soft == 1


def test_not_available_and_breaks_count_hours() -> None:
    na = m.TeacherNotAvailableTimes(teacher="T", times=((0, 1), (0, 2)))
    br = m.BreakTimes(times=((1, 3),))
    inst = tiny(na, br, acts=2, duration=2)
    rep = score(inst, {1: P(0, 0), 2: P(1, 2)})
    assert rep.hard_by_type() == {"BreakTimes": 1, "TeacherNotAvailableTimes": 1}


def test_gaps_skip_breaks_and_unavailable_hours() -> None:
    gaps = m.TeachersMaxGapsPerWeek(max_gaps=0)
    inst = tiny(gaps, acts=2)
    assert score(inst, {1: P(0, 0), 2: P(0, 2)}).hard_by_type() == {"TeachersMaxGapsPerWeek": 1}
    inst = tiny(gaps, m.TeacherNotAvailableTimes(teacher="T", times=((0, 1),)), acts=2)
    assert score(inst, {1: P(0, 0), 2: P(0, 2)}).is_feasible
    # a soft not-available time does not excuse the gap
    soft_na = m.TeacherNotAvailableTimes(weight_percentage=50, teacher="T", times=((0, 1),))
    assert not score(tiny(gaps, soft_na, acts=2), {1: P(0, 0), 2: P(0, 2)}).is_feasible
    students = m.StudentsSetMaxGapsPerWeek(students="C", max_gaps=1)
    rep = score(tiny(students, acts=2), {1: P(0, 0), 2: P(0, 3)})
    assert rep.hard_by_type() == {"StudentsSetMaxGapsPerWeek": 2}  # C1 and C2 each one gap over


def test_early_beginnings() -> None:
    early = m.StudentsEarlyMaxBeginningsAtSecondHour(max_beginnings=1)
    inst = tiny(early, acts=2)
    assert score(inst, {1: P(0, 1), 2: P(1, 0)}).is_feasible
    assert not score(inst, {1: P(0, 1), 2: P(1, 1)}).is_feasible
    assert not score(inst, {1: P(0, 2), 2: P(1, 0)}).is_feasible


def test_daily_hours_and_continuity() -> None:
    mx = m.TeacherMaxHoursDaily(weight_percentage=95, teacher="T", max_hours=2)
    cont = m.StudentsMaxHoursContinuously(weight_percentage=50, max_hours=2)
    mn = m.StudentsSetMinHoursDaily(students="C", min_hours=2, allow_empty_days=True)
    inst = tiny(mx, cont, mn, acts=4)
    rep = score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(0, 2), 4: P(1, 0)})
    assert rep.soft_by_type() == {
        "StudentsMaxHoursContinuously": {"broken": 2, "count": 2, "penalty": 1.0},
        "TeacherMaxHoursDaily": {"broken": 1, "count": 1, "penalty": 0.95},
    }
    assert rep.hard_by_type() == {"StudentsSetMinHoursDaily": 2}  # Tue has 1 hour for C1 and C2


def test_preferred_times_rooms_and_same_start() -> None:
    inst = tiny(
        m.ActivityPreferredStartingTime(activity_id=1, day=0, hour=0, permanently_locked=True),
        m.ActivitiesPreferredTimeSlots(
            weight_percentage=80, filter=m.ActivityFilter(subject="Math"), times=((0, 0), (0, 1))
        ),
        m.ActivitiesSameStartingDay(activity_ids=(2, 3)),
        m.SubjectPreferredRoom(subject="Math", rooms=("S",)),
        acts=3,
    )
    rep = score(inst, {1: P(0, 0, "S"), 2: P(0, 1, "S"), 3: P(1, 0, "R")})
    assert rep.hard_by_type() == {
        "ActivitiesSameStartingDay": 1,
        "BasicCompulsorySpace": 1,
        "SubjectPreferredRoom": 1,
    }
    assert rep.soft_total == pytest.approx(0.8)
    assert [v.activities for v in rep.soft] == [(3,)]
    text = rep.to_text()
    assert "Total soft conflicts: 0.8" in text and "activity 3 (T - Math - C) is in room R, not in S" in text


def test_subactivity_component() -> None:
    c = m.SubactivitiesPreferredStartingTimes(component_number=2, filter=m.ActivityFilter(), times=((1, 0),))
    inst = tiny(c, acts=3)
    assert score(inst, {1: P(0, 0), 2: P(1, 0), 3: P(0, 2)}).is_feasible
    rep = score(inst, {1: P(1, 0), 2: P(0, 0), 3: P(0, 2)})
    assert [v.activities for v in rep.hard] == [(2,)]


def test_inactive_constraints_and_activities_are_ignored() -> None:
    inst = tiny(m.ActivitiesSameStartingTime(activity_ids=(1, 2), active=False), acts=2)
    assert score(inst, {1: P(0, 0), 2: P(1, 0)}).is_feasible
    inst = tiny(m.ActivitiesSameStartingTime(activity_ids=(1, 2)), acts=2)
    inst.activities[2] = Activity(
        2, 1, 1, 2, ("T",), "Math", (), ("C",), active=False, subgroups=("C1", "C2")
    )
    rep = score(inst, {1: P(0, 0)})
    assert rep.is_feasible and rep.n_activities == 1


def test_preferred_time_slots_count_each_hour_outside() -> None:
    """FET: "preferred time slots broken for activity … on 2 hours, increases conflicts total by 1.98"."""
    slots = m.ActivityPreferredTimeSlots(weight_percentage=99, activity_id=1, times=((0, 0), (0, 1)))
    inst = tiny(slots, acts=1, duration=2)
    assert score(inst, {1: P(0, 0)}).soft_total == 0
    assert score(inst, {1: P(0, 1)}).soft_total == pytest.approx(0.99)
    assert score(inst, {1: P(1, 1)}).soft_total == pytest.approx(1.98)


def test_home_rooms_yield_to_preferred_rooms() -> None:
    """Home rooms apply to activities of exactly that teacher/set, unless a preferred-room constraint covers them."""
    home = m.TeacherHomeRoom(weight_percentage=50, teacher="T", rooms=("R",))
    inst = tiny(home, acts=2)
    inst.activities[2] = Activity(2, 2, 1, 1, ("T", "U"), "Math", (), ("C",), subgroups=("C1", "C2"))
    rep = score(inst, {1: P(0, 0, "S"), 2: P(0, 1, "S")})
    assert [v.activities for v in rep.soft] == [(1,)]  # 2 has two teachers: not a home-room activity
    covered = tiny(home, m.ActivityPreferredRooms(weight_percentage=10, activity_id=1, rooms=("S",)), acts=1)
    assert score(covered, {1: P(0, 0, "S")}).n_broken_soft == 0
    by_subject = tiny(
        home, m.SubjectPreferredRoom(weight_percentage=99, subject="Math", rooms=("S",)), acts=1
    )
    assert score(by_subject, {1: P(0, 0, "S")}).n_broken_soft == 0


def _tagged(inst: Instance, *ids: int) -> None:
    for i in ids:
        a = inst.activities[i]
        inst.activities[i] = Activity(
            a.id,
            a.group_id,
            a.duration,
            a.total_duration,
            a.teachers,
            a.subject,
            ("lab",),
            a.students,
            subgroups=a.subgroups,
            n_students=a.n_students,
        )


def test_activity_tag_limits() -> None:
    daily = m.TeachersActivityTagMaxHoursDaily(weight_percentage=50, activity_tag="lab", max_hours=1)
    cont = m.StudentsSetActivityTagMaxHoursContinuously(students="C", activity_tag="lab", max_hours=1)
    inst = tiny(daily, cont, acts=3)
    _tagged(inst, 1, 2)
    # 1 and 2 tagged and back to back on Monday; 3 (untagged) follows
    rep = score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(0, 2)})
    assert rep.soft_total == pytest.approx(0.5)
    assert rep.hard_by_type() == {"StudentsSetActivityTagMaxHoursContinuously": 2}  # C1 and C2
    assert score(inst, {1: P(0, 0), 3: P(0, 1), 2: P(1, 0)}).n_broken_soft == 0
    assert score(inst, {1: P(0, 0), 3: P(0, 1), 2: P(1, 0)}).is_feasible


def test_span_resting_and_ordering() -> None:
    span = m.TeacherMaxSpanPerDay(teacher="T", max_span=3)
    rest = m.StudentsMinRestingHours(weight_percentage=40, min_resting=2, circular=True)
    order = m.TwoActivitiesOrderedIfSameDay(first=1, second=2)
    inst = tiny(span, rest, order, acts=3)
    # Mon: 2 at hour 1 then 1 at hour 4 → span 4, 1 not before 2; Tue: 3 at hour 1
    rep = score(inst, {2: P(0, 0), 1: P(0, 3), 3: P(1, 0)})
    assert rep.hard_by_type() == {"TeacherMaxSpanPerDay": 1, "TwoActivitiesOrderedIfSameDay": 1}
    # rest Mon→Tue = 0 free after hour 4 + 0 before hour 1 = 0; circular Tue→Mon = 3 + 0: one break per subgroup
    assert rep.soft_total == pytest.approx(0.8)
    assert score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(1, 3)}).is_feasible


def test_selected_slots() -> None:
    occ = m.ActivitiesOccupyMaxTimeSlotsFromSelection(
        activity_ids=(1, 2, 3), times=((0, 0), (0, 1), (1, 0)), max_occupied=1
    )
    sim = m.ActivitiesMaxSimultaneousInSelectedTimeSlots(
        activity_ids=(1, 3), times=((1, 2),), max_simultaneous=0
    )
    inst = tiny(occ, sim, acts=3)
    rep = score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(1, 2)})
    assert rep.hard_by_type() == {
        "ActivitiesMaxSimultaneousInSelectedTimeSlots": 1,
        "ActivitiesOccupyMaxTimeSlotsFromSelection": 1,
    }


def test_building_changes() -> None:
    per_day = m.TeacherMaxBuildingChangesPerDay(teacher="T", max_changes=1)
    gaps = m.StudentsSetMinGapsBetweenBuildingChanges(weight_percentage=30, students="C", min_gaps=1)
    inst = tiny(per_day, gaps, acts=3)
    inst.buildings = {"N": m.Building("N"), "S": m.Building("S")}
    inst.rooms = {"R": m.Room("R", building="N"), "S": m.Room("S", building="S"), "X": m.Room("X")}
    rep = score(inst, {1: P(0, 0, "R"), 2: P(0, 1, "S"), 3: P(0, 3, "R")})
    assert rep.hard_by_type() == {"TeacherMaxBuildingChangesPerDay": 1}  # N→S→N: 2 changes
    assert rep.soft_total == pytest.approx(0.6)  # N→S with no free hour, for C1 and C2
    # a room without a building does not count as a change
    assert score(inst, {1: P(0, 0, "R"), 2: P(0, 1, "X"), 3: P(0, 3, "R")}).is_feasible


def test_min_simultaneous_and_ordered_tag_gaps() -> None:
    sim = m.ActivitiesMinSimultaneousInSelectedTimeSlots(
        activity_ids=(1, 2, 3), times=((0, 0), (1, 3)), min_simultaneous=1, allow_empty_slots=False
    )
    order = m.StudentsMinGapsBetweenOrderedPairOfActivityTags(
        weight_percentage=50, first_tag="lab", second_tag="lab", min_gaps=1
    )
    inst = tiny(sim, order, acts=3)
    _tagged(inst, 1, 2)
    rep = score(inst, {1: P(0, 0), 2: P(0, 1), 3: P(1, 0)})
    assert rep.hard_by_type() == {"ActivitiesMinSimultaneousInSelectedTimeSlots": 1}  # Tue 4 empty
    assert rep.soft_total == pytest.approx(1.0)  # 2 right after 1, for C1 and C2
    assert score(inst, {1: P(0, 0), 2: P(0, 2), 3: P(1, 3)}).to_dict()["hard_total"] == 0
    empty_ok = tiny(
        m.ActivitiesMinSimultaneousInSelectedTimeSlots(
            activity_ids=(1,), times=((1, 3),), min_simultaneous=2, allow_empty_slots=True
        ),
        acts=1,
    )
    assert score(empty_ok, {1: P(0, 0)}).is_feasible
    assert not score(empty_ok, {1: P(1, 3)}).is_feasible
