"""The one evaluator: ``score(instance, solution) -> Report`` for any timetable, ours or FET's.

FET's semantics, as FET documents them and prints them in its soft-conflicts reports:

- A constraint of weight 100% is hard; each broken unit is a hard violation.
- A constraint of weight w < 100% is soft; each broken unit adds w/100 to the soft penalty (FET's
  "Total soft conflicts"). Broken weight-0 constraints are reported with penalty 0, as FET lists them.
- The broken *units* follow FET's reports: min days between activities counts, per pair of activities,
  the number of days too close (``min_days - |d1 - d2|``); a preferred time / room constraint counts each
  activity placed elsewhere once (preferred time *slots*: each hour outside them); a "max hours daily" constraint counts each (person, day) over the limit
  once; "max gaps" and "max days" count the excess; not-available times count each busy hour.
- Gaps (teachers' and students') are free hours between a person's first and last lesson of a day, not
  counting break times and 100%-weight not-available times, which are not gaps.
- "Consecutive if same day" in min days between activities: two of the activities on the same day must be
  adjacent, whatever the weight (FET always places them so); a non-adjacent same-day pair is hard.
- Activities without a room are fine unless a room constraint applies to them (FET assigns rooms only to
  activities that have a room constraint).
- Home rooms (teacher's, students set's) apply to activities of exactly that one teacher / students set, and
  not to activities covered by a preferred-room constraint (activity, subject, activity tag), which FET
  lets take precedence.

Unsupported constraint types (``instance.unsupported``) are listed in the report, not scored.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from . import model as m
from .model import Activity, Constraint, Instance, Placement, Solution

# --------------------------------------------------------------------------------------------------
# Report


@dataclass
class Violation:
    """One broken constraint instance: ``count`` broken units, ``penalty`` (soft only) = weight/100·count."""

    constraint_type: str
    hard: bool
    weight_percentage: float
    count: int
    penalty: float
    message: str
    line: int = 0
    #: the activities involved, when the constraint is about activities
    activities: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.constraint_type,
            "hard": self.hard,
            "weight_percentage": self.weight_percentage,
            "count": self.count,
            "penalty": round(self.penalty, 6),
            "message": self.message,
            "line": self.line,
            "activities": list(self.activities),
        }


@dataclass
class Report:
    hard: list[Violation] = field(default_factory=list)
    soft: list[Violation] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)
    #: unsupported constraint type → occurrences (not scored)
    unsupported: dict[str, int] = field(default_factory=dict)
    n_activities: int = 0

    @property
    def hard_total(self) -> int:
        """Number of hard violations (broken units), unplaced activities included."""
        return sum(v.count for v in self.hard)

    @property
    def soft_total(self) -> float:
        """FET's "Total soft conflicts": the weighted soft penalty."""
        return round(sum(v.penalty for v in self.soft), 6)

    @property
    def n_broken_soft(self) -> int:
        """FET's "Number of broken soft constraints"."""
        return len(self.soft)

    @property
    def is_feasible(self) -> bool:
        return not self.hard

    def hard_by_type(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for v in self.hard:
            out[v.constraint_type] += v.count
        return dict(sorted(out.items()))

    def soft_by_type(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for v in self.soft:
            row = out.setdefault(v.constraint_type, {"broken": 0, "count": 0, "penalty": 0.0})
            row["broken"] += 1
            row["count"] += v.count
            row["penalty"] = round(row["penalty"] + v.penalty, 6)
        return dict(sorted(out.items()))

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "activities": self.n_activities,
            "unplaced": len(self.unplaced),
            "hard_total": self.hard_total,
            "hard_by_type": self.hard_by_type(),
            "soft_total": self.soft_total,
            "broken_soft": self.n_broken_soft,
            "soft_by_type": self.soft_by_type(),
            "unsupported_constraints": self.unsupported,
        }
        if details:
            out["hard"] = [v.to_dict() for v in self.hard]
            out["soft"] = [v.to_dict() for v in sorted(self.soft, key=lambda v: -v.penalty)]
        return out

    def to_json(self, *, details: bool = True) -> str:
        return json.dumps(self.to_dict(details=details), ensure_ascii=False, indent=2)

    def to_text(self, *, max_lines: int = 50) -> str:
        lines = [
            f"Activities: {self.n_activities} ({len(self.unplaced)} unplaced)",
            f"Hard violations: {self.hard_total}",
        ]
        lines.extend(f"  {t}: {n}" for t, n in self.hard_by_type().items())
        lines.append(
            f"Total soft conflicts: {_fmt(self.soft_total)} ({self.n_broken_soft} broken soft constraints)"
        )
        for t, row in self.soft_by_type().items():
            lines.append(f"  {t}: {int(row['broken'])} broken, penalty {_fmt(row['penalty'])}")
        if self.unsupported:
            lines.append("Not scored (unsupported constraint types):")
            lines.extend(f"  {t}: {n}" for t, n in self.unsupported.items())
        if self.hard:
            lines.append("")
            lines.append("Hard violations:")
            lines.extend(f"  [{v.constraint_type}] {v.message}" for v in self.hard[:max_lines])
            if len(self.hard) > max_lines:
                lines.append(f"  … and {len(self.hard) - max_lines} more")
        if self.soft:
            lines.append("")
            lines.append("Soft conflicts (in decreasing order):")
            ordered = sorted(self.soft, key=lambda v: -v.penalty)
            lines.extend(
                f"  {_fmt(v.penalty)}  [{v.constraint_type}] {v.message}" for v in ordered[:max_lines]
            )
            if len(self.soft) > max_lines:
                lines.append(f"  … and {len(self.soft) - max_lines} more")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") or "0"


# --------------------------------------------------------------------------------------------------
# Scoring context

Found = Iterator[tuple[int, str] | tuple[int, str, tuple[int, ...]]]
"""A checker yields (broken units, message[, activity ids]) for each broken instance of its constraint."""


class _Ctx:
    """Occupancy tables for one (instance, solution)."""

    def __init__(self, inst: Instance, sol: Solution) -> None:
        self.inst = inst
        self.nd = inst.n_days
        self.nh = inst.n_hours
        self.active: dict[int, Activity] = {a.id: a for a in inst.active_activities()}
        self.placed: dict[int, Placement] = {aid: p for aid, p in sol.items() if aid in self.active}
        nd, nh = self.nd, self.nh
        self.teacher_busy: dict[str, list[list[int]]] = {
            t: [[0] * nh for _ in range(nd)] for t in inst.teachers
        }
        self.sub_busy: dict[str, list[list[int]]] = {s: [[0] * nh for _ in range(nd)] for s in inst.subgroups}
        self.room_busy: dict[str, list[list[list[int]]]] = {
            r: [[[] for _ in range(nh)] for _ in range(nd)] for r in inst.rooms
        }
        self.out_of_week: list[int] = []
        self.teacher_acts: dict[str, list[int]] = defaultdict(list)
        self.sub_acts: dict[str, list[int]] = defaultdict(list)
        for aid, p in self.placed.items():
            a = self.active[aid]
            if not (0 <= p.day < nd and 0 <= p.hour < nh) or p.hour + a.duration > nh:
                self.out_of_week.append(aid)
                continue
            for t in a.teachers:
                self.teacher_acts[t].append(aid)
            for s in a.subgroups:
                self.sub_acts[s].append(aid)
            for h in range(p.hour, p.hour + a.duration):
                for t in a.teachers:
                    self.teacher_busy[t][p.day][h] += 1
                for s in a.subgroups:
                    self.sub_busy[s][p.day][h] += 1
                if p.room is not None and p.room in self.room_busy:
                    self.room_busy[p.room][p.day][h].append(aid)
        # slots that are never gaps: breaks and 100% not-available times
        self.breaks: set[tuple[int, int]] = set()
        self.teacher_na: dict[str, set[tuple[int, int]]] = defaultdict(set)
        self.sub_na: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for c in inst.time_constraints:
            if not c.active or not c.is_hard:
                continue
            if isinstance(c, m.BreakTimes):
                self.breaks.update(c.times)
            elif isinstance(c, m.TeacherNotAvailableTimes):
                self.teacher_na[c.teacher].update(c.times)
            elif isinstance(c, m.StudentsSetNotAvailableTimes):
                for s in inst.subgroups_of(c.students):
                    self.sub_na[s].update(c.times)
        self._components: dict[int, int] | None = None
        self.preferred_rooms: set[int] | None = None
        self.index: dict[tuple[str, str], set[int]] | None = None

    # -- descriptions --------------------------------------------------------------------------------

    def act(self, aid: int) -> str:
        a = self.inst.activities.get(aid)
        if a is None:
            return f"activity {aid}"
        bits = [*a.teachers, a.subject, *a.tags, *a.students]
        return f"activity {aid} ({' - '.join(b for b in bits if b)})"

    def when(self, day: int, hour: int | None = None) -> str:
        d = self.inst.days[day] if 0 <= day < self.nd else str(day)
        if hour is None:
            return d
        h = self.inst.hours[hour] if 0 <= hour < self.nh else str(hour)
        return f"{d} {h}"

    # -- helpers -------------------------------------------------------------------------------------

    def hours_of(self, aid: int) -> Iterator[tuple[int, int]]:
        p = self.placed[aid]
        for h in range(p.hour, min(p.hour + self.active[aid].duration, self.nh)):
            yield (p.day, h)

    def ids(self, ids: Iterable[int]) -> list[int]:
        """The placed, active activities among ``ids`` (FET drops inactive activities from constraints)."""
        return [i for i in ids if i in self.placed]

    def matches(self, a: Activity, f: m.ActivityFilter) -> bool:
        if f.teacher is not None and f.teacher not in a.teachers:
            return False
        if f.students is not None and f.students not in a.students:
            return False
        if f.subject is not None and a.subject != f.subject:
            return False
        if f.activity_tag is not None and f.activity_tag not in a.tags:
            return False
        return not (f.duration is not None and a.duration != f.duration)

    def filtered(self, f: m.ActivityFilter) -> list[int]:
        return [aid for aid in self.placed if self.matches(self.active[aid], f)]

    def component(self, aid: int) -> int:
        """1-based position of a sub-activity within its split (by id)."""
        if self._components is None:
            comp: dict[int, int] = {}
            for ids in self.inst.split_components().values():
                for i, x in enumerate(ids, start=1):
                    comp[x] = i
            self._components = comp
        return self._components.get(aid, 1)

    def teachers(self, name: str | None) -> list[str]:
        return list(self.inst.teachers) if name is None else [name]

    def subgroups(self, name: str | None) -> list[str]:
        return list(self.inst.subgroups) if name is None else list(self.inst.subgroups_of(name))

    def who_sub(self, sg: str) -> str:
        return f"students {sg}"

    def gaps(self, busy: list[int], day: int, na: set[tuple[int, int]]) -> int:
        hs = [h for h in range(self.nh) if busy[h]]
        if not hs:
            return 0
        return sum(
            1
            for h in range(hs[0], hs[-1] + 1)
            if not busy[h] and (day, h) not in self.breaks and (day, h) not in na
        )

    def day_hours(self, busy: list[int]) -> int:
        return sum(1 for x in busy if x)

    def tagged_rows(self, aids: list[int], tag: str) -> list[list[int]]:
        """Busy rows (day → hours) counting only the activities with the tag."""
        rows = [[0] * self.nh for _ in range(self.nd)]
        for aid in aids:
            if tag in self.active[aid].tags:
                p = self.placed[aid]
                for h in range(p.hour, p.hour + self.active[aid].duration):
                    rows[p.day][h] += 1
        return rows

    def building_changes(self, aids: list[int], day: int) -> list[tuple[int, int]]:
        """For one day: (gap in hours, 1) for each move between lessons in different buildings, in time order."""
        seq: list[tuple[int, int, str]] = []
        for aid in aids:
            p = self.placed[aid]
            if p.day != day or p.room is None:
                continue
            room = self.inst.rooms.get(p.room)
            if room is None or not room.building:
                continue
            seq.append((p.hour, p.hour + self.active[aid].duration, room.building))
        seq.sort()
        out: list[tuple[int, int]] = []
        for (_s1, e1, b1), (s2, _e2, b2) in zip(seq, seq[1:], strict=False):
            if b1 != b2:
                out.append((max(s2 - e1, 0), 1))
        return out

    def runs(self, busy: list[int]) -> list[int]:
        out: list[int] = []
        run = 0
        for x in busy:
            if x:
                run += 1
            else:
                if run:
                    out.append(run)
                run = 0
        if run:
            out.append(run)
        return out


# --------------------------------------------------------------------------------------------------
# Checkers: one per constraint class (shared shapes share a function)


def _basic_time(ctx: _Ctx, c: Constraint) -> Found:
    for aid in ctx.out_of_week:
        yield 1, f"{ctx.act(aid)} does not fit in the week at its placement"
    for t, days in ctx.teacher_busy.items():
        for d, row in enumerate(days):
            for h, n in enumerate(row):
                if n > 1:
                    yield n - 1, f"teacher {t} has {n} activities at {ctx.when(d, h)}"
    for s, days in ctx.sub_busy.items():
        for d, row in enumerate(days):
            for h, n in enumerate(row):
                if n > 1:
                    yield n - 1, f"students {s} have {n} activities at {ctx.when(d, h)}"


def _basic_space(ctx: _Ctx, c: Constraint) -> Found:
    for r, days in ctx.room_busy.items():
        for d, row in enumerate(days):
            for h, ids in enumerate(row):
                if len(ids) > 1:
                    names = ", ".join(str(i) for i in ids)
                    yield len(ids) - 1, f"room {r} hosts activities {names} at {ctx.when(d, h)}"
    for aid, p in ctx.placed.items():
        if p.room is None:
            continue
        room = ctx.inst.rooms.get(p.room)
        if room is None:
            yield 1, f"{ctx.act(aid)} is in unknown room {p.room!r}"
        elif not room.virtual and ctx.active[aid].n_students > room.capacity:
            yield (
                1,
                f"{ctx.act(aid)}: {ctx.active[aid].n_students} students exceed room {p.room} capacity {room.capacity}",
            )


def _break_times(ctx: _Ctx, c: m.BreakTimes) -> Found:
    slots = set(c.times)
    for aid in ctx.placed:
        n = sum(1 for t in ctx.hours_of(aid) if t in slots)
        if n:
            p = ctx.placed[aid]
            yield n, f"{ctx.act(aid)} is placed over a break ({ctx.when(p.day, p.hour)})"


def _teacher_na(ctx: _Ctx, c: m.TeacherNotAvailableTimes) -> Found:
    slots = set(c.times)
    for d, row in enumerate(ctx.teacher_busy.get(c.teacher, [])):
        for h, n in enumerate(row):
            if n and (d, h) in slots:
                yield 1, f"teacher {c.teacher} is not available at {ctx.when(d, h)} but teaches"


def _students_na(ctx: _Ctx, c: m.StudentsSetNotAvailableTimes) -> Found:
    slots = set(c.times)
    for s in ctx.inst.subgroups_of(c.students):
        for d, row in enumerate(ctx.sub_busy[s]):
            for h, n in enumerate(row):
                if n and (d, h) in slots:
                    yield (
                        1,
                        f"students {s} ({c.students}) are not available at {ctx.when(d, h)} but have a lesson",
                    )


def _room_na(ctx: _Ctx, c: m.RoomNotAvailableTimes) -> Found:
    slots = set(c.times)
    for d, row in enumerate(ctx.room_busy.get(c.room, [])):
        for h, ids in enumerate(row):
            if ids and (d, h) in slots:
                yield 1, f"room {c.room} is not available at {ctx.when(d, h)} but hosts activity {ids[0]}"


def _act_start(ctx: _Ctx, c: m.ActivityPreferredStartingTime) -> Found:
    p = ctx.placed.get(c.activity_id)
    if p is None:
        return
    if (c.day is not None and p.day != c.day) or (c.hour is not None and p.hour != c.hour):
        want = ctx.when(c.day if c.day is not None else 0, c.hour) if c.day is not None else f"hour {c.hour}"
        yield (
            1,
            f"{ctx.act(c.activity_id)} should start at {want}, starts at {ctx.when(p.day, p.hour)}",
            (c.activity_id,),
        )


def _act_starts(ctx: _Ctx, c: m.ActivityPreferredStartingTimes) -> Found:
    p = ctx.placed.get(c.activity_id)
    if p is not None and (p.day, p.hour) not in set(c.times):
        yield (
            1,
            f"{ctx.act(c.activity_id)} starts at {ctx.when(p.day, p.hour)}, not a preferred starting time",
            (c.activity_id,),
        )


def _outside_slots(ctx: _Ctx, aid: int, slots: set[tuple[int, int]]) -> Found:
    """FET counts each hour of the activity that lies outside the slots."""
    n = sum(1 for t in ctx.hours_of(aid) if t not in slots)
    if n:
        p = ctx.placed[aid]
        yield (
            n,
            f"{ctx.act(aid)} at {ctx.when(p.day, p.hour)} has {n} hours outside its preferred time slots",
            (aid,),
        )


def _act_slots(ctx: _Ctx, c: m.ActivityPreferredTimeSlots) -> Found:
    if c.activity_id in ctx.placed:
        yield from _outside_slots(ctx, c.activity_id, set(c.times))


def _ends_day(ctx: _Ctx, aid: int) -> Found:
    p = ctx.placed[aid]
    end = p.hour + ctx.active[aid].duration
    for s in ctx.active[aid].subgroups:
        row = ctx.sub_busy[s][p.day]
        if any(row[h] for h in range(end, ctx.nh)):
            yield 1, f"{ctx.act(aid)} does not end the day of students {s} on {ctx.when(p.day)}"
            return


def _act_ends(ctx: _Ctx, c: m.ActivityEndsStudentsDay) -> Found:
    if c.activity_id in ctx.placed:
        yield from _ends_day(ctx, c.activity_id)


def _acts_ends(ctx: _Ctx, c: m.ActivitiesEndStudentsDay) -> Found:
    for aid in ctx.filtered(c.filter):
        yield from _ends_day(ctx, aid)


def _acts_starts(
    ctx: _Ctx, c: m.ActivitiesPreferredStartingTimes | m.SubactivitiesPreferredStartingTimes
) -> Found:
    slots = set(c.times)
    comp = getattr(c, "component_number", None)
    for aid in ctx.filtered(c.filter):
        if comp is not None and ctx.component(aid) != comp:
            continue
        p = ctx.placed[aid]
        if (p.day, p.hour) not in slots:
            yield (
                1,
                f"{ctx.act(aid)} starts at {ctx.when(p.day, p.hour)}, not a preferred starting time",
                (aid,),
            )


def _acts_slots(ctx: _Ctx, c: m.ActivitiesPreferredTimeSlots | m.SubactivitiesPreferredTimeSlots) -> Found:
    slots = set(c.times)
    comp = getattr(c, "component_number", None)
    for aid in ctx.filtered(c.filter):
        if comp is None or ctx.component(aid) == comp:
            yield from _outside_slots(ctx, aid, slots)


def _adjacent(ctx: _Ctx, a: int, b: int) -> bool:
    pa, pb = ctx.placed[a], ctx.placed[b]
    return pa.day == pb.day and (
        pa.hour + ctx.active[a].duration == pb.hour or pb.hour + ctx.active[b].duration == pa.hour
    )


def _min_days(ctx: _Ctx, c: m.MinDaysBetweenActivities) -> Found:
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        pa, pb = ctx.placed[a], ctx.placed[b]
        dist = abs(pa.day - pb.day)
        if dist < c.min_days:
            yield (
                c.min_days - dist,
                f"{ctx.act(b)} and {ctx.act(a)} are {c.min_days - dist} days too close "
                f"({ctx.when(pb.day)} and {ctx.when(pa.day)})",
                (a, b),
            )


def _min_days_consecutive(
    ctx: _Ctx, c: m.MinDaysBetweenActivities
) -> Iterator[tuple[int, str, tuple[int, ...]]]:
    """The always-hard part of min days: same-day pairs must be adjacent when asked."""
    if not c.consecutive_if_same_day:
        return
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        if ctx.placed[a].day == ctx.placed[b].day and not _adjacent(ctx, a, b):
            yield (
                1,
                f"{ctx.act(a)} and {ctx.act(b)} share {ctx.when(ctx.placed[a].day)} but are not consecutive",
                (a, b),
            )


def _max_days_between(ctx: _Ctx, c: m.MaxDaysBetweenActivities) -> Found:
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        dist = abs(ctx.placed[a].day - ctx.placed[b].day)
        if dist > c.max_days:
            yield dist - c.max_days, f"{ctx.act(a)} and {ctx.act(b)} are {dist} days apart (max {c.max_days})"


def _min_gaps_between(ctx: _Ctx, c: m.MinGapsBetweenActivities) -> Found:
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        pa, pb = ctx.placed[a], ctx.placed[b]
        if pa.day != pb.day:
            continue
        if pa.hour > pb.hour:
            a, b, pa, pb = b, a, pb, pa
        gap = max(pb.hour - (pa.hour + ctx.active[a].duration), 0)
        if gap < c.min_gaps:
            yield (
                c.min_gaps - gap,  # FET: "there are N more needed hours between them"
                f"{ctx.act(a)} and {ctx.act(b)} on {ctx.when(pa.day)} have {gap} hours between (min {c.min_gaps})",
                (a, b),
            )


def _same(ctx: _Ctx, c: Constraint, key: Callable[[Placement], Any], what: str) -> Found:
    ids = ctx.ids(getattr(c, "activity_ids", ()))
    for a, b in combinations(ids, 2):
        if key(ctx.placed[a]) != key(ctx.placed[b]):
            yield 1, f"{ctx.act(a)} and {ctx.act(b)} do not start at the same {what}", (a, b)


def _same_time(ctx: _Ctx, c: m.ActivitiesSameStartingTime) -> Found:
    return _same(ctx, c, lambda p: (p.day, p.hour), "time")


def _same_day(ctx: _Ctx, c: m.ActivitiesSameStartingDay) -> Found:
    return _same(ctx, c, lambda p: p.day, "day")


def _same_hour(ctx: _Ctx, c: m.ActivitiesSameStartingHour) -> Found:
    return _same(ctx, c, lambda p: p.hour, "hour")


def _not_overlapping(ctx: _Ctx, c: m.ActivitiesNotOverlapping) -> Found:
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        if set(ctx.hours_of(a)) & set(ctx.hours_of(b)):
            yield 1, f"{ctx.act(a)} and {ctx.act(b)} overlap", (a, b)


def _two_consecutive(ctx: _Ctx, c: m.TwoActivitiesConsecutive) -> Found:
    if c.first in ctx.placed and c.second in ctx.placed:
        p1, p2 = ctx.placed[c.first], ctx.placed[c.second]
        if not (p1.day == p2.day and p1.hour + ctx.active[c.first].duration == p2.hour):
            yield 1, f"{ctx.act(c.second)} does not follow {ctx.act(c.first)} directly"


def _two_grouped(ctx: _Ctx, c: m.TwoActivitiesGrouped) -> Found:
    if c.first in ctx.placed and c.second in ctx.placed and not _adjacent(ctx, c.first, c.second):
        yield 1, f"{ctx.act(c.first)} and {ctx.act(c.second)} are not grouped (adjacent on one day)"


def _two_ordered(ctx: _Ctx, c: m.TwoActivitiesOrdered) -> Found:
    if c.first in ctx.placed and c.second in ctx.placed:
        p1, p2 = ctx.placed[c.first], ctx.placed[c.second]
        end1 = (p1.day, p1.hour + ctx.active[c.first].duration)
        if not (p1.day < p2.day or (p1.day == p2.day and end1[1] <= p2.hour)):
            yield 1, f"{ctx.act(c.second)} is not after {ctx.act(c.first)}"


def _three_grouped(ctx: _Ctx, c: m.ThreeActivitiesGrouped) -> Found:
    ids = [c.first, c.second, c.third]
    if not all(i in ctx.placed for i in ids):
        return
    days = {ctx.placed[i].day for i in ids}
    ok = False
    if len(days) == 1:
        spans = sorted((ctx.placed[i].hour, ctx.placed[i].hour + ctx.active[i].duration) for i in ids)
        ok = spans[0][1] == spans[1][0] and spans[1][1] == spans[2][0]
    if not ok:
        yield 1, f"activities {', '.join(str(i) for i in ids)} are not one block on one day"


# teachers ---------------------------------------------------------------------------------------------


def _t_days(ctx: _Ctx, t: str) -> int:
    return sum(1 for row in ctx.teacher_busy[t] if any(row))


def _teacher_max_days(ctx: _Ctx, c: m.TeacherMaxDaysPerWeek | m.TeachersMaxDaysPerWeek) -> Found:
    for t in ctx.teachers(c.teacher):
        n = _t_days(ctx, t)
        if n > c.max_days:
            yield n - c.max_days, f"teacher {t} works {n} days (max {c.max_days})"


def _teacher_min_days(ctx: _Ctx, c: m.TeacherMinDaysPerWeek | m.TeachersMinDaysPerWeek) -> Found:
    for t in ctx.teachers(c.teacher):
        n = _t_days(ctx, t)
        if n < c.min_days:
            yield c.min_days - n, f"teacher {t} works {n} days (min {c.min_days})"


def _teacher_gaps_week(ctx: _Ctx, c: m.TeacherMaxGapsPerWeek | m.TeachersMaxGapsPerWeek) -> Found:
    for t in ctx.teachers(c.teacher):
        n = sum(ctx.gaps(row, d, ctx.teacher_na[t]) for d, row in enumerate(ctx.teacher_busy[t]))
        if n > c.max_gaps:
            yield n - c.max_gaps, f"teacher {t} has {n} gaps in the week (max {c.max_gaps})"


def _teacher_gaps_day(ctx: _Ctx, c: m.TeacherMaxGapsPerDay | m.TeachersMaxGapsPerDay) -> Found:
    for t in ctx.teachers(c.teacher):
        for d, row in enumerate(ctx.teacher_busy[t]):
            n = ctx.gaps(row, d, ctx.teacher_na[t])
            if n > c.max_gaps:
                yield n - c.max_gaps, f"teacher {t} has {n} gaps on {ctx.when(d)} (max {c.max_gaps})"


# students ---------------------------------------------------------------------------------------------


def _students_gaps_week(ctx: _Ctx, c: m.StudentsMaxGapsPerWeek | m.StudentsSetMaxGapsPerWeek) -> Found:
    for s in ctx.subgroups(c.students):
        n = sum(ctx.gaps(row, d, ctx.sub_na[s]) for d, row in enumerate(ctx.sub_busy[s]))
        if n > c.max_gaps:
            yield n - c.max_gaps, f"students {s} have {n} gaps in the week (max {c.max_gaps})"


def _students_gaps_day(ctx: _Ctx, c: m.StudentsMaxGapsPerDay | m.StudentsSetMaxGapsPerDay) -> Found:
    for s in ctx.subgroups(c.students):
        for d, row in enumerate(ctx.sub_busy[s]):
            n = ctx.gaps(row, d, ctx.sub_na[s])
            if n > c.max_gaps:
                yield n - c.max_gaps, f"students {s} have {n} gaps on {ctx.when(d)} (max {c.max_gaps})"


def _students_early(
    ctx: _Ctx, c: m.StudentsEarlyMaxBeginningsAtSecondHour | m.StudentsSetEarlyMaxBeginningsAtSecondHour
) -> Found:
    for s in ctx.subgroups(c.students):
        late = 0
        second = 0
        for d, row in enumerate(ctx.sub_busy[s]):
            hs = [h for h in range(ctx.nh) if row[h]]
            if not hs:
                continue
            free = sum(1 for h in range(hs[0]) if (d, h) not in ctx.breaks and (d, h) not in ctx.sub_na[s])
            if free == 1:
                second += 1
            elif free > 1:
                late += free - 1
                second += 1
        n = late + max(0, second - c.max_beginnings)
        if n:
            yield (
                n,
                (
                    f"students {s} begin late: {second} days not at the first hour "
                    f"(max {c.max_beginnings} at the second hour)"
                ),
            )


# space -----------------------------------------------------------------------------------------------


def _room_check(ctx: _Ctx, aid: int, rooms: tuple[str, ...] | set[str]) -> Found:
    p = ctx.placed[aid]
    if p.room not in rooms:
        where = f"room {p.room}" if p.room else "no room"
        want = ", ".join(sorted(rooms))
        yield 1, f"{ctx.act(aid)} is in {where}, not in {want}", (aid,)


def _act_room(ctx: _Ctx, c: m.ActivityPreferredRoom) -> Found:
    if c.activity_id in ctx.placed:
        yield from _room_check(ctx, c.activity_id, (c.room,))


def _act_rooms(ctx: _Ctx, c: m.ActivityPreferredRooms) -> Found:
    if c.activity_id in ctx.placed:
        yield from _room_check(ctx, c.activity_id, c.rooms)


_HOME_ROOMS = (m.TeacherHomeRoom, m.TeacherHomeRooms, m.StudentsSetHomeRoom, m.StudentsSetHomeRooms)


def _rooms_pref_targets(ctx: _Ctx, c: m._RoomsPreference) -> set[int]:
    """Placed activities a subject / tag / teacher's / students set's room constraint applies to."""
    if ctx.index is None:
        idx: dict[tuple[str, str], set[int]] = defaultdict(set)
        for aid in ctx.placed:
            a = ctx.active[aid]
            idx[("subject", a.subject)].add(aid)
            for t in a.tags:
                idx[("tag", t)].add(aid)
            if len(a.teachers) == 1:
                idx[("teacher", a.teachers[0])].add(aid)
            if len(a.students) == 1:
                idx[("students", a.students[0])].add(aid)
        ctx.index = idx
    out: set[int] | None = None
    for key in ("subject", "activity_tag", "teacher", "students"):
        value = getattr(c, key, None)
        if value is None:
            continue
        ids = ctx.index.get(("tag" if key == "activity_tag" else key, value), set())
        out = set(ids) if out is None else out & ids
    return out if out is not None else set(ctx.placed)


def _with_preferred_rooms(ctx: _Ctx) -> set[int]:
    """Activities under a preferred-room constraint (activity, subject, tag): home rooms do not apply to them."""
    if ctx.preferred_rooms is None:
        out: set[int] = set()
        for c in ctx.inst.space_constraints:
            if not c.active:
                continue
            if isinstance(c, (m.ActivityPreferredRoom, m.ActivityPreferredRooms)):
                out.add(c.activity_id)
            elif isinstance(c, m._RoomsPreference) and not isinstance(c, _HOME_ROOMS):
                out |= _rooms_pref_targets(ctx, c)
        ctx.preferred_rooms = out
    return ctx.preferred_rooms


def _rooms_pref(ctx: _Ctx, c: m._RoomsPreference) -> Found:
    """Subject / tag preferred rooms, and home rooms (activities of exactly that teacher or students set,
    unless a preferred-room constraint covers the activity: FET lets those override home rooms)."""
    rooms = set(c.rooms)
    targets = _rooms_pref_targets(ctx, c)
    if isinstance(c, _HOME_ROOMS):
        targets -= _with_preferred_rooms(ctx)
    for aid in sorted(targets):
        yield from _room_check(ctx, aid, rooms)


def _same_room_if_consecutive(ctx: _Ctx, c: m.ActivitiesSameRoomIfConsecutive) -> Found:
    for a, b in combinations(ctx.ids(c.activity_ids), 2):
        if _adjacent(ctx, a, b) and ctx.placed[a].room != ctx.placed[b].room:
            yield 1, f"{ctx.act(a)} and {ctx.act(b)} are consecutive but in different rooms"


def _max_different_rooms(ctx: _Ctx, c: m.ActivitiesOccupyMaxDifferentRooms) -> Found:
    rooms = {ctx.placed[i].room for i in ctx.ids(c.activity_ids) if ctx.placed[i].room}
    if len(rooms) > c.max_rooms:
        yield len(rooms) - c.max_rooms, f"activities use {len(rooms)} rooms (max {c.max_rooms})"


# activity tags, span, resting hours, selections, buildings ---------------------------------------------


def _who(ctx: _Ctx, c: Constraint) -> list[tuple[str, list[list[int]], list[int]]]:
    """(label, busy rows, activity ids) for each teacher or subgroup a constraint is about."""
    if hasattr(c, "teacher"):
        return [(f"teacher {t}", ctx.teacher_busy[t], ctx.teacher_acts[t]) for t in ctx.teachers(c.teacher)]
    students = getattr(c, "students", None)
    return [(f"students {s}", ctx.sub_busy[s], ctx.sub_acts[s]) for s in ctx.subgroups(students)]


def _tag_max_daily(ctx: _Ctx, c: Any) -> Found:
    for who, _rows, aids in _who(ctx, c):
        for d, row in enumerate(ctx.tagged_rows(aids, c.activity_tag)):
            n = ctx.day_hours(row)
            if n > c.max_hours:
                yield 1, f"{who} has {n} hours tagged {c.activity_tag} on {ctx.when(d)} (max {c.max_hours})"


def _tag_continuous(ctx: _Ctx, c: Any) -> Found:
    for who, _rows, aids in _who(ctx, c):
        for d, row in enumerate(ctx.tagged_rows(aids, c.activity_tag)):
            for run in ctx.runs(row):
                if run > c.max_hours:
                    yield (
                        1,
                        f"{who} has {run} hours in a row tagged {c.activity_tag} on {ctx.when(d)} (max {c.max_hours})",
                    )


def _max_span(ctx: _Ctx, c: Any) -> Found:
    for who, rows, _aids in _who(ctx, c):
        for d, row in enumerate(rows):
            hs = [h for h, x in enumerate(row) if x]
            if hs and hs[-1] - hs[0] + 1 > c.max_span:
                span = hs[-1] - hs[0] + 1
                yield 1, f"{who} spans {span} hours on {ctx.when(d)} (max {c.max_span})"


def _min_resting(ctx: _Ctx, c: Any) -> Found:
    pairs = [(d, d + 1) for d in range(ctx.nd - 1)]
    if c.circular and ctx.nd > 1:
        pairs.append((ctx.nd - 1, 0))
    for who, rows, _aids in _who(ctx, c):
        for d1, d2 in pairs:
            h1 = [h for h, x in enumerate(rows[d1]) if x]
            h2 = [h for h, x in enumerate(rows[d2]) if x]
            if h1 and h2:
                rest = (ctx.nh - 1 - h1[-1]) + h2[0]
                if rest < c.min_resting:
                    yield (
                        1,
                        f"{who} rests {rest} hours between {ctx.when(d1)} and {ctx.when(d2)} (min {c.min_resting})",
                    )


def _two_ordered_if_same_day(ctx: _Ctx, c: m.TwoActivitiesOrderedIfSameDay) -> Found:
    if c.first in ctx.placed and c.second in ctx.placed:
        p1, p2 = ctx.placed[c.first], ctx.placed[c.second]
        if p1.day == p2.day and p1.hour + ctx.active[c.first].duration > p2.hour:
            yield (
                1,
                f"{ctx.act(c.second)} is not after {ctx.act(c.first)} on {ctx.when(p1.day)}",
                (c.first, c.second),
            )


def _occupy_max_slots(ctx: _Ctx, c: m.ActivitiesOccupyMaxTimeSlotsFromSelection) -> Found:
    selected = set(c.times)
    used = {t for aid in ctx.ids(c.activity_ids) for t in ctx.hours_of(aid) if t in selected}
    if len(used) > c.max_occupied:
        yield (
            len(used) - c.max_occupied,
            f"activities occupy {len(used)} of the selected slots (max {c.max_occupied})",
        )


def _max_simultaneous(ctx: _Ctx, c: m.ActivitiesMaxSimultaneousInSelectedTimeSlots) -> Found:
    count: dict[tuple[int, int], int] = defaultdict(int)
    for aid in ctx.ids(c.activity_ids):
        for t in ctx.hours_of(aid):
            count[t] += 1
    for t in c.times:
        if count[t] > c.max_simultaneous:
            yield (
                count[t] - c.max_simultaneous,
                (f"{count[t]} of the activities at {ctx.when(*t)} (max {c.max_simultaneous})"),
            )


def _min_simultaneous(ctx: _Ctx, c: m.ActivitiesMinSimultaneousInSelectedTimeSlots) -> Found:
    count: dict[tuple[int, int], int] = defaultdict(int)
    for aid in ctx.ids(c.activity_ids):
        for t in ctx.hours_of(aid):
            count[t] += 1
    for t in c.times:
        n = count[t]
        if n < c.min_simultaneous and not (n == 0 and c.allow_empty_slots):
            yield (
                c.min_simultaneous - n,
                f"{n} of the activities at {ctx.when(*t)} (min {c.min_simultaneous})",
            )


def _ordered_tags_gaps(ctx: _Ctx, c: m._OrderedTagsGaps) -> Found:
    for who, _rows, aids in _who(ctx, c):
        by_day: dict[int, list[int]] = defaultdict(list)
        for aid in aids:
            by_day[ctx.placed[aid].day].append(aid)
        for d, day_aids in sorted(by_day.items()):
            firsts = [a for a in day_aids if c.first_tag in ctx.active[a].tags]
            seconds = [b for b in day_aids if c.second_tag in ctx.active[b].tags]
            for a in firsts:
                end = ctx.placed[a].hour + ctx.active[a].duration
                for b in seconds:
                    if b == a or ctx.placed[b].hour < end:
                        continue
                    gap = ctx.placed[b].hour - end
                    if gap < c.min_gaps:
                        yield (
                            1,
                            (
                                f"{who}: {ctx.act(b)} follows {ctx.act(a)} on {ctx.when(d)} after {gap} free hours "
                                f"(min {c.min_gaps})"
                            ),
                            (a, b),
                        )


def _building_changes_day(ctx: _Ctx, c: Any) -> Found:
    for who, _rows, aids in _who(ctx, c):
        for d in range(ctx.nd):
            n = len(ctx.building_changes(aids, d))
            if n > c.max_changes:
                yield (
                    n - c.max_changes,
                    f"{who} changes building {n} times on {ctx.when(d)} (max {c.max_changes})",
                )


def _building_changes_week(ctx: _Ctx, c: Any) -> Found:
    for who, _rows, aids in _who(ctx, c):
        n = sum(len(ctx.building_changes(aids, d)) for d in range(ctx.nd))
        if n > c.max_changes:
            yield n - c.max_changes, f"{who} changes building {n} times in the week (max {c.max_changes})"


def _building_gaps(ctx: _Ctx, c: Any) -> Found:
    for who, _rows, aids in _who(ctx, c):
        for d in range(ctx.nd):
            for gap, _one in ctx.building_changes(aids, d):
                if gap < c.min_gaps:
                    yield (
                        1,
                        f"{who} changes building with {gap} free hours on {ctx.when(d)} (min {c.min_gaps})",
                    )


def _people(ctx: _Ctx, c: Any) -> Iterator[tuple[str, str, list[list[int]]]]:
    """For a teacher(s) or students(-set) constraint: (who has hours, who has days, busy rows) per person or
    subgroup, worded for the messages ("teacher 李 teaches" / "students 7a have")."""
    if hasattr(c, "teacher"):
        for t in ctx.teachers(c.teacher):
            yield f"teacher {t} teaches", f"teacher {t} works", ctx.teacher_busy[t]
    else:
        for s in ctx.subgroups(c.students):
            yield f"students {s} have", f"students {s} have lessons", ctx.sub_busy[s]


def _max_hours(ctx: _Ctx, c: Any) -> Found:
    """Teacher(s)/Students(Set)MaxHoursDaily: one unit per day over the limit."""
    for has, _works, busy in _people(ctx, c):
        for d, row in enumerate(busy):
            n = ctx.day_hours(row)
            if n > c.max_hours:
                yield 1, f"{has} {n} hours on {ctx.when(d)} (max {c.max_hours})"


def _min_hours(ctx: _Ctx, c: Any) -> Found:
    """Teacher(s)/Students(Set)MinHoursDaily: one unit per (non-empty, unless not allowed) day under it."""
    for has, _works, busy in _people(ctx, c):
        for d, row in enumerate(busy):
            n = ctx.day_hours(row)
            if (n > 0 or not c.allow_empty_days) and n < c.min_hours:
                yield 1, f"{has} {n} hours on {ctx.when(d)} (min {c.min_hours})"


def _continuous(ctx: _Ctx, c: Any) -> Found:
    """Teacher(s)/Students(Set)MaxHoursContinuously: one unit per run of lessons over the limit."""
    for has, _works, busy in _people(ctx, c):
        for d, row in enumerate(busy):
            for run in ctx.runs(row):
                if run > c.max_hours:
                    yield 1, f"{has} {run} hours in a row on {ctx.when(d)} (max {c.max_hours})"


def _interval(ctx: _Ctx, c: Any) -> Found:
    """Teacher(s)/Students(Set)IntervalMaxDaysPerWeek: one unit per day over the limit."""
    for _has, works, busy in _people(ctx, c):
        n = sum(1 for row in busy if any(row[c.start_hour : c.end_hour]))
        if n > c.max_days:
            yield n - c.max_days, f"{works} in the interval on {n} days (max {c.max_days})"


_Checker = Callable[[_Ctx, Any], Found]

CHECKERS: dict[type[Constraint], _Checker] = {
    m.BasicCompulsoryTime: _basic_time,
    m.BasicCompulsorySpace: _basic_space,
    m.BreakTimes: _break_times,
    m.TeacherNotAvailableTimes: _teacher_na,
    m.StudentsSetNotAvailableTimes: _students_na,
    m.RoomNotAvailableTimes: _room_na,
    m.ActivityPreferredStartingTime: _act_start,
    m.ActivityPreferredStartingTimes: _act_starts,
    m.ActivityPreferredTimeSlots: _act_slots,
    m.ActivityEndsStudentsDay: _act_ends,
    m.ActivitiesPreferredStartingTimes: _acts_starts,
    m.ActivitiesPreferredTimeSlots: _acts_slots,
    m.SubactivitiesPreferredStartingTimes: _acts_starts,
    m.SubactivitiesPreferredTimeSlots: _acts_slots,
    m.ActivitiesEndStudentsDay: _acts_ends,
    m.MinDaysBetweenActivities: _min_days,
    m.MaxDaysBetweenActivities: _max_days_between,
    m.MinGapsBetweenActivities: _min_gaps_between,
    m.ActivitiesSameStartingTime: _same_time,
    m.ActivitiesSameStartingDay: _same_day,
    m.ActivitiesSameStartingHour: _same_hour,
    m.ActivitiesNotOverlapping: _not_overlapping,
    m.TwoActivitiesConsecutive: _two_consecutive,
    m.TwoActivitiesGrouped: _two_grouped,
    m.TwoActivitiesOrdered: _two_ordered,
    m.ThreeActivitiesGrouped: _three_grouped,
    m.TeacherMaxDaysPerWeek: _teacher_max_days,
    m.TeachersMaxDaysPerWeek: _teacher_max_days,
    m.TeacherMinDaysPerWeek: _teacher_min_days,
    m.TeachersMinDaysPerWeek: _teacher_min_days,
    m.TeacherMaxGapsPerWeek: _teacher_gaps_week,
    m.TeachersMaxGapsPerWeek: _teacher_gaps_week,
    m.TeacherMaxGapsPerDay: _teacher_gaps_day,
    m.TeachersMaxGapsPerDay: _teacher_gaps_day,
    m.TeacherMaxHoursDaily: _max_hours,
    m.TeachersMaxHoursDaily: _max_hours,
    m.TeacherMinHoursDaily: _min_hours,
    m.TeachersMinHoursDaily: _min_hours,
    m.TeacherMaxHoursContinuously: _continuous,
    m.TeachersMaxHoursContinuously: _continuous,
    m.TeacherIntervalMaxDaysPerWeek: _interval,
    m.TeachersIntervalMaxDaysPerWeek: _interval,
    m.StudentsMaxGapsPerWeek: _students_gaps_week,
    m.StudentsSetMaxGapsPerWeek: _students_gaps_week,
    m.StudentsMaxGapsPerDay: _students_gaps_day,
    m.StudentsSetMaxGapsPerDay: _students_gaps_day,
    m.StudentsEarlyMaxBeginningsAtSecondHour: _students_early,
    m.StudentsSetEarlyMaxBeginningsAtSecondHour: _students_early,
    m.StudentsMaxHoursDaily: _max_hours,
    m.StudentsSetMaxHoursDaily: _max_hours,
    m.StudentsMinHoursDaily: _min_hours,
    m.StudentsSetMinHoursDaily: _min_hours,
    m.StudentsMaxHoursContinuously: _continuous,
    m.StudentsSetMaxHoursContinuously: _continuous,
    m.StudentsIntervalMaxDaysPerWeek: _interval,
    m.StudentsSetIntervalMaxDaysPerWeek: _interval,
    m.ActivityPreferredRoom: _act_room,
    m.ActivityPreferredRooms: _act_rooms,
    m.SubjectPreferredRoom: _rooms_pref,
    m.SubjectPreferredRooms: _rooms_pref,
    m.ActivityTagPreferredRoom: _rooms_pref,
    m.ActivityTagPreferredRooms: _rooms_pref,
    m.SubjectActivityTagPreferredRoom: _rooms_pref,
    m.SubjectActivityTagPreferredRooms: _rooms_pref,
    m.TeacherHomeRoom: _rooms_pref,
    m.TeacherHomeRooms: _rooms_pref,
    m.StudentsSetHomeRoom: _rooms_pref,
    m.StudentsSetHomeRooms: _rooms_pref,
    m.ActivitiesSameRoomIfConsecutive: _same_room_if_consecutive,
    m.ActivitiesOccupyMaxDifferentRooms: _max_different_rooms,
    m.TeacherActivityTagMaxHoursDaily: _tag_max_daily,
    m.TeachersActivityTagMaxHoursDaily: _tag_max_daily,
    m.StudentsActivityTagMaxHoursDaily: _tag_max_daily,
    m.StudentsSetActivityTagMaxHoursDaily: _tag_max_daily,
    m.TeacherActivityTagMaxHoursContinuously: _tag_continuous,
    m.TeachersActivityTagMaxHoursContinuously: _tag_continuous,
    m.StudentsActivityTagMaxHoursContinuously: _tag_continuous,
    m.StudentsSetActivityTagMaxHoursContinuously: _tag_continuous,
    m.TeacherMaxSpanPerDay: _max_span,
    m.TeachersMaxSpanPerDay: _max_span,
    m.StudentsMaxSpanPerDay: _max_span,
    m.StudentsSetMaxSpanPerDay: _max_span,
    m.TeacherMinRestingHours: _min_resting,
    m.TeachersMinRestingHours: _min_resting,
    m.StudentsMinRestingHours: _min_resting,
    m.StudentsSetMinRestingHours: _min_resting,
    m.TwoActivitiesOrderedIfSameDay: _two_ordered_if_same_day,
    m.ActivitiesOccupyMaxTimeSlotsFromSelection: _occupy_max_slots,
    m.ActivitiesMaxSimultaneousInSelectedTimeSlots: _max_simultaneous,
    m.ActivitiesMinSimultaneousInSelectedTimeSlots: _min_simultaneous,
    m.StudentsMinGapsBetweenOrderedPairOfActivityTags: _ordered_tags_gaps,
    m.StudentsSetMinGapsBetweenOrderedPairOfActivityTags: _ordered_tags_gaps,
    m.TeacherMinGapsBetweenOrderedPairOfActivityTags: _ordered_tags_gaps,
    m.TeachersMinGapsBetweenOrderedPairOfActivityTags: _ordered_tags_gaps,
    m.TeacherMaxBuildingChangesPerDay: _building_changes_day,
    m.TeachersMaxBuildingChangesPerDay: _building_changes_day,
    m.StudentsMaxBuildingChangesPerDay: _building_changes_day,
    m.StudentsSetMaxBuildingChangesPerDay: _building_changes_day,
    m.TeacherMaxBuildingChangesPerWeek: _building_changes_week,
    m.TeachersMaxBuildingChangesPerWeek: _building_changes_week,
    m.StudentsMaxBuildingChangesPerWeek: _building_changes_week,
    m.StudentsSetMaxBuildingChangesPerWeek: _building_changes_week,
    m.TeacherMinGapsBetweenBuildingChanges: _building_gaps,
    m.TeachersMinGapsBetweenBuildingChanges: _building_gaps,
    m.StudentsMinGapsBetweenBuildingChanges: _building_gaps,
    m.StudentsSetMinGapsBetweenBuildingChanges: _building_gaps,
}

UNPLACED = "Unplaced"
CONSECUTIVE_IF_SAME_DAY = "MinDaysBetweenActivities(consecutive if same day)"


def _short(tag: str) -> str:
    return tag.removeprefix("Constraint")


def _add(
    rep: Report, c: Constraint, name: str, found: tuple[int, str] | tuple[int, str, tuple[int, ...]]
) -> None:
    count, msg = found[0], found[1]
    ids: tuple[int, ...] = found[2] if len(found) == 3 else ()  # type: ignore[misc]
    if count <= 0:
        return
    if c.is_hard:
        rep.hard.append(Violation(name, True, c.weight_percentage, count, 0.0, msg, c.line, ids))
    else:
        pen = c.weight_percentage / 100.0 * count
        rep.soft.append(Violation(name, False, c.weight_percentage, count, pen, msg, c.line, ids))


def score(instance: Instance, solution: Solution) -> Report:
    """Evaluate ``solution`` against every active, supported constraint of ``instance``."""
    ctx = _Ctx(instance, solution)
    rep = Report(unsupported=instance.unsupported_counts(), n_activities=len(ctx.active))
    for aid in ctx.active:
        if aid not in ctx.placed:
            rep.unplaced.append(aid)
            rep.hard.append(
                Violation(UNPLACED, True, 100.0, 1, 0.0, f"{ctx.act(aid)} is not placed", 0, (aid,))
            )
    for c in instance.constraints:
        if not c.active:
            continue
        checker = CHECKERS.get(type(c))
        if checker is None:  # a model class without a checker: report, never silently skip
            rep.unsupported[c.FET_TAG] = rep.unsupported.get(c.FET_TAG, 0) + 1
            continue
        name = _short(c.FET_TAG)
        for found in checker(ctx, c):
            _add(rep, c, name, found)
        if isinstance(c, m.MinDaysBetweenActivities):
            for count, msg, ids in _min_days_consecutive(ctx, c):
                rep.hard.append(Violation(CONSECUTIVE_IF_SAME_DAY, True, 100.0, count, 0.0, msg, c.line, ids))
    return rep
