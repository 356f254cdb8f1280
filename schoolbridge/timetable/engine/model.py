"""The timetabling model: an instance (what must be scheduled, under which constraints) and a solution.

Pure Python, no Django. Times are indices: ``day`` in ``range(len(instance.days))``, ``hour`` in
``range(len(instance.hours))``; an activity of duration d placed at (day, hour) occupies hours
hour .. hour+d-1 of that day. Rooms are referred to by name.

Constraints follow FET's semantics (https://www.lalescu.ro/liviu/fet/): each has a ``weight_percentage``
(100 means hard, below 100 soft) and ``active``. Every supported FET constraint type has its own dataclass
whose ``FET_TAG`` is the XML element name; a constraint of a type we do not support is kept as an
:class:`UnsupportedConstraint` and reported, never silently dropped.

Selectors: in "all"-style constraints (``TeachersMaxGapsPerWeek``) the ``teacher``/``students`` field is
``None``; in per-teacher/per-set constraints it names the teacher or students set. Filters in
``Activities*`` constraints are ``None`` when empty (FET's empty element = "any").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

Time = tuple[int, int]
"""A (day index, hour index) pair."""


class Placement(NamedTuple):
    """Where and when one activity is placed: start day, start hour, room name (None: no room)."""

    day: int
    hour: int
    room: str | None = None


Solution = dict[int, Placement]
"""A timetable: activity id → placement. Activities missing from the mapping are unplaced."""


# --------------------------------------------------------------------------------------------------
# Resources


@dataclass(frozen=True)
class Teacher:
    name: str
    target_hours: int | None = None
    qualified_subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Building:
    name: str


@dataclass(frozen=True)
class Room:
    name: str
    capacity: int = 30000
    building: str | None = None
    virtual: bool = False
    #: for a virtual room: its sets of real rooms (one room of each set is used)
    real_room_sets: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class StudentsSet:
    """A year, group or subgroup. ``subgroups`` are the atomic sets it is made of (itself when it has none).

    FET lets a group belong to several years and a subgroup to several groups (categories/divisions);
    sets are merged by name, so ``subgroups`` is the union over every place the name appears.
    """

    name: str
    kind: str  # "year" | "group" | "subgroup"
    number_of_students: int = 0
    subgroups: tuple[str, ...] = ()
    #: names of the sets directly below (groups of a year, subgroups of a group)
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class Activity:
    """One lesson to place (FET "activity" or sub-activity of a split, sharing ``group_id``)."""

    id: int
    group_id: int
    duration: int
    total_duration: int
    teachers: tuple[str, ...]
    subject: str
    tags: tuple[str, ...]
    students: tuple[str, ...]
    active: bool = True
    #: the atomic subgroups this activity involves (resolved from ``students``)
    subgroups: tuple[str, ...] = ()
    #: number of students (FET's explicit Number_Of_Students, else the sum over ``students`` sets)
    n_students: int = 0
    comments: str = ""


# --------------------------------------------------------------------------------------------------
# Constraints


@dataclass
class Constraint:
    """Base of every constraint: weight in percent (100 = hard) and whether it is active."""

    FET_TAG: ClassVar[str] = ""
    KIND: ClassVar[str] = "time"  # or "space"
    weight_percentage: float = 100.0
    active: bool = True
    comments: str = ""
    #: line in the source file (0 if unknown)
    line: int = 0

    @property
    def is_hard(self) -> bool:
        return self.weight_percentage >= 100.0

    @property
    def fet_tag(self) -> str:
        return self.FET_TAG


@dataclass
class UnsupportedConstraint:
    """A constraint element of a type this engine does not model (kept for the import report)."""

    tag: str
    kind: str
    weight_percentage: float
    active: bool
    line: int = 0


@dataclass
class ActivityFilter:
    """FET's selection of activities by teacher, students set, subject, tag (and duration); None = any."""

    teacher: str | None = None
    students: str | None = None
    subject: str | None = None
    activity_tag: str | None = None
    duration: int | None = None


# --- basic ---------------------------------------------------------------------------------------


@dataclass
class BasicCompulsoryTime(Constraint):
    """No teacher or subgroup has two activities at once; activities lie within the week."""

    FET_TAG = "ConstraintBasicCompulsoryTime"


@dataclass
class BasicCompulsorySpace(Constraint):
    """No room hosts two activities at once (and a room is given when rooms exist)."""

    FET_TAG = "ConstraintBasicCompulsorySpace"
    KIND = "space"


# --- unavailability ------------------------------------------------------------------------------


@dataclass
class BreakTimes(Constraint):
    """No activity may be placed in (or span) these slots."""

    FET_TAG = "ConstraintBreakTimes"
    times: tuple[Time, ...] = ()


@dataclass
class TeacherNotAvailableTimes(Constraint):
    """The teacher has no activity in these slots."""

    FET_TAG = "ConstraintTeacherNotAvailableTimes"
    teacher: str = ""
    times: tuple[Time, ...] = ()


@dataclass
class StudentsSetNotAvailableTimes(Constraint):
    """The students set (each of its subgroups) has no activity in these slots."""

    FET_TAG = "ConstraintStudentsSetNotAvailableTimes"
    students: str = ""
    times: tuple[Time, ...] = ()


@dataclass
class RoomNotAvailableTimes(Constraint):
    """The room hosts no activity in these slots."""

    FET_TAG = "ConstraintRoomNotAvailableTimes"
    KIND = "space"
    room: str = ""
    times: tuple[Time, ...] = ()


# --- one activity: time ---------------------------------------------------------------------------


@dataclass
class ActivityPreferredStartingTime(Constraint):
    """The activity starts at this day (and/or hour); ``permanently_locked`` marks a locked lesson."""

    FET_TAG = "ConstraintActivityPreferredStartingTime"
    activity_id: int = 0
    day: int | None = None
    hour: int | None = None
    permanently_locked: bool = False


@dataclass
class ActivityPreferredStartingTimes(Constraint):
    """The activity starts at one of these slots."""

    FET_TAG = "ConstraintActivityPreferredStartingTimes"
    activity_id: int = 0
    times: tuple[Time, ...] = ()


@dataclass
class ActivityPreferredTimeSlots(Constraint):
    """Every hour the activity occupies is one of these slots."""

    FET_TAG = "ConstraintActivityPreferredTimeSlots"
    activity_id: int = 0
    times: tuple[Time, ...] = ()


@dataclass
class ActivityEndsStudentsDay(Constraint):
    """No subgroup of the activity has a later activity on that day."""

    FET_TAG = "ConstraintActivityEndsStudentsDay"
    activity_id: int = 0


# --- many activities by filter: time ----------------------------------------------------------------


@dataclass
class ActivitiesPreferredStartingTimes(Constraint):
    """Every activity matching the filter starts at one of these slots."""

    FET_TAG = "ConstraintActivitiesPreferredStartingTimes"
    filter: ActivityFilter = field(default_factory=ActivityFilter)
    times: tuple[Time, ...] = ()


@dataclass
class ActivitiesPreferredTimeSlots(Constraint):
    """Every hour of every activity matching the filter lies in these slots."""

    FET_TAG = "ConstraintActivitiesPreferredTimeSlots"
    filter: ActivityFilter = field(default_factory=ActivityFilter)
    times: tuple[Time, ...] = ()


@dataclass
class SubactivitiesPreferredStartingTimes(Constraint):
    """The ``component_number``-th sub-activity (1-based, by id within its split) of matching activities starts in these slots."""

    FET_TAG = "ConstraintSubactivitiesPreferredStartingTimes"
    component_number: int = 1
    filter: ActivityFilter = field(default_factory=ActivityFilter)
    times: tuple[Time, ...] = ()


@dataclass
class SubactivitiesPreferredTimeSlots(Constraint):
    """Every hour of the ``component_number``-th sub-activity of matching activities lies in these slots."""

    FET_TAG = "ConstraintSubactivitiesPreferredTimeSlots"
    component_number: int = 1
    filter: ActivityFilter = field(default_factory=ActivityFilter)
    times: tuple[Time, ...] = ()


@dataclass
class ActivitiesEndStudentsDay(Constraint):
    """Every matching activity is the last of the day for its subgroups."""

    FET_TAG = "ConstraintActivitiesEndStudentsDay"
    filter: ActivityFilter = field(default_factory=ActivityFilter)


# --- lists of activities: time -------------------------------------------------------------------


@dataclass
class MinDaysBetweenActivities(Constraint):
    """Each pair of these activities is at least ``min_days`` days apart (if on one day: adjacent, when asked)."""

    FET_TAG = "ConstraintMinDaysBetweenActivities"
    activity_ids: tuple[int, ...] = ()
    min_days: int = 1
    consecutive_if_same_day: bool = False


@dataclass
class MaxDaysBetweenActivities(Constraint):
    """Each pair of these activities is at most ``max_days`` days apart."""

    FET_TAG = "ConstraintMaxDaysBetweenActivities"
    activity_ids: tuple[int, ...] = ()
    max_days: int = 0


@dataclass
class MinGapsBetweenActivities(Constraint):
    """Two of these activities on the same day have at least ``min_gaps`` hours between them."""

    FET_TAG = "ConstraintMinGapsBetweenActivities"
    activity_ids: tuple[int, ...] = ()
    min_gaps: int = 1


@dataclass
class ActivitiesSameStartingTime(Constraint):
    """These activities all start at the same day and hour."""

    FET_TAG = "ConstraintActivitiesSameStartingTime"
    activity_ids: tuple[int, ...] = ()


@dataclass
class ActivitiesSameStartingDay(Constraint):
    """These activities all start on the same day."""

    FET_TAG = "ConstraintActivitiesSameStartingDay"
    activity_ids: tuple[int, ...] = ()


@dataclass
class ActivitiesSameStartingHour(Constraint):
    """These activities all start at the same hour (any day)."""

    FET_TAG = "ConstraintActivitiesSameStartingHour"
    activity_ids: tuple[int, ...] = ()


@dataclass
class ActivitiesNotOverlapping(Constraint):
    """No two of these activities overlap in time."""

    FET_TAG = "ConstraintActivitiesNotOverlapping"
    activity_ids: tuple[int, ...] = ()


@dataclass
class TwoActivitiesConsecutive(Constraint):
    """``second`` starts right after ``first`` ends, on the same day."""

    FET_TAG = "ConstraintTwoActivitiesConsecutive"
    first: int = 0
    second: int = 0


@dataclass
class TwoActivitiesGrouped(Constraint):
    """The two activities are adjacent on the same day, in either order."""

    FET_TAG = "ConstraintTwoActivitiesGrouped"
    first: int = 0
    second: int = 0


@dataclass
class TwoActivitiesOrdered(Constraint):
    """``second`` starts after ``first`` ends (any later time in the week)."""

    FET_TAG = "ConstraintTwoActivitiesOrdered"
    first: int = 0
    second: int = 0


@dataclass
class ThreeActivitiesGrouped(Constraint):
    """The three activities form one block without gaps on one day, in any order."""

    FET_TAG = "ConstraintThreeActivitiesGrouped"
    first: int = 0
    second: int = 0
    third: int = 0


# --- teachers: time -------------------------------------------------------------------------------


@dataclass
class _TeacherLimit(Constraint):
    """Shared shape: ``teacher`` None means every teacher."""

    teacher: str | None = None


@dataclass
class TeacherMaxDaysPerWeek(_TeacherLimit):
    """The teacher works on at most ``max_days`` days."""

    FET_TAG = "ConstraintTeacherMaxDaysPerWeek"
    max_days: int = 0


@dataclass
class TeachersMaxDaysPerWeek(_TeacherLimit):
    """Every teacher works on at most ``max_days`` days."""

    FET_TAG = "ConstraintTeachersMaxDaysPerWeek"
    max_days: int = 0


@dataclass
class TeacherMinDaysPerWeek(_TeacherLimit):
    """The teacher works on at least ``min_days`` days."""

    FET_TAG = "ConstraintTeacherMinDaysPerWeek"
    min_days: int = 0


@dataclass
class TeachersMinDaysPerWeek(_TeacherLimit):
    """Every teacher works on at least ``min_days`` days."""

    FET_TAG = "ConstraintTeachersMinDaysPerWeek"
    min_days: int = 0


@dataclass
class TeacherMaxGapsPerWeek(_TeacherLimit):
    """The teacher has at most ``max_gaps`` idle hours between lessons over the week."""

    FET_TAG = "ConstraintTeacherMaxGapsPerWeek"
    max_gaps: int = 0


@dataclass
class TeachersMaxGapsPerWeek(_TeacherLimit):
    """Every teacher has at most ``max_gaps`` idle hours between lessons over the week."""

    FET_TAG = "ConstraintTeachersMaxGapsPerWeek"
    max_gaps: int = 0


@dataclass
class TeacherMaxGapsPerDay(_TeacherLimit):
    """The teacher has at most ``max_gaps`` idle hours between lessons on any day."""

    FET_TAG = "ConstraintTeacherMaxGapsPerDay"
    max_gaps: int = 0


@dataclass
class TeachersMaxGapsPerDay(_TeacherLimit):
    """Every teacher has at most ``max_gaps`` idle hours between lessons on any day."""

    FET_TAG = "ConstraintTeachersMaxGapsPerDay"
    max_gaps: int = 0


@dataclass
class TeacherMaxHoursDaily(_TeacherLimit):
    """The teacher teaches at most ``max_hours`` hours on any day."""

    FET_TAG = "ConstraintTeacherMaxHoursDaily"
    max_hours: int = 0


@dataclass
class TeachersMaxHoursDaily(_TeacherLimit):
    """Every teacher teaches at most ``max_hours`` hours on any day."""

    FET_TAG = "ConstraintTeachersMaxHoursDaily"
    max_hours: int = 0


@dataclass
class TeacherMinHoursDaily(_TeacherLimit):
    """On each day the teacher works, at least ``min_hours`` hours (empty days allowed if ``allow_empty_days``)."""

    FET_TAG = "ConstraintTeacherMinHoursDaily"
    min_hours: int = 0
    allow_empty_days: bool = True


@dataclass
class TeachersMinHoursDaily(_TeacherLimit):
    """On each day a teacher works, at least ``min_hours`` hours (empty days allowed if ``allow_empty_days``)."""

    FET_TAG = "ConstraintTeachersMinHoursDaily"
    min_hours: int = 0
    allow_empty_days: bool = True


@dataclass
class TeacherMaxHoursContinuously(_TeacherLimit):
    """The teacher never teaches more than ``max_hours`` hours in a row."""

    FET_TAG = "ConstraintTeacherMaxHoursContinuously"
    max_hours: int = 0


@dataclass
class TeachersMaxHoursContinuously(_TeacherLimit):
    """No teacher teaches more than ``max_hours`` hours in a row."""

    FET_TAG = "ConstraintTeachersMaxHoursContinuously"
    max_hours: int = 0


@dataclass
class TeacherIntervalMaxDaysPerWeek(_TeacherLimit):
    """The teacher works within hours [start_hour, end_hour) on at most ``max_days`` days."""

    FET_TAG = "ConstraintTeacherIntervalMaxDaysPerWeek"
    start_hour: int = 0
    end_hour: int = 0
    max_days: int = 0


@dataclass
class TeachersIntervalMaxDaysPerWeek(_TeacherLimit):
    """Every teacher works within hours [start_hour, end_hour) on at most ``max_days`` days."""

    FET_TAG = "ConstraintTeachersIntervalMaxDaysPerWeek"
    start_hour: int = 0
    end_hour: int = 0
    max_days: int = 0


# --- students: time -------------------------------------------------------------------------------


@dataclass
class _StudentsLimit(Constraint):
    """Shared shape: ``students`` None means every subgroup; else each subgroup of that set."""

    students: str | None = None


@dataclass
class StudentsMaxGapsPerWeek(_StudentsLimit):
    """Every subgroup has at most ``max_gaps`` idle hours between lessons over the week."""

    FET_TAG = "ConstraintStudentsMaxGapsPerWeek"
    max_gaps: int = 0


@dataclass
class StudentsSetMaxGapsPerWeek(_StudentsLimit):
    """Each subgroup of the set has at most ``max_gaps`` idle hours between lessons over the week."""

    FET_TAG = "ConstraintStudentsSetMaxGapsPerWeek"
    max_gaps: int = 0


@dataclass
class StudentsMaxGapsPerDay(_StudentsLimit):
    """Every subgroup has at most ``max_gaps`` idle hours between lessons on any day."""

    FET_TAG = "ConstraintStudentsMaxGapsPerDay"
    max_gaps: int = 0


@dataclass
class StudentsSetMaxGapsPerDay(_StudentsLimit):
    """Each subgroup of the set has at most ``max_gaps`` idle hours between lessons on any day."""

    FET_TAG = "ConstraintStudentsSetMaxGapsPerDay"
    max_gaps: int = 0


@dataclass
class StudentsEarlyMaxBeginningsAtSecondHour(_StudentsLimit):
    """Every subgroup's day starts at the first hour (no gap before), except at most ``max_beginnings`` days that start at the second."""

    FET_TAG = "ConstraintStudentsEarlyMaxBeginningsAtSecondHour"
    max_beginnings: int = 0


@dataclass
class StudentsSetEarlyMaxBeginningsAtSecondHour(_StudentsLimit):
    """As StudentsEarlyMaxBeginningsAtSecondHour, for the subgroups of one set."""

    FET_TAG = "ConstraintStudentsSetEarlyMaxBeginningsAtSecondHour"
    max_beginnings: int = 0


@dataclass
class StudentsMaxHoursDaily(_StudentsLimit):
    """Every subgroup has at most ``max_hours`` hours on any day."""

    FET_TAG = "ConstraintStudentsMaxHoursDaily"
    max_hours: int = 0


@dataclass
class StudentsSetMaxHoursDaily(_StudentsLimit):
    """Each subgroup of the set has at most ``max_hours`` hours on any day."""

    FET_TAG = "ConstraintStudentsSetMaxHoursDaily"
    max_hours: int = 0


@dataclass
class StudentsMinHoursDaily(_StudentsLimit):
    """Every subgroup has at least ``min_hours`` hours on each day (empty days allowed if ``allow_empty_days``)."""

    FET_TAG = "ConstraintStudentsMinHoursDaily"
    min_hours: int = 0
    allow_empty_days: bool = False


@dataclass
class StudentsSetMinHoursDaily(_StudentsLimit):
    """Each subgroup of the set has at least ``min_hours`` hours on each day (empty days allowed if asked)."""

    FET_TAG = "ConstraintStudentsSetMinHoursDaily"
    min_hours: int = 0
    allow_empty_days: bool = False


@dataclass
class StudentsMaxHoursContinuously(_StudentsLimit):
    """No subgroup has more than ``max_hours`` hours in a row."""

    FET_TAG = "ConstraintStudentsMaxHoursContinuously"
    max_hours: int = 0


@dataclass
class StudentsSetMaxHoursContinuously(_StudentsLimit):
    """No subgroup of the set has more than ``max_hours`` hours in a row."""

    FET_TAG = "ConstraintStudentsSetMaxHoursContinuously"
    max_hours: int = 0


@dataclass
class StudentsIntervalMaxDaysPerWeek(_StudentsLimit):
    """Every subgroup has lessons within hours [start_hour, end_hour) on at most ``max_days`` days."""

    FET_TAG = "ConstraintStudentsIntervalMaxDaysPerWeek"
    start_hour: int = 0
    end_hour: int = 0
    max_days: int = 0


@dataclass
class StudentsSetIntervalMaxDaysPerWeek(_StudentsLimit):
    """Each subgroup of the set has lessons within hours [start_hour, end_hour) on at most ``max_days`` days."""

    FET_TAG = "ConstraintStudentsSetIntervalMaxDaysPerWeek"
    start_hour: int = 0
    end_hour: int = 0
    max_days: int = 0


# --- activity tags, span, resting hours ------------------------------------------------------------


@dataclass
class TeacherActivityTagMaxHoursDaily(_TeacherLimit):
    """The teacher has at most ``max_hours`` hours of activities with the tag on any day."""

    FET_TAG = "ConstraintTeacherActivityTagMaxHoursDaily"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class TeachersActivityTagMaxHoursDaily(_TeacherLimit):
    """Every teacher has at most ``max_hours`` hours of activities with the tag on any day."""

    FET_TAG = "ConstraintTeachersActivityTagMaxHoursDaily"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class TeacherActivityTagMaxHoursContinuously(_TeacherLimit):
    """The teacher never has more than ``max_hours`` hours in a row of activities with the tag."""

    FET_TAG = "ConstraintTeacherActivityTagMaxHoursContinuously"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class TeachersActivityTagMaxHoursContinuously(_TeacherLimit):
    """No teacher has more than ``max_hours`` hours in a row of activities with the tag."""

    FET_TAG = "ConstraintTeachersActivityTagMaxHoursContinuously"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class TeacherMaxSpanPerDay(_TeacherLimit):
    """From the teacher's first to last busy hour of a day, at most ``max_span`` hours."""

    FET_TAG = "ConstraintTeacherMaxSpanPerDay"
    max_span: int = 0


@dataclass
class TeachersMaxSpanPerDay(_TeacherLimit):
    """From any teacher's first to last busy hour of a day, at most ``max_span`` hours."""

    FET_TAG = "ConstraintTeachersMaxSpanPerDay"
    max_span: int = 0


@dataclass
class TeacherMinRestingHours(_TeacherLimit):
    """Between the teacher's last hour of a day and first of the next, at least ``min_resting`` free hours
    (``circular``: also from the last day of the week to the first)."""

    FET_TAG = "ConstraintTeacherMinRestingHours"
    min_resting: int = 0
    circular: bool = False


@dataclass
class TeachersMinRestingHours(_TeacherLimit):
    """As TeacherMinRestingHours, for every teacher."""

    FET_TAG = "ConstraintTeachersMinRestingHours"
    min_resting: int = 0
    circular: bool = False


@dataclass
class StudentsActivityTagMaxHoursDaily(_StudentsLimit):
    """Every subgroup has at most ``max_hours`` hours of activities with the tag on any day."""

    FET_TAG = "ConstraintStudentsActivityTagMaxHoursDaily"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class StudentsSetActivityTagMaxHoursDaily(_StudentsLimit):
    """Each subgroup of the set has at most ``max_hours`` hours of activities with the tag on any day."""

    FET_TAG = "ConstraintStudentsSetActivityTagMaxHoursDaily"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class StudentsActivityTagMaxHoursContinuously(_StudentsLimit):
    """No subgroup has more than ``max_hours`` hours in a row of activities with the tag."""

    FET_TAG = "ConstraintStudentsActivityTagMaxHoursContinuously"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class StudentsSetActivityTagMaxHoursContinuously(_StudentsLimit):
    """No subgroup of the set has more than ``max_hours`` hours in a row of activities with the tag."""

    FET_TAG = "ConstraintStudentsSetActivityTagMaxHoursContinuously"
    activity_tag: str = ""
    max_hours: int = 0


@dataclass
class StudentsMaxSpanPerDay(_StudentsLimit):
    """From any subgroup's first to last busy hour of a day, at most ``max_span`` hours."""

    FET_TAG = "ConstraintStudentsMaxSpanPerDay"
    max_span: int = 0


@dataclass
class StudentsSetMaxSpanPerDay(_StudentsLimit):
    """From each subgroup's (of the set) first to last busy hour of a day, at most ``max_span`` hours."""

    FET_TAG = "ConstraintStudentsSetMaxSpanPerDay"
    max_span: int = 0


@dataclass
class StudentsMinRestingHours(_StudentsLimit):
    """As TeacherMinRestingHours, for every subgroup."""

    FET_TAG = "ConstraintStudentsMinRestingHours"
    min_resting: int = 0
    circular: bool = False


@dataclass
class StudentsSetMinRestingHours(_StudentsLimit):
    """As TeacherMinRestingHours, for each subgroup of the set."""

    FET_TAG = "ConstraintStudentsSetMinRestingHours"
    min_resting: int = 0
    circular: bool = False


@dataclass
class TwoActivitiesOrderedIfSameDay(Constraint):
    """If both are on the same day, ``second`` starts after ``first`` ends."""

    FET_TAG = "ConstraintTwoActivitiesOrderedIfSameDay"
    first: int = 0
    second: int = 0


@dataclass
class ActivitiesOccupyMaxTimeSlotsFromSelection(Constraint):
    """These activities together occupy at most ``max_occupied`` of the selected slots."""

    FET_TAG = "ConstraintActivitiesOccupyMaxTimeSlotsFromSelection"
    activity_ids: tuple[int, ...] = ()
    times: tuple[Time, ...] = ()
    max_occupied: int = 0


@dataclass
class ActivitiesMaxSimultaneousInSelectedTimeSlots(Constraint):
    """In each selected slot, at most ``max_simultaneous`` of these activities take place."""

    FET_TAG = "ConstraintActivitiesMaxSimultaneousInSelectedTimeSlots"
    activity_ids: tuple[int, ...] = ()
    times: tuple[Time, ...] = ()
    max_simultaneous: int = 0


@dataclass
class ActivitiesMinSimultaneousInSelectedTimeSlots(Constraint):
    """In each selected slot, at least ``min_simultaneous`` of these activities take place (an empty slot is
    allowed when ``allow_empty_slots``)."""

    FET_TAG = "ConstraintActivitiesMinSimultaneousInSelectedTimeSlots"
    activity_ids: tuple[int, ...] = ()
    times: tuple[Time, ...] = ()
    min_simultaneous: int = 0
    allow_empty_slots: bool = False


@dataclass
class _OrderedTagsGaps(Constraint):
    """Shared shape: on a day, after an activity tagged ``first_tag`` and before a later one tagged
    ``second_tag``, at least ``min_gaps`` free hours (per teacher or per subgroup)."""

    first_tag: str = ""
    second_tag: str = ""
    min_gaps: int = 0


@dataclass
class StudentsMinGapsBetweenOrderedPairOfActivityTags(_OrderedTagsGaps):
    """For every subgroup: ``min_gaps`` hours from a ``first_tag`` activity to a later ``second_tag`` one."""

    FET_TAG = "ConstraintStudentsMinGapsBetweenOrderedPairOfActivityTags"
    students: str | None = None


@dataclass
class StudentsSetMinGapsBetweenOrderedPairOfActivityTags(_OrderedTagsGaps):
    """For each subgroup of the set: ``min_gaps`` hours from a ``first_tag`` activity to a later ``second_tag`` one."""

    FET_TAG = "ConstraintStudentsSetMinGapsBetweenOrderedPairOfActivityTags"
    students: str | None = None


@dataclass
class TeacherMinGapsBetweenOrderedPairOfActivityTags(_OrderedTagsGaps):
    """For the teacher: ``min_gaps`` hours from a ``first_tag`` activity to a later ``second_tag`` one."""

    FET_TAG = "ConstraintTeacherMinGapsBetweenOrderedPairOfActivityTags"
    teacher: str | None = None


@dataclass
class TeachersMinGapsBetweenOrderedPairOfActivityTags(_OrderedTagsGaps):
    """For every teacher: ``min_gaps`` hours from a ``first_tag`` activity to a later ``second_tag`` one."""

    FET_TAG = "ConstraintTeachersMinGapsBetweenOrderedPairOfActivityTags"
    teacher: str | None = None


# --- space ---------------------------------------------------------------------------------------


@dataclass
class ActivityPreferredRoom(Constraint):
    """The activity takes place in this room; ``permanently_locked`` marks a locked room."""

    FET_TAG = "ConstraintActivityPreferredRoom"
    KIND = "space"
    activity_id: int = 0
    room: str = ""
    permanently_locked: bool = False


@dataclass
class ActivityPreferredRooms(Constraint):
    """The activity takes place in one of these rooms."""

    FET_TAG = "ConstraintActivityPreferredRooms"
    KIND = "space"
    activity_id: int = 0
    rooms: tuple[str, ...] = ()


@dataclass
class _RoomsPreference(Constraint):
    """Shared shape: activities selected by subject / tag / teacher / students take place in ``rooms``."""

    KIND = "space"
    rooms: tuple[str, ...] = ()


@dataclass
class SubjectPreferredRoom(_RoomsPreference):
    """Activities of the subject take place in this room (``rooms`` has one element)."""

    FET_TAG = "ConstraintSubjectPreferredRoom"
    subject: str = ""


@dataclass
class SubjectPreferredRooms(_RoomsPreference):
    """Activities of the subject take place in one of these rooms."""

    FET_TAG = "ConstraintSubjectPreferredRooms"
    subject: str = ""


@dataclass
class ActivityTagPreferredRoom(_RoomsPreference):
    """Activities with the tag take place in this room."""

    FET_TAG = "ConstraintActivityTagPreferredRoom"
    activity_tag: str = ""


@dataclass
class ActivityTagPreferredRooms(_RoomsPreference):
    """Activities with the tag take place in one of these rooms."""

    FET_TAG = "ConstraintActivityTagPreferredRooms"
    activity_tag: str = ""


@dataclass
class SubjectActivityTagPreferredRoom(_RoomsPreference):
    """Activities of the subject with the tag take place in this room."""

    FET_TAG = "ConstraintSubjectActivityTagPreferredRoom"
    subject: str = ""
    activity_tag: str = ""


@dataclass
class SubjectActivityTagPreferredRooms(_RoomsPreference):
    """Activities of the subject with the tag take place in one of these rooms."""

    FET_TAG = "ConstraintSubjectActivityTagPreferredRooms"
    subject: str = ""
    activity_tag: str = ""


@dataclass
class TeacherHomeRoom(_RoomsPreference):
    """Activities taught by the teacher (as sole teacher) take place in the teacher's home room."""

    FET_TAG = "ConstraintTeacherHomeRoom"
    teacher: str = ""


@dataclass
class TeacherHomeRooms(_RoomsPreference):
    """Activities taught by the teacher (as sole teacher) take place in one of these rooms."""

    FET_TAG = "ConstraintTeacherHomeRooms"
    teacher: str = ""


@dataclass
class StudentsSetHomeRoom(_RoomsPreference):
    """Activities of exactly this students set take place in its home room."""

    FET_TAG = "ConstraintStudentsSetHomeRoom"
    students: str = ""


@dataclass
class StudentsSetHomeRooms(_RoomsPreference):
    """Activities of exactly this students set take place in one of these rooms."""

    FET_TAG = "ConstraintStudentsSetHomeRooms"
    students: str = ""


@dataclass
class ActivitiesSameRoomIfConsecutive(Constraint):
    """Two of these activities placed back to back on one day share a room."""

    FET_TAG = "ConstraintActivitiesSameRoomIfConsecutive"
    KIND = "space"
    activity_ids: tuple[int, ...] = ()


@dataclass
class ActivitiesOccupyMaxDifferentRooms(Constraint):
    """These activities together use at most ``max_rooms`` distinct rooms."""

    FET_TAG = "ConstraintActivitiesOccupyMaxDifferentRooms"
    KIND = "space"
    activity_ids: tuple[int, ...] = ()
    max_rooms: int = 1


# --- buildings (space) ----------------------------------------------------------------------------


@dataclass
class _TeacherBuildings(Constraint):
    """Shared shape: ``teacher`` None means every teacher. A change is a move between lessons in different
    buildings (lessons without a room or a building do not count)."""

    KIND = "space"
    teacher: str | None = None


@dataclass
class TeacherMaxBuildingChangesPerDay(_TeacherBuildings):
    """The teacher changes building at most ``max_changes`` times a day."""

    FET_TAG = "ConstraintTeacherMaxBuildingChangesPerDay"
    max_changes: int = 0


@dataclass
class TeachersMaxBuildingChangesPerDay(_TeacherBuildings):
    """Every teacher changes building at most ``max_changes`` times a day."""

    FET_TAG = "ConstraintTeachersMaxBuildingChangesPerDay"
    max_changes: int = 0


@dataclass
class TeacherMaxBuildingChangesPerWeek(_TeacherBuildings):
    """The teacher changes building at most ``max_changes`` times a week."""

    FET_TAG = "ConstraintTeacherMaxBuildingChangesPerWeek"
    max_changes: int = 0


@dataclass
class TeachersMaxBuildingChangesPerWeek(_TeacherBuildings):
    """Every teacher changes building at most ``max_changes`` times a week."""

    FET_TAG = "ConstraintTeachersMaxBuildingChangesPerWeek"
    max_changes: int = 0


@dataclass
class TeacherMinGapsBetweenBuildingChanges(_TeacherBuildings):
    """Between two of the teacher's lessons in different buildings, at least ``min_gaps`` free hours."""

    FET_TAG = "ConstraintTeacherMinGapsBetweenBuildingChanges"
    min_gaps: int = 0


@dataclass
class TeachersMinGapsBetweenBuildingChanges(_TeacherBuildings):
    """Between two of any teacher's lessons in different buildings, at least ``min_gaps`` free hours."""

    FET_TAG = "ConstraintTeachersMinGapsBetweenBuildingChanges"
    min_gaps: int = 0


@dataclass
class _StudentsBuildings(Constraint):
    """Shared shape: ``students`` None means every subgroup; else each subgroup of that set."""

    KIND = "space"
    students: str | None = None


@dataclass
class StudentsMaxBuildingChangesPerDay(_StudentsBuildings):
    """Every subgroup changes building at most ``max_changes`` times a day."""

    FET_TAG = "ConstraintStudentsMaxBuildingChangesPerDay"
    max_changes: int = 0


@dataclass
class StudentsSetMaxBuildingChangesPerDay(_StudentsBuildings):
    """Each subgroup of the set changes building at most ``max_changes`` times a day."""

    FET_TAG = "ConstraintStudentsSetMaxBuildingChangesPerDay"
    max_changes: int = 0


@dataclass
class StudentsMaxBuildingChangesPerWeek(_StudentsBuildings):
    """Every subgroup changes building at most ``max_changes`` times a week."""

    FET_TAG = "ConstraintStudentsMaxBuildingChangesPerWeek"
    max_changes: int = 0


@dataclass
class StudentsSetMaxBuildingChangesPerWeek(_StudentsBuildings):
    """Each subgroup of the set changes building at most ``max_changes`` times a week."""

    FET_TAG = "ConstraintStudentsSetMaxBuildingChangesPerWeek"
    max_changes: int = 0


@dataclass
class StudentsMinGapsBetweenBuildingChanges(_StudentsBuildings):
    """Between two of a subgroup's lessons in different buildings, at least ``min_gaps`` free hours."""

    FET_TAG = "ConstraintStudentsMinGapsBetweenBuildingChanges"
    min_gaps: int = 0


@dataclass
class StudentsSetMinGapsBetweenBuildingChanges(_StudentsBuildings):
    """Between two of a subgroup's (of the set) lessons in different buildings, at least ``min_gaps`` free hours."""

    FET_TAG = "ConstraintStudentsSetMinGapsBetweenBuildingChanges"
    min_gaps: int = 0


def _all_constraint_classes() -> list[type[Constraint]]:
    out: list[type[Constraint]] = []
    stack: list[type[Constraint]] = [Constraint]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.FET_TAG:
                out.append(sub)
    return out


#: FET element name → dataclass, for every supported constraint type
CONSTRAINT_TYPES: dict[str, type[Constraint]] = {c.FET_TAG: c for c in _all_constraint_classes()}


# --------------------------------------------------------------------------------------------------
# The instance


@dataclass
class Instance:
    """Everything to schedule: the week, resources, students, activities and constraints."""

    name: str = ""
    days: list[str] = field(default_factory=list)
    hours: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    activity_tags: list[str] = field(default_factory=list)
    teachers: dict[str, Teacher] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    #: every students set (years, groups, subgroups) by name
    students_sets: dict[str, StudentsSet] = field(default_factory=dict)
    #: year names in file order
    years: list[str] = field(default_factory=list)
    #: the atomic subgroups (what clashes are checked on), in file order
    subgroups: list[str] = field(default_factory=list)
    #: every activity (active or not) by id, in file order
    activities: dict[int, Activity] = field(default_factory=dict)
    time_constraints: list[Constraint] = field(default_factory=list)
    space_constraints: list[Constraint] = field(default_factory=list)
    unsupported: list[UnsupportedConstraint] = field(default_factory=list)
    #: FET's <Mode> (Official unless stated)
    mode: str = "Official"

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n_hours(self) -> int:
        return len(self.hours)

    @property
    def constraints(self) -> list[Constraint]:
        return [*self.time_constraints, *self.space_constraints]

    def active_activities(self) -> Iterator[Activity]:
        return (a for a in self.activities.values() if a.active)

    def active_constraints(self) -> Iterator[Constraint]:
        return (c for c in self.constraints if c.active)

    def subgroups_of(self, students_set: str) -> tuple[str, ...]:
        """The atomic subgroups of a students set (empty tuple for an unknown name)."""
        s = self.students_sets.get(students_set)
        return s.subgroups if s else ()

    def activity_subgroups(self, activity_id: int) -> tuple[str, ...]:
        return self.activities[activity_id].subgroups

    def split_components(self) -> dict[int, list[int]]:
        """group id → ids of the (sub-)activities of that split, sorted by id (FET's component order)."""
        out: dict[int, list[int]] = {}
        for a in self.activities.values():
            gid = a.group_id or a.id
            out.setdefault(gid, []).append(a.id)
        for ids in out.values():
            ids.sort()
        return out

    def unsupported_counts(self) -> dict[str, int]:
        """Unsupported constraint type → number of occurrences (the import report)."""
        out: dict[str, int] = {}
        for u in self.unsupported:
            out[u.tag] = out.get(u.tag, 0) + 1
        return dict(sorted(out.items()))

    def import_report(self) -> str:
        """A human-readable summary of what was imported and which constraint types were not."""
        n_act = sum(1 for _ in self.active_activities())
        lines = [
            f"{self.name or 'instance'}: {self.n_days} days x {self.n_hours} hours, "
            f"{n_act} active activities ({len(self.activities)} in all), {len(self.teachers)} teachers, "
            f"{len(self.subgroups)} subgroups, {len(self.rooms)} rooms",
            f"constraints imported: {len(self.constraints)}",
        ]
        counts = self.unsupported_counts()
        if counts:
            lines.append(f"unsupported constraints (not enforced): {len(self.unsupported)}")
            lines.extend(f"  {tag}: {n}" for tag, n in counts.items())
        else:
            lines.append("unsupported constraints: none")
        return "\n".join(lines)
