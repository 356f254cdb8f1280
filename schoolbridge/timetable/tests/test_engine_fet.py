"""The FET reader: the shared example schools parse, references resolve, bad input is named."""

from __future__ import annotations

import pytest

from schoolbridge.timetable.engine.fet import FetError, parse_activities_xml, parse_fet
from schoolbridge.timetable.engine.model import (
    ActivityPreferredStartingTime,
    MinDaysBetweenActivities,
    Placement,
    TeacherNotAvailableTimes,
)

from .fetdata import FET_DIR

REF_DIR = FET_DIR / "fet-reference-runs"
SIX = [
    ("greece-vartholomio-2008-2009", 226, 20, 5, 7),
    ("brazil-1-Brazil", 400, 27, 5, 5),
    ("italy-2007-highschool-Ancona", 479, 37, 6, 6),
    ("germany-ss1-German_subact_constr", 589, 33, 5, 6),
    ("germany-ss2-GYR", 1477, 82, 5, 12),
    ("namibia-CONCORDIA", 1502, 40, 7, 8),
]

pytestmark = pytest.mark.skipif(not FET_DIR.is_dir(), reason="shared FET examples not present")


@pytest.mark.parametrize(("stem", "n_act", "n_teachers", "n_days", "n_hours"), SIX)
def test_shared_examples_parse(stem: str, n_act: int, n_teachers: int, n_days: int, n_hours: int) -> None:
    inst = parse_fet(FET_DIR / f"{stem}.fet")
    assert sum(1 for _ in inst.active_activities()) == n_act
    assert len(inst.teachers) == n_teachers
    assert (inst.n_days, inst.n_hours) == (n_days, n_hours)
    # every active activity with students resolves to atomic subgroups that exist
    known = set(inst.subgroups)
    for a in inst.active_activities():
        assert set(a.subgroups) <= known
        if a.students:
            assert a.subgroups
    assert inst.unsupported == []
    ref = REF_DIR / f"{stem}.activities.xml"
    if ref.exists():
        sol = parse_activities_xml(ref, inst)
        assert set(sol) == {a.id for a in inst.active_activities()}


def test_german_details() -> None:
    inst = parse_fet(FET_DIR / "germany-ss1-German_subact_constr.fet")
    # groups of a year resolve to their subgroups; the year to all of them
    year5 = inst.students_sets["5"]
    assert year5.kind == "year"
    assert set(inst.subgroups_of("5a")) == {"5aMF", "5aDF", "5aEF", "5aMP", "5aDP"}
    assert set(inst.subgroups_of("5a")) <= set(year5.subgroups)
    locked = [c for c in inst.time_constraints if isinstance(c, ActivityPreferredStartingTime)]
    assert any(c.activity_id == 478 and c.permanently_locked for c in locked)
    c478 = next(c for c in locked if c.activity_id == 478)
    assert (c478.day, c478.hour) == (3, 4)  # Thursday, hour named "5"
    md = [c for c in inst.time_constraints if isinstance(c, MinDaysBetweenActivities)]
    assert len(md) == 161 and all(len(c.activity_ids) >= 2 for c in md)
    assert inst.rooms["001"].capacity == 1000


def test_years_without_groups_are_their_own_subgroup() -> None:
    inst = parse_fet(FET_DIR / "brazil-1-Brazil.fet")
    assert len(inst.subgroups) == 16
    a = inst.activities[1]
    assert a.subgroups == ("101",)
    na = [c for c in inst.time_constraints if isinstance(c, TeacherNotAvailableTimes)]
    assert na[0].teacher == "Gilmar" and (0, 0) in na[0].times


MINI = b"""<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Mode>Official</Mode>
<Institution_Name>Mini</Institution_Name>
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours><Hour><Name>1</Name></Hour><Hour><Name>2</Name></Hour>
<Hour><Name>3</Name></Hour></Hours_List>
<Subjects_List><Subject><Name>Math</Name></Subject></Subjects_List>
<Activity_Tags_List></Activity_Tags_List>
<Teachers_List><Teacher><Name>Ann</Name></Teacher></Teachers_List>
<Students_List><Year><Name>Y1</Name><Number_of_Students>20</Number_of_Students></Year></Students_List>
<Activities_List>
<Activity><Teacher>%(teacher)s</Teacher><Subject>Math</Subject><Students>Y1</Students><Duration>1</Duration>
<Total_Duration>1</Total_Duration><Id>1</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
</Activities_List>
<Buildings_List></Buildings_List>
<Rooms_List><Room><Name>R1</Name><Building></Building><Capacity>30</Capacity><Virtual>false</Virtual></Room></Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
%(time)s
</Time_Constraints_List>
<Space_Constraints_List>
%(space)s
</Space_Constraints_List>
</fet>
"""


def mini(teacher: str = "Ann", time: str = "", space: str = "") -> bytes:
    return (
        MINI.replace(b"%(teacher)s", teacher.encode())
        .replace(b"%(time)s", time.encode())
        .replace(b"%(space)s", space.encode())
    )


def test_mini_parses_with_bytes() -> None:
    inst = parse_fet(mini())
    assert inst.name == "Mini"
    assert inst.activities[1].n_students == 20
    assert inst.activities[1].subgroups == ("Y1",)


def test_malformed_xml_gives_line() -> None:
    with pytest.raises(FetError, match="malformed XML") as exc:
        parse_fet(b"<fet>\n<Days_List>\n</fet>")
    assert exc.value.line is not None and "line" in str(exc.value)


def test_unknown_teacher_named_with_line() -> None:
    with pytest.raises(FetError, match="unknown teacher 'Bob'") as exc:
        parse_fet(mini(teacher="Bob"))
    assert exc.value.element == "Activity" and exc.value.line and exc.value.line > 10


def test_unknown_activity_in_constraint() -> None:
    bad = (
        "<ConstraintMinDaysBetweenActivities><Weight_Percentage>95</Weight_Percentage>"
        "<Number_of_Activities>2</Number_of_Activities><Activity_Id>1</Activity_Id><Activity_Id>99</Activity_Id>"
        "<MinDays>1</MinDays></ConstraintMinDaysBetweenActivities>"
    )
    with pytest.raises(FetError, match="unknown activity id 99") as exc:
        parse_fet(mini(time=bad))
    assert exc.value.element == "ConstraintMinDaysBetweenActivities"


def test_unknown_room_and_students() -> None:
    with pytest.raises(FetError, match="unknown room 'R9'"):
        parse_fet(
            mini(
                space="<ConstraintActivityPreferredRoom><Weight_Percentage>100</Weight_Percentage>"
                "<Activity_Id>1</Activity_Id><Room>R9</Room></ConstraintActivityPreferredRoom>"
            )
        )
    with pytest.raises(FetError, match="unknown students set 'Y9'"):
        parse_fet(
            mini(
                time="<ConstraintStudentsSetNotAvailableTimes><Weight_Percentage>100</Weight_Percentage>"
                "<Students>Y9</Students></ConstraintStudentsSetNotAvailableTimes>"
            )
        )


def test_entities_not_resolved() -> None:
    evil = b"""<?xml version="1.0"?><!DOCTYPE fet [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<fet><Institution_Name>&x;</Institution_Name><Days_List><Day><Name>D</Name></Day></Days_List>
<Hours_List><Hour><Name>H</Name></Hour></Hours_List></fet>"""
    inst = parse_fet(evil)
    assert "root:" not in inst.name


def test_activities_xml_errors() -> None:
    inst = parse_fet(mini())
    ok = b"<Activities_Timetable><Activity><Id>1</Id><Day>Tue</Day><Hour>2</Hour><Room>R1</Room></Activity></Activities_Timetable>"
    assert parse_activities_xml(ok, inst) == {1: Placement(1, 1, "R1")}
    with pytest.raises(FetError, match="unknown day 'Sun'"):
        parse_activities_xml(ok.replace(b"Tue", b"Sun"), inst)
    with pytest.raises(FetError, match="unknown activity id 7"):
        parse_activities_xml(ok.replace(b"<Id>1", b"<Id>7"), inst)


def test_import_report_lists_unsupported_types_with_counts() -> None:
    span = (
        "<ConstraintTeacherMaxRealDaysPerWeek><Weight_Percentage>100</Weight_Percentage><Teacher_Name>Ann</Teacher_Name>"
        "<Max_Days_Per_Week>3</Max_Days_Per_Week><Active>true</Active></ConstraintTeacherMaxRealDaysPerWeek>"
    )
    resting = (
        "<ConstraintStudentsMaxAfternoonsPerWeek><Weight_Percentage>90</Weight_Percentage><Minimum_Resting_Hours>2"
        "</Minimum_Resting_Hours><Circular>true</Circular><Active>false</Active></ConstraintStudentsMaxAfternoonsPerWeek>"
    )
    building = (
        "<ConstraintActivitiesOccupyMinDifferentRooms><Weight_Percentage>100</Weight_Percentage>"
        "<Min_Number_of_Different_Rooms>1</Min_Number_of_Different_Rooms></ConstraintActivitiesOccupyMinDifferentRooms>"
    )
    inst = parse_fet(mini(time=span + span + resting, space=building))
    assert inst.unsupported_counts() == {
        "ConstraintStudentsMaxAfternoonsPerWeek": 1,
        "ConstraintTeacherMaxRealDaysPerWeek": 2,
        "ConstraintActivitiesOccupyMinDifferentRooms": 1,
    }
    kinds = {(u.tag, u.kind, u.weight_percentage, u.active) for u in inst.unsupported}
    assert ("ConstraintStudentsMaxAfternoonsPerWeek", "time", 90.0, False) in kinds
    assert ("ConstraintActivitiesOccupyMinDifferentRooms", "space", 100.0, True) in kinds
    assert all(u.line > 0 for u in inst.unsupported)
    report = inst.import_report()
    assert "unsupported constraints (not enforced): 4" in report
    assert "  ConstraintTeacherMaxRealDaysPerWeek: 2" in report
    # the supported ones were imported, the unsupported ones are not among them
    assert [type(c).__name__ for c in inst.constraints] == ["BasicCompulsoryTime"]
    # and the scorer says what it did not score
    from schoolbridge.timetable.engine.score import score

    rep = score(inst, {1: Placement(0, 0, None)})
    assert rep.unsupported == inst.unsupported_counts()
    assert "Not scored (unsupported constraint types):" in rep.to_text()


def test_names_keep_their_spaces() -> None:
    """FET names are taken as written (a real school file has a subject named three spaces)."""
    doc = (
        mini()
        .replace(b"<Name>Math</Name>", b"<Name>   </Name>")
        .replace(b"<Subject>Math</Subject>", b"<Subject>   </Subject>")
    )
    inst = parse_fet(doc)
    assert inst.subjects == ["   "] and inst.activities[1].subject == "   "
    with pytest.raises(FetError, match="unknown subject 'Math'"):
        parse_fet(mini().replace(b"<Name>Math</Name>", b"<Name>   </Name>"))
