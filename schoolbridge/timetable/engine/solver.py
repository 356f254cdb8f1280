"""The CP-SAT timetabling solver.

Pure Python on OR-Tools, no Django. Two layers:

* :class:`Compiled` — the problem in solver terms: slots are ``day * n_hours + hour``, every activity has
  the list of start slots it may take (hard time constraints, breaks and not-available times already
  applied), its teachers, subgroups and candidate rooms, plus the constraints that link activities or
  limit a teacher's or subgroup's day. :func:`compile_instance` builds it from the engine's model.
* :class:`TimetableSolver` — builds one CP-SAT model (a boolean per activity and start slot, at most one
  lesson per teacher / subgroup / room and slot, a boolean per start and room for lessons with several
  candidate rooms, gap limits through started-by / still-to-come indicators, a day as one
  block from the first hour when a subgroup has neither gaps nor late beginnings) and solves it:

  1. a first timetable with every hard constraint except the gap limits, which get a slack; if none
     comes within 40 % of the budget (10 % for large schools), lessons may stay unplaced at a price;
  2. large-neighbourhood search: the lessons of a few teachers / students sets / days (first those
     with a broken limit or an unplaced lesson) are freed, the rest fixed by assumptions, and CP-SAT
     re-places the freed ones minimising (slack + unplaced, soft penalty). The first timetable with
     nothing left to repair is the first complete one (``time_to_first``); the search then lowers the
     soft penalty (FET's weights) until the time limit, :meth:`TimetableSolver.cancel`, or a proof that
     nothing better exists.

  Large schools without per-teacher or per-class day limits (more than ``LARGE`` activities) take another
  road to the first complete timetable: first the recursive swapping of :mod:`.swap` (FET's way: a lesson
  goes where its blockers can be placed again by a chain of moves); then, on what it leaves, the ejection
  search of :mod:`.ejection` (place the most demanding lesson where it displaces least, requeue what it
  displaced), CP-SAT repair on small models (the lessons that stay become busy hours) and the tabu search
  of :mod:`.tabu` (every step the move that leaves the fewest lessons out), in turn; then step 2 on the
  whole model for the soft penalty.

  Progress goes to a callback after every improvement; ``cancel`` keeps the best timetable so far
  (``SolveResult.partial`` when nothing complete was found yet).

Penalties are integers in units of 1/10000 of a FET conflict (weight 95 % → 9500), so that
``penalty / 10000`` is directly comparable with FET's "total soft conflicts".
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ortools.sat.python import cp_model

from . import model as mdl
from .ejection import Ejection, place_weight
from .swap import RecursiveSwap
from .tabu import PartialTabu

SCALE = 10000  # objective units per FET conflict


def weight_units(weight_percentage: float) -> int:
    """FET's conflict contribution of one violation of a constraint with this weight, in solver units."""
    return int(round(weight_percentage * SCALE / 100))


@dataclass
class CAct:
    """One activity in solver terms."""

    id: int
    duration: int
    teachers: tuple[int, ...]
    subgroups: tuple[int, ...]
    starts: list[int]  # allowed start slots (day * n_hours + hour)
    rooms: tuple[int, ...] | None = None  # candidate rooms; None = needs no room
    label: str = ""


@dataclass
class ResLimit:
    """A limit on one teacher's or subgroup's week.

    kind: "teacher" | "subgroup"; what: max_days, interval_max_days (extra = (start_hour, end_hour)),
    max_hours_daily, max_hours_cont, min_hours_daily (extra = allow_empty_days), max_gaps_week,
    max_gaps_day, early (max beginnings at the second hour).
    """

    kind: str
    index: int
    what: str
    value: int
    weight: float = 100.0
    extra: Any = None


@dataclass
class Compiled:
    n_days: int
    n_hours: int
    day_names: list[str]
    hour_names: list[str]
    teacher_names: list[str]
    subgroup_names: list[str]
    room_names: list[str]
    acts: list[CAct]
    teacher_off: list[set[int]] = field(default_factory=list)  # not available (hard) + breaks
    subgroup_off: list[set[int]] = field(default_factory=list)
    room_off: list[set[int]] = field(default_factory=list)
    break_slots: set[int] = field(default_factory=set)
    same_start: list[list[int]] = field(default_factory=list)  # activity indices
    same_day: list[list[int]] = field(default_factory=list)
    same_hour: list[list[int]] = field(default_factory=list)
    not_overlapping: list[list[int]] = field(default_factory=list)
    # (activity indices, min days, consecutive if same day, weight)
    min_days: list[tuple[list[int], int, bool, float]] = field(default_factory=list)
    # (activity index, {start slot: violations counted when the activity starts there}, weight < 100)
    soft_starts: list[tuple[int, dict[int, int], float]] = field(default_factory=list)
    consecutive: list[tuple[int, int]] = field(default_factory=list)  # second right after first
    grouped: list[tuple[int, int]] = field(default_factory=list)  # adjacent, either order
    ordered: list[tuple[int, int]] = field(default_factory=list)  # second after first ends
    ends_day: list[int] = field(default_factory=list)  # last of the day for its subgroups
    min_gaps: list[tuple[list[int], int]] = field(default_factory=list)  # same day: >= n hours between
    max_days_between: list[tuple[list[int], int]] = field(default_factory=list)
    # (kind, index, slots, weight < 100): a soft not-available time, one violation per busy slot
    soft_off: list[tuple[str, int, set[int], float]] = field(default_factory=list)
    limits: list[ResLimit] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # constraint types not modelled (with weight)

    def slot_name(self, slot: int) -> str:
        return f"{self.day_names[slot // self.n_hours]} {self.hour_names[slot % self.n_hours]}"


# --------------------------------------------------------------------------------------------- results


@dataclass
class Progress:
    """What the progress callback receives after every improving timetable (and at phase changes)."""

    elapsed: float
    phase: str  # "first" (looking for a complete timetable) or "improve"
    penalty: float | None  # FET conflicts of the best timetable so far (None before one is known)
    solutions: int
    hard: int | None = None  # hard violations (gap limits) still to repair; 0 once complete


@dataclass
class SolveResult:
    # "optimal", "feasible", "incomplete" (only a timetable with violations: see partial), "infeasible",
    # "unknown" (nothing found in time), "precheck" (the pre-checks found why it cannot work)
    status: str
    assignment: mdl.Solution | None  # activity id -> (day, hour, room)
    penalty: float | None  # our objective, FET conflicts
    time_to_first: float | None
    time_to_best: float | None
    elapsed: float
    problems: list[str] = field(default_factory=list)  # plain-words reasons when it cannot be timetabled
    cancelled: bool = False
    history: list[tuple[float, float | None]] = field(default_factory=list)  # (seconds, penalty)
    unsupported: list[str] = field(default_factory=list)
    partial: mdl.Solution | None = None  # when nothing complete was found: the best timetable so far
    iterations: int = 0

    @property
    def complete(self) -> bool:
        return self.assignment is not None


# ------------------------------------------------------------------------------------------- pre-checks


def gettext_noop(message: str) -> str:
    """Marks an English message for the translation catalogue (the engine itself has no Django)."""
    return message


class Problem(str):
    """A reason, in plain English, why no timetable can exist; ``template`` and ``params`` let the
    application show it in the reader's language (``gettext(p.template) % p.params``)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Problem:
        obj = super().__new__(cls, template % params)
        obj.template = template
        obj.params = params
        return obj


# one template per kind of resource, so that each reads naturally once translated
_TOO_MANY = {
    "teacher": gettext_noop("Teacher %(name)s: %(need)d lessons required, only %(avail)d periods available"),
    "subgroup": gettext_noop(
        "Students %(name)s: %(need)d lessons required, only %(avail)d periods available"
    ),
    "room": gettext_noop("Room %(name)s: %(need)d lessons required, only %(avail)d periods available"),
}
_TOO_MANY_LIMITS = {
    "teacher": gettext_noop(
        "Teacher %(name)s: %(need)d lessons required, only %(avail)d periods available within the limits "
        "of hours per day and days per week"
    ),
    "subgroup": gettext_noop(
        "Students %(name)s: %(need)d lessons required, only %(avail)d periods available within the limits "
        "of hours per day and days per week"
    ),
    "room": gettext_noop(
        "Room %(name)s: %(need)d lessons required, only %(avail)d periods available within the limits "
        "of hours per day and days per week"
    ),
}
_TOO_FEW = {
    "teacher": gettext_noop(
        "Teacher %(name)s: at least %(hours)d hours every day need %(want)d lessons, only %(need)d are required"
    ),
    "subgroup": gettext_noop(
        "Students %(name)s: at least %(hours)d hours every day need %(want)d lessons, only %(need)d are required"
    ),
    "room": gettext_noop(
        "Room %(name)s: at least %(hours)d hours every day need %(want)d lessons, only %(need)d are required"
    ),
}


def precheck(c: Compiled) -> list[str]:
    """Cheap counting checks; each message (a :class:`Problem`) says in plain words why no timetable can
    exist."""
    problems: list[str] = []
    H, D = c.n_hours, c.n_days
    for a in c.acts:
        if not a.starts:
            problems.append(
                Problem(
                    gettext_noop(
                        "Activity %(id)s (%(label)s): no allowed starting time is left (preferred times, "
                        "breaks and not-available times exclude every slot)"
                    ),
                    id=a.id,
                    label=a.label,
                )
            )
        if a.rooms is not None and not a.rooms:
            problems.append(
                Problem(
                    gettext_noop(
                        "Activity %(id)s (%(label)s): no room satisfies its room constraints and capacity"
                    ),
                    id=a.id,
                    label=a.label,
                )
            )

    def count(kind: str, idx: int, name: str, acts: list[CAct], off: set[int]) -> None:
        need = sum(a.duration for a in acts)
        avail = D * H - len(off)
        lims = [lim for lim in c.limits if lim.kind == kind and lim.index == idx and lim.weight >= 100]
        per_day = H
        for lim in lims:
            if lim.what == "max_hours_daily":
                per_day = min(per_day, lim.value)
        days = D
        for lim in lims:
            if lim.what == "max_days":
                days = min(days, lim.value)
        day_avail = sorted((H - sum(1 for h in range(H) if d * H + h in off) for d in range(D)), reverse=True)
        cap = sum(min(per_day, x) for x in day_avail[:days])
        if need > avail:
            problems.append(Problem(_TOO_MANY[kind], name=name, need=need, avail=avail))
        elif need > cap:
            problems.append(Problem(_TOO_MANY_LIMITS[kind], name=name, need=need, avail=cap))
        for lim in lims:
            if lim.what == "min_hours_daily" and not lim.extra and need < lim.value * D:
                problems.append(
                    Problem(_TOO_FEW[kind], name=name, hours=lim.value, want=lim.value * D, need=need)
                )

    by_teacher: list[list[CAct]] = [[] for _ in c.teacher_names]
    by_sub: list[list[CAct]] = [[] for _ in c.subgroup_names]
    by_room: list[list[CAct]] = [[] for _ in c.room_names]
    for a in c.acts:
        for t in a.teachers:
            by_teacher[t].append(a)
        for s in a.subgroups:
            by_sub[s].append(a)
        if a.rooms is not None and len(a.rooms) == 1:
            by_room[a.rooms[0]].append(a)
    for t, acts in enumerate(by_teacher):
        count("teacher", t, c.teacher_names[t], acts, c.teacher_off[t] if c.teacher_off else set())
    for s, acts in enumerate(by_sub):
        if acts:
            count("subgroup", s, c.subgroup_names[s], acts, c.subgroup_off[s] if c.subgroup_off else set())
    for r, acts in enumerate(by_room):
        if acts:
            count("room", r, c.room_names[r], acts, c.room_off[r] if c.room_off else set())
    for group, k, _consec, w in c.min_days:
        if w >= 100 and k >= 1:
            # at most one activity of the group in any window of k consecutive days
            windows = (D + k - 1) // k
            if len(group) > windows:
                ids = ", ".join(str(c.acts[i].id) for i in group)
                problems.append(
                    Problem(
                        gettext_noop(
                            "Activities %(ids)s: %(n)d activities must be at least %(k)d day(s) apart, "
                            "but the week has only %(days)d days"
                        ),
                        ids=ids,
                        n=len(group),
                        k=k,
                        days=D,
                    )
                )
    for group in c.same_start:
        common = set(c.acts[group[0]].starts)
        for i in group[1:]:
            common &= set(c.acts[i].starts)
        if not common:
            ids = ", ".join(str(c.acts[i].id) for i in group)
            problems.append(
                Problem(
                    gettext_noop(
                        "Activities %(ids)s must start together but have no allowed starting time in common"
                    ),
                    ids=ids,
                )
            )
    return problems


# ----------------------------------------------------------------------------------------------- model


class _Model:
    """The CP-SAT model of a Compiled problem."""

    def __init__(self, c: Compiled, relax: bool = True, optional: bool = False) -> None:
        self.c = c
        self.relax = relax
        self.optional = optional
        self.unplaced: list[Any] = []
        # the price of leaving a lesson out grows with its size, so that the repair search makes room for
        # the big blocks (a whole year's five-hour block) first and leaves the small, easily placed ones
        self.unplaced_weight: list[int] = [
            place_weight(a.duration, len(a.teachers) + len(a.subgroups)) for a in c.acts
        ]
        self.slacks: list[Any] = []
        self.slack_owner: list[tuple[str, int]] = []  # the teacher / subgroup each slack belongs to
        # per slack: how to count what it stands for from a solution (see true_slacks), or None
        self.slack_truth: list[tuple[Callable[[Callable[[Any], int]], int], int] | None] = []
        self._owner: tuple[str, int] = ("", -1)
        self.m = cp_model.CpModel()
        self.penalties: list[tuple[int, Any]] = []  # (units, expression/literal)
        H = c.n_hours
        m = self.m
        self.x: list[dict[int, Any]] = []
        self.cover: list[dict[int, list[Any]]] = []
        for i, a in enumerate(c.acts):
            xs = {s: m.new_bool_var(f"x{i}_{s}") for s in a.starts}
            if optional:  # the activity may stay unplaced, at a price (repair mode)
                u = m.new_bool_var(f"u{i}")
                m.add_exactly_one([*xs.values(), u])
                self.unplaced.append(u)
            else:
                m.add_exactly_one(xs.values())
            self.x.append(xs)
            cov: dict[int, list[Any]] = {}
            for s, lit in xs.items():
                for k in range(a.duration):
                    cov.setdefault(s + k, []).append(lit)
            self.cover.append(cov)
        self.onday_cache: dict[tuple[int, int], Any] = {}
        # resources: teachers, subgroups (deduplicated), single-candidate rooms
        self.res_acts: dict[tuple[str, int], list[int]] = {}
        for i, a in enumerate(c.acts):
            for t in a.teachers:
                self.res_acts.setdefault(("teacher", t), []).append(i)
            for s in a.subgroups:
                self.res_acts.setdefault(("subgroup", s), []).append(i)
            if a.rooms is not None and len(a.rooms) == 1:
                self.res_acts.setdefault(("room", a.rooms[0]), []).append(i)
        self.busy_cache: dict[tuple[frozenset[int], int], Any] = {}
        seen: set[frozenset[int]] = set()
        for _key, acts in self.res_acts.items():
            fs = frozenset(acts)
            if fs in seen:
                continue
            seen.add(fs)
            slot_lits = [[lit for i in acts for lit in self.cover[i].get(t, ())] for t in range(c.n_days * H)]
            usable = sum(1 for lits in slot_lits if lits)
            full = sum(c.acts[i].duration for i in acts) >= usable  # every usable slot is taken
            for lits in slot_lits:
                if full and lits and not optional:
                    m.add_exactly_one(lits)
                elif len(lits) > 1:
                    m.add_at_most_one(lits)
        self._rooms()
        self._links()
        self._min_days()
        # "no gaps" and "begin at the first hour" together: each day is a block from the first hour on
        hard0 = {(lim.kind, lim.index, lim.what) for lim in c.limits if lim.weight >= 100 and lim.value == 0}
        self.blocks = {
            (kind, index)
            for kind, index, what in hard0
            if what == "max_gaps_week" and (kind, index, "early") in hard0
        }
        for lim in c.limits:
            self._limit(lim)
        for i, counts, w in c.soft_starts:
            bad = [counts[s] * lit for s, lit in self.x[i].items() if counts.get(s, 0)]
            if bad and w > 0:
                self.penalties.append((weight_units(w), sum(bad)))
        for kind, index, slots, w in c.soft_off:
            lits = self.busy_lits(self.res_acts.get((kind, index), []), slots)
            if lits and w > 0:
                self.penalties.append((weight_units(w), sum(lits)))

    def repair_expr(self) -> Any:
        """What the repair search drives to zero: gap-limit slack plus the weighted unplaced lessons."""
        return sum(self.slacks) + sum(
            w * u for w, u in zip(self.unplaced_weight, self.unplaced, strict=False)
        )

    # helpers
    def onday(self, i: int, d: int) -> Any:
        key = (i, d)
        if key not in self.onday_cache:
            H = self.c.n_hours
            lits = [lit for s, lit in self.x[i].items() if s // H == d]
            self.onday_cache[key] = sum(lits) if lits else 0
        return self.onday_cache[key]

    def busy_lits(self, acts: Iterable[int], slots: int | Iterable[int]) -> list[Any]:
        ts = [slots] if isinstance(slots, int) else list(slots)
        return [lit for i in acts for t in ts for lit in self.cover[i].get(t, ())]

    def busy_var(self, acts: list[int], t: int) -> Any:
        """A boolean equal to "one of these activities occupies slot t" (0 if none can)."""
        key = (frozenset(acts), t)
        if key not in self.busy_cache:
            lits = self.busy_lits(acts, t)
            if not lits:
                self.busy_cache[key] = 0
            elif len(lits) == 1:
                self.busy_cache[key] = lits[0]
            else:
                b = self.m.new_bool_var("")
                self.m.add(sum(lits) == b)
                self.busy_cache[key] = b
        return self.busy_cache[key]

    def _rooms(self) -> None:
        """Lessons with several candidate rooms: a boolean per (start, room); every room holds at most one
        lesson per slot. (Exact, and propagates far better than intervals under a no-overlap.)"""
        c, m, H = self.c, self.m, self.c.n_hours
        multi = [i for i, a in enumerate(c.acts) if a.rooms is not None and len(a.rooms) > 1]
        self.room_choice: dict[int, dict[int, Any]] = {}
        self.room_start: dict[int, dict[tuple[int, int], Any]] = {}  # i -> (start, room) -> literal
        if not multi:
            return
        horizon = c.n_days * H
        occ: dict[tuple[int, int], list[Any]] = {}  # (room, slot) -> literals occupying it
        for i in multi:
            a = c.acts[i]
            assert a.rooms is not None
            by_start: dict[int, list[Any]] = {s: [] for s in self.x[i]}
            zs: dict[int, Any] = {}
            for r in a.rooms:
                off = c.room_off[r] if c.room_off else set()
                ys = []
                for s in self.x[i]:
                    if any(s + k in off for k in range(a.duration)):
                        continue
                    y = m.new_bool_var("")
                    self.room_start.setdefault(i, {})[(s, r)] = y
                    ys.append(y)
                    by_start[s].append(y)
                    for k in range(a.duration):
                        occ.setdefault((r, s + k), []).append(y)
                z = m.new_bool_var(f"z{i}_{r}")
                m.add(z == sum(ys))
                zs[r] = z
            for s, lit in self.x[i].items():
                m.add(lit == sum(by_start[s]))
            self.room_choice[i] = zs
        for r in sorted({r for r, _t in occ}):
            singles = [
                i
                for i, a in enumerate(c.acts)
                if a.rooms is not None and len(a.rooms) == 1 and a.rooms[0] == r
            ]
            for t in range(horizon):
                lits = occ.get((r, t), []) + self.busy_lits(singles, t)
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        # redundant pool capacity: activities whose candidates lie within a set S never exceed |S| per slot
        sets = {frozenset(c.acts[i].rooms or ()) for i in multi}
        for S in sets:
            inside = [
                i for i, a in enumerate(c.acts) if a.rooms is not None and a.rooms and frozenset(a.rooms) <= S
            ]
            for t in range(horizon):
                lits = self.busy_lits(inside, t)
                free = sum(1 for r in S if not (c.room_off and t in c.room_off[r]))
                if len(lits) > free:
                    m.add(sum(lits) <= free)

    def _links(self) -> None:
        c, m, H = self.c, self.m, self.c.n_hours
        for group in c.same_start:
            a0 = group[0]
            for b in group[1:]:
                for s in set(self.x[a0]) | set(self.x[b]):
                    la, lb = self.x[a0].get(s), self.x[b].get(s)
                    if la is None:
                        m.add(lb == 0)
                    elif lb is None:
                        m.add(la == 0)
                    else:
                        m.add(la == lb)
        for group in c.same_day:
            for b in group[1:]:
                for d in range(c.n_days):
                    m.add(self.onday(group[0], d) == self.onday(b, d))
        for group in c.same_hour:
            for b in group[1:]:
                for h in range(H):
                    ea = sum(lit for s, lit in self.x[group[0]].items() if s % H == h)
                    eb = sum(lit for s, lit in self.x[b].items() if s % H == h)
                    m.add(ea == eb)
        for group in c.not_overlapping:
            for t in range(c.n_days * H):
                lits = self.busy_lits(group, t)
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        for a, b in c.consecutive:
            da = c.acts[a].duration
            for s, lit in self.x[a].items():
                nxt = self.x[b].get(s + da) if (s + da) // H == s // H else None
                m.add(lit <= (nxt if nxt is not None else 0))
        for a, b in c.grouped:
            da, db = c.acts[a].duration, c.acts[b].duration
            for s, lit in self.x[a].items():
                nxt = self.x[b].get(s + da) if (s + da) // H == s // H else None
                prv = self.x[b].get(s - db) if s - db >= (s // H) * H else None
                m.add(lit <= sum(v for v in (nxt, prv) if v is not None))
        for a, b in c.ordered:
            da = c.acts[a].duration
            for s, lit in self.x[a].items():
                early = [v for t, v in self.x[b].items() if t < s + da]
                if early:
                    m.add(lit + sum(early) <= 1)
        for a in c.ends_day:
            act = c.acts[a]
            others = sorted(
                {i for sg in act.subgroups for i in self.res_acts.get(("subgroup", sg), []) if i != a}
            )
            for s, lit in self.x[a].items():
                day_end = (s // H + 1) * H
                later = self.busy_lits(others, range(s + act.duration, day_end))
                for v in later:
                    m.add_implication(lit, v.Not())
        for group, gap in c.min_gaps:
            for ai, a in enumerate(group):
                for b in group[ai + 1 :]:
                    da, db = c.acts[a].duration, c.acts[b].duration
                    for s, lit in self.x[a].items():
                        lo, hi = max((s // H) * H, s - db - gap + 1), min((s // H + 1) * H, s + da + gap)
                        near = [v for t, v in self.x[b].items() if lo <= t < hi]
                        if near:
                            m.add(lit + sum(near) <= 1)
        for group, k in c.max_days_between:
            for ai, a in enumerate(group):
                for b in group[ai + 1 :]:
                    for d in range(c.n_days):
                        far = [self.onday(b, e) for e in range(c.n_days) if abs(e - d) > k]
                        if far:
                            m.add(self.onday(a, d) + sum(far) <= 1)

    def _min_days(self) -> None:
        c, m, H, D = self.c, self.m, self.c.n_hours, self.c.n_days
        for group, k, consecutive, w in c.min_days:
            if consecutive and not (w >= 100 and k >= 1):  # hard: never on one day anyway
                for ai, i in enumerate(group):
                    for j in group[ai + 1 :]:
                        di, dj = c.acts[i].duration, c.acts[j].duration
                        for s, lit in self.x[i].items():
                            d = s // H
                            nxt = self.x[j].get(s + di) if (s + di) // H == d else None
                            prv = self.x[j].get(s - dj) if s - dj >= d * H else None
                            adj = [v for v in (nxt, prv) if v is not None]
                            m.add(
                                lit + self.onday(j, d) - 1 <= sum(adj) if adj else lit + self.onday(j, d) <= 1
                            )
            if w >= 100:
                for d0 in range(D - k + 1 if k <= D else 1):
                    days = range(d0, min(D, d0 + k))
                    m.add(sum(self.onday(i, d) for i in group for d in days) <= 1)
                continue
            if w <= 0:
                continue
            units = weight_units(w)
            if k == 1:
                # penalty = pairs on the same day = sum over days of C(count, 2)
                n = len(group)
                for d in range(D):
                    cnt = sum(self.onday(i, d) for i in group)
                    ys = [m.new_bool_var("") for _ in range(n - 1)]
                    for a_, b_ in zip(ys, ys[1:], strict=False):
                        m.add_implication(b_, a_)
                    m.add(cnt - 1 <= sum(ys))
                    for j, y in enumerate(ys, start=1):
                        self.penalties.append((units * j, y))
            else:
                for ai, i in enumerate(group):
                    for j in group[ai + 1 :]:
                        for mm in range(k):  # one unit for each mm >= |day_i - day_j|
                            v = m.new_bool_var("")
                            for d in range(D):
                                near = [self.onday(j, e) for e in range(max(0, d - mm), min(D, d + mm + 1))]
                                m.add(self.onday(i, d) + sum(near) - 1 <= v)
                            self.penalties.append((units, v))

    def _limit(self, lim: ResLimit) -> None:
        c, m, H, D = self.c, self.m, self.c.n_hours, self.c.n_days
        acts = self.res_acts.get((lim.kind, lim.index), [])
        if not acts or lim.weight <= 0:
            return
        self._owner = (lim.kind, lim.index)
        hard = lim.weight >= 100
        units = weight_units(lim.weight)
        offs = c.teacher_off if lim.kind == "teacher" else c.subgroup_off
        off = offs[lim.index] if offs else set()
        if lim.what in ("max_days", "interval_max_days", "min_days"):
            lo, hi = (0, H) if lim.what != "interval_max_days" else lim.extra
            used = []
            caps = []
            groups = [set(g) for g, k, _c, w in c.min_days if w >= 100 and k >= 1 and set(g) <= set(acts)]
            for d in range(D):
                u = m.new_bool_var("")
                lits = [b for h in range(lo, hi) if not isinstance(b := self.busy_var(acts, d * H + h), int)]
                for b in lits:
                    m.add_implication(b, u)
                m.add_bool_or([*lits, u.Not()])
                used.append(u)
                if lim.what == "max_days":
                    # redundant, for the LP: a day's lessons fit in its free hours; the used days hold all
                    cap = min(len(lits), self._daily_cap(lim.kind, lim.index))
                    caps.append(cap)
                    if lits:
                        m.add(sum(lits) <= cap * u)
                    for g in groups:  # a hard min-days group needs one used day per activity
                        m.add(sum(self.onday(i, d) for i in g) <= u)
            if caps and not self.optional:
                m.add(
                    sum(cp * u for cp, u in zip(caps, used, strict=True))
                    >= sum(c.acts[i].duration for i in acts)
                )
            if lim.what == "min_days":
                self._cap(-sum(used), -lim.value, hard, units, relax=self.optional)
            else:
                self._cap(sum(used), lim.value, hard, units)
        elif lim.what == "max_hours_daily":
            for d in range(D):
                self._cap(sum(self.busy_lits(acts, range(d * H, d * H + H))), lim.value, hard, units)
        elif lim.what == "max_hours_cont":
            for d in range(D):
                for h0 in range(H - lim.value):
                    win = range(d * H + h0, d * H + h0 + lim.value + 1)
                    if any(t in off for t in win):
                        continue
                    self._cap(sum(self.busy_lits(acts, win)), lim.value, hard, units)
        elif lim.what == "min_hours_daily":
            for d in range(D):
                total = sum(self.busy_lits(acts, range(d * H, d * H + H)))
                # empty days allowed (extra): the minimum holds on days with lessons
                need = lim.value * self._nonempty(acts, d) if lim.extra else lim.value
                self._cap(need - total, 0, hard, units, relax=self.optional)
        elif lim.what in ("max_gaps_week", "max_gaps_day", "early"):
            self._gaps(acts, off, lim, hard, units)

    def _daily_cap(self, kind: str, index: int) -> int:
        caps = [
            lim.value
            for lim in self.c.limits
            if lim.kind == kind and lim.index == index and lim.what == "max_hours_daily" and lim.weight >= 100
        ]
        return min([self.c.n_hours, *caps])

    def _cap(
        self,
        expr: Any,
        cap: int,
        hard: bool,
        units: int,
        relax: bool = False,
        truth: Callable[[Callable[[Any], int]], int] | None = None,
    ) -> None:
        if hard and relax and self.relax:
            # a hard limit that is expensive to satisfy from scratch: first reached through a slack that
            # the repair phase drives to zero
            v = self.m.new_int_var(0, 1000, "")
            self.m.add(expr <= cap + v)
            self.slacks.append(v)
            self.slack_owner.append(self._owner)
            self.slack_truth.append((truth, cap) if truth is not None else None)
        elif hard:
            self.m.add(expr <= cap)
        else:
            v = self.m.new_bool_var("")
            self.m.add(expr <= cap + 1000 * v)
            self.penalties.append((units, v))

    def _nonempty(self, acts: list[int], d: int) -> Any:
        H = self.c.n_hours
        lits = [b for h in range(H) if not isinstance(b := self.busy_var(acts, d * H + h), int)]
        ne = self.m.new_bool_var("")
        for b in lits:
            self.m.add_implication(b, ne)
        self.m.add_bool_or([*lits, ne.Not()])
        return ne

    def _span(self, acts: list[int], d: int) -> tuple[list[Any], list[Any], list[Any]]:
        """busy, started-by and still-to-come indicators per hour of day d (exact definitions)."""
        key = ("span", frozenset(acts), d)
        cache: dict[Any, Any] = self.__dict__.setdefault("_span_cache", {})
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
        m, H = self.m, self.c.n_hours
        b = [self.busy_var(acts, d * H + h) for h in range(H)]
        s = [m.new_bool_var("") for _ in range(H)]
        e = [m.new_bool_var("") for _ in range(H)]
        for h in range(H):
            prev = s[h - 1] if h else 0
            m.add(s[h] >= b[h])
            if h:
                m.add(s[h] >= prev)
            m.add(s[h] <= prev + b[h])
            nxt = e[h + 1] if h + 1 < H else 0
            m.add(e[h] >= b[h])
            if h + 1 < H:
                m.add(e[h] >= nxt)
            m.add(e[h] <= nxt + b[h])
        cache[key] = (b, s, e)
        return b, s, e

    def _gaps(self, acts: list[int], off: set[int], lim: ResLimit, hard: bool, units: int) -> None:
        m, H, D = self.m, self.c.n_hours, self.c.n_days
        if (lim.kind, lim.index) in self.blocks and lim.what in ("early", "max_gaps_week"):
            if lim.what == "early":
                for d in range(D):
                    avail = [h for h in range(H) if d * H + h not in off]
                    bs = [self.busy_var(acts, d * H + h) for h in avail]
                    for b0, b1 in zip(bs, bs[1:], strict=False):
                        if not isinstance(b1, int):
                            m.add(b1 <= b0)
            return
        if lim.what == "early":
            late = []
            for d in range(D):
                avail = [h for h in range(H) if d * H + h not in off]
                if len(avail) < 2:
                    continue
                b, _s, e = self._span(acts, d)
                f0, f1 = avail[0], avail[1]
                # a day with lessons begins at the first or the second available hour
                m.add(e[f0] <= b[f0] + b[f1])
                if lim.value < D:
                    v = m.new_bool_var("")
                    m.add(v >= e[f0] - b[f0])
                    late.append(v)
            if late and lim.value < len(late):
                self._cap(sum(late), lim.value, hard, units)
            return
        week: list[Any] = []
        week_spans: list[tuple[Any, Any, Any]] = []
        for d in range(D):
            b, s, e = self._span(acts, d)
            day: list[Any] = []
            spans: list[tuple[Any, Any, Any]] = []
            for h in range(H):
                if d * H + h in off:
                    continue
                if lim.value == 0 and hard:
                    m.add(s[h] + e[h] - 1 <= b[h])
                    continue
                g = m.new_bool_var("")
                m.add(g >= s[h] + e[h] - 1 - b[h])
                day.append(g)
                spans.append((s[h], e[h], b[h]))
            if lim.what == "max_gaps_day" and day:
                self._cap(sum(day), lim.value, hard, units, relax=True, truth=_gap_count(spans))
            week.extend(day)
            week_spans.extend(spans)
        if lim.what == "max_gaps_week" and week:
            self._cap(sum(week), lim.value, hard, units, relax=True, truth=_gap_count(week_spans))

    def true_slacks(self, value: Callable[[Any], int]) -> list[int]:
        """Each slack's true size in a solution: how far its limit is exceeded. Only a lower bound ties a
        slack (and a gap indicator) to what it measures, so a search without an objective may leave it
        anywhere above; the true size is counted from the exactly defined busy and span indicators."""
        out = []
        for v, truth in zip(self.slacks, self.slack_truth, strict=True):
            out.append(max(0, truth[0](value) - truth[1]) if truth is not None else int(value(v)))
        return out

    def objective(self) -> Any:
        return sum(u * v for u, v in self.penalties) if self.penalties else 0

    def assignment(self, value: Callable[[Any], int]) -> mdl.Solution:
        c, H = self.c, self.c.n_hours
        out: mdl.Solution = {}
        for i, a in enumerate(c.acts):
            slot = next(s for s, lit in self.x[i].items() if value(lit))
            room: str | None = None
            if a.rooms is not None and len(a.rooms) == 1:
                room = c.room_names[a.rooms[0]]
            elif i in self.room_choice:
                room = c.room_names[next(r for r, z in self.room_choice[i].items() if value(z))]
            out[a.id] = mdl.Placement(slot // H, slot % H, room)
        return out

    def hint(self, assignment: mdl.Solution) -> None:
        c, H = self.c, self.c.n_hours
        self.m.clear_hints()
        index = {name: r for r, name in enumerate(c.room_names)}
        for i, a in enumerate(c.acts):
            d, h, room = assignment[a.id]
            for s, lit in self.x[i].items():
                self.m.add_hint(lit, s == d * H + h)
            self.hint_rooms(i, d * H + h, index.get(room) if room is not None else None)

    def hint_rooms(self, i: int, start: int | None, room: int | None) -> None:
        """Hint activity i's room literals: ``room`` at ``start`` (None: not placed, or no room yet)."""
        for r, z in self.room_choice.get(i, {}).items():
            self.m.add_hint(z, start is not None and r == room)
        for (s, r), y in self.room_start.get(i, {}).items():
            self.m.add_hint(y, s == start and r == room)


# ---------------------------------------------------------------------------------------------- solver


def _gap_count(spans: list[tuple[Any, Any, Any]]) -> Callable[[Callable[[Any], int]], int]:
    """Counts the gaps of (started, still to come, busy) indicators: hours after the first lesson of the day
    and before its last with no lesson."""

    def count(value: Callable[[Any], int]) -> int:
        def val(x: Any) -> int:
            return x if isinstance(x, int) else int(value(x))

        return sum(1 for s, e, b in spans if val(s) and val(e) and not val(b))

    return count


@dataclass
class SolveParams:
    time_limit: float = 60.0
    seed: int = 1
    workers: int = 1
    first_only: bool = False  # stop at the first complete timetable
    # seconds for the first, all-placed attempt before lessons may stay unplaced (None: 40 % of the
    # budget, 10 % for large schools, at least 10 s; 0: start with the repair search right away), tried
    # in slices with successive seeds (FIRST_SLICE)
    first_limit: float | None = None
    log: bool = False  # CP-SAT's own search log on stderr


INFEASIBLE = Problem(gettext_noop("The constraints contradict each other (the solver proved it)"))
BIG = SCALE * 100_000
LARGE = 800  # activities
EJECTION_PATIENCE = 60.0  # seconds without a better state before the ejection search hands over
TABU_PATIENCE = 60.0  # the same for the tabu search
REPAIR_ROUND = 20.0  # seconds of CP-SAT repair before the tabu search takes over
SWAP_PATIENCE = 10.0  # the same for recursive swapping, counted once few lessons are out
SWAP_SHARE = 0.8  # the share of the time limit recursive swapping may take at most
# the first timetable: each seed's try gets this share of the budget, and at least FIRST_SLICE_MIN seconds
FIRST_SLICE = 0.15
FIRST_SLICE_MIN = 10.0
SUBSOLVERS = (
    "no_lp",
    "quick_restart_no_lp",
    "default_lp",
    "quick_restart",
    "pseudo_costs",
)  # one remaining hard violation outweighs any soft penalty


class _StopFirst(cp_model.CpSolverSolutionCallback):
    def on_solution_callback(self) -> None:
        self.stop_search()


class TimetableSolver:
    """Solve a Compiled problem; thread-safe :meth:`cancel`; ``on_progress`` gets :class:`Progress`.

    1. A first timetable that satisfies every hard constraint except the gap limits (those get a slack).
    2. Large-neighbourhood search: free the activities of a few teachers / students / days, keep the rest
       where they are, let CP-SAT re-place the freed ones minimising (remaining slack, soft penalty).
       The first timetable with zero slack is the first complete one; the search goes on lowering the
       soft penalty until the time limit, :meth:`cancel`, or a proof that nothing better exists.
    """

    def __init__(
        self,
        problem: Compiled,
        params: SolveParams | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.c = problem
        self.params = params or SolveParams()
        self.on_progress = on_progress
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self._t0 = 0.0
        self.best: mdl.Solution | None = None
        self.best_penalty: float | None = None
        self.partial: mdl.Solution | None = None  # best timetable still breaking a gap limit
        self.time_to_first: float | None = None
        self.time_to_best: float | None = None
        self.history: list[tuple[float, float | None]] = []
        self.solutions = 0
        self.iterations = 0
        self._violated: list[tuple[str, int]] = []

    def cancel(self) -> None:
        """Stop as soon as possible; :meth:`solve` returns the best timetable found so far."""
        self._cancel.set()
        with self._lock:
            if self._solver is not None:
                self._solver.stop_search()

    def _elapsed(self) -> float:
        return time.monotonic() - self._t0

    def _left(self) -> float:
        return self.params.time_limit - self._elapsed()

    def _new_solver(
        self, limit: float, seed: int, first: bool, sat_search: bool = False
    ) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.max_time_in_seconds = max(0.05, limit)
        p.random_seed = seed
        p.num_workers = max(1, self.params.workers)
        p.log_search_progress = self.params.log
        # the LP-free searches with little linearisation are far quicker on timetables than CP-SAT's default
        # portfolio (which spends the first threads on LP-based search)
        for name in SUBSOLVERS[: p.num_workers]:
            p.subsolvers.append(name)
        if p.num_workers <= 2:
            p.linearization_level = 0
        if sat_search:
            p.search_branching = cp_model.FIXED_SEARCH
        if not first and len(self.c.acts) > LARGE:
            # neighbourhood solves on large schools: most lessons are fixed by assumptions, which presolve
            # cannot use; the full presolve would cost more than the search itself
            p.cp_model_presolve = False
        elif len(self.c.acts) > LARGE:
            # large schools: CP-SAT's full presolve alone takes tens of seconds; a light one is enough
            p.max_presolve_iterations = 1
            p.symmetry_level = 0
            p.cp_model_probing_level = 0
        return solver

    def _run(self, model: _Model, solver: cp_model.CpSolver, cb: Any = None) -> Any:
        with self._lock:
            if self._cancel.is_set():
                return cp_model.UNKNOWN
            self._solver = solver
        status = solver.solve(model.m, cb)
        with self._lock:
            self._solver = None
        return status

    def _report(self, phase: str, penalty: float | None, hard: int | None = None) -> None:
        if self.on_progress:
            self.on_progress(Progress(self._elapsed(), phase, penalty, self.solutions, hard=hard))

    def solve(self) -> SolveResult:
        self._t0 = time.monotonic()
        c = self.c
        problems = precheck(c)
        if problems:
            return self._result("precheck", problems)
        self._report("first", None)
        if len(c.acts) > LARGE and self._reducible() and self.params.first_limit is None:
            return self._result(self._solve_large())
        # 1. any timetable (gap limits relaxed); if that takes too long, every activity may stay unplaced at
        #    a price and the search below places them
        first_cap = self.params.first_limit
        if first_cap is None:  # large schools go to the repair search sooner
            first_cap = max(10.0, (0.1 if len(c.acts) > LARGE else 0.4) * self.params.time_limit)
        model = _Model(c)
        solver, status = self._first(model, first_cap)
        if status == cp_model.INFEASIBLE:
            return self._result("infeasible", [INFEASIBLE])
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if self._left() < 1 or self._cancel.is_set():
                return self._result("unknown")
            model = _Model(c, optional=True)
            model.m.minimize(model.repair_expr())
            for u in model.unplaced:  # nothing placed is a timetable too: start from there
                model.m.add_hint(u, True)
            limit = min(self._left(), max(5.0, 0.05 * self.params.time_limit))
            solver = self._new_solver(limit, self.params.seed, first=False)
            status = self._run(model, solver)
            if status == cp_model.INFEASIBLE:
                return self._result("infeasible", [INFEASIBLE])
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                # not even that in time: the neighbourhood search places the lessons from scratch
                n = len(c.acts)
                model.m.clear_hints()
                self.solutions = 0
                self._violated = []
                slack_expr = model.repair_expr()
                pen_expr = model.objective()
                model.m.minimize(BIG * slack_expr + pen_expr)
                status_name = self._lns(model, [None] * n, {}, n, 0, slack_expr, pen_expr)
                return self._result(status_name)
        cur, rooms = self._read(model, solver)
        slack_expr = model.repair_expr()
        pen_expr = model.objective()
        slack = self._slack(model, solver)
        pen = int(solver.value(pen_expr)) if model.penalties else 0
        self.solutions = 1
        self._violated = self._owners(model, solver)
        self._accept(model, cur, rooms, slack, pen)
        if slack == 0 and (not model.penalties or self.params.first_only):
            return self._result("feasible")
        model.m.minimize(BIG * slack_expr + pen_expr)
        # 2. large-neighbourhood search
        status_name = self._lns(model, cur, rooms, slack, pen, slack_expr, pen_expr)
        return self._result(status_name)

    def _first(self, model: _Model, cap: float) -> tuple[cp_model.CpSolver, Any]:
        """The first, all-placed attempt: CP-SAT until its first solution, at most ``cap`` seconds. The
        time to a first solution varies a lot with the seed (on one school 22 s for one seed, over 120 s for
        another), so the attempt runs in slices of ``FIRST_SLICE`` of the budget, each with the next seed.

        The first slice runs CP-SAT's default search: when it finds a timetable, that one has kept the gap
        limits already (on ss1 it was the first complete one). The later slices run the fixed search with
        no strategy given, which leaves the decisions to the SAT solver's own heuristic: a timetable far
        more often (Ancona, one worker: within 60 s for 7 seeds out of 10, against 3 out of 6), but one
        whose broken gap limits the search below must mend (on ss1 for 35-210 s)."""
        slice_ = max(FIRST_SLICE_MIN, FIRST_SLICE * self.params.time_limit)
        end = self._elapsed() + cap
        k = 0
        while True:
            left = min(self._left(), end - self._elapsed())
            if k and left < 0.05:
                break
            # the last slice takes all that is left rather than leave a sliver
            this = left if left - slice_ < FIRST_SLICE_MIN else slice_
            solver = self._new_solver(this, self.params.seed + k, first=True, sat_search=k > 0)
            status = self._run(model, solver, _StopFirst()) if cap > 0 else cp_model.UNKNOWN
            k += 1
            if status != cp_model.UNKNOWN or cap <= 0 or self._cancel.is_set():
                break
        return solver, status

    def _solve_large(self) -> str:
        """Large schools without per-day limits: recursive swapping (:mod:`.swap`) places the lessons; the
        ejection search (:mod:`.ejection`), the CP-SAT repair on small models (:meth:`_repair`) and the tabu
        search (:mod:`.tabu`) place what it leaves; then the soft penalty goes down by the neighbourhood
        search on the whole model."""
        c = self.c
        n = len(c.acts)
        cur: list[int | None] = [None] * n
        rooms: dict[int, int] = {}
        # recursive swapping until it stalls with few lessons out (or has had its share of the time); then in
        # turn until every lesson is placed or the time is up: the ejection search until it stalls; CP-SAT
        # repair on small models (whole weeks of the students sets of an unplaced lesson, the days around
        # it) for a while; the tabu search until it stalls too
        end = self.params.time_limit
        left = 1

        def over() -> bool:
            return not left or self._left() <= 0.05 or self._cancel.is_set()

        def search(
            kind: type[Ejection] | type[PartialTabu] | type[RecursiveSwap],
            patience: float,
            rnd: int,
            until: float,
        ) -> int:
            kind(c, cur, rooms, self.params.seed + rnd).run(
                self._t0 + until,
                self._cancel.is_set,
                lambda k: self._report("first", None, hard=k),
                patience=patience,
            )
            out = sum(1 for x in cur if x is None)
            self._report("first", None, hard=out)
            return out

        left = search(RecursiveSwap, SWAP_PATIENCE, 0, min(end, self._elapsed() + SWAP_SHARE * end))
        for rnd in range(1_000_000):
            if over():
                break
            left = search(Ejection, EJECTION_PATIENCE, rnd, end)
            if over():
                break
            left, rooms = self._repair(cur, rooms, min(end, self._elapsed() + REPAIR_ROUND))
            if over():
                break
            left = search(PartialTabu, TABU_PATIENCE, rnd, end)
        if left:
            self.partial = self._assignment(cur, rooms)
            return "feasible"  # reported as incomplete: nothing complete yet
        model = _Model(c, optional=True)
        slack_expr = model.repair_expr()
        pen_expr = model.objective()
        model.m.minimize(BIG * slack_expr + pen_expr)
        fixed = [model.x[i][s] for i, s in enumerate(cur) if s is not None]
        fixed += [model.room_choice[i][r] for i, r in rooms.items() if i in model.room_choice]
        model.m.add_assumptions(fixed)
        solver = self._new_solver(max(1.0, min(self._left(), 60.0)), self.params.seed, first=False)
        status = self._run(model, solver)
        model.m.clear_assumptions()
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # the model refuses it: not complete
            self.partial = self._assignment(cur, rooms)
            return "feasible"
        pen = int(solver.value(pen_expr)) if model.penalties else 0
        self.solutions += 1
        self._accept(model, cur, rooms, 0, pen)
        if not model.penalties or self.params.first_only or self._left() <= 0.05:
            return "feasible"
        return self._lns(model, cur, rooms, 0, pen, slack_expr, pen_expr)

    def _read(self, model: _Model, solver: cp_model.CpSolver) -> tuple[list[int | None], dict[int, int]]:
        cur: list[int | None] = [
            next((s for s, lit in xs.items() if solver.boolean_value(lit)), None) for xs in model.x
        ]
        rooms = {}
        for i, zs in model.room_choice.items():
            r = next((r for r, z in zs.items() if solver.boolean_value(z)), None)
            if r is not None:
                rooms[i] = r
        return cur, rooms

    def _slack(self, model: _Model, solver: cp_model.CpSolver) -> int:
        """What the repair search must still mend in a solution: the gap limits' true excess plus the
        weighted unplaced lessons."""
        slack = sum(model.true_slacks(solver.value))
        return slack + sum(
            w * solver.value(u) for w, u in zip(model.unplaced_weight, model.unplaced, strict=False)
        )

    def _owners(self, model: _Model, solver: cp_model.CpSolver) -> list[tuple[str, int]]:
        """Teachers / students sets whose gap limits are still broken, and those of unplaced lessons."""
        slacks = model.true_slacks(solver.value)
        out = [o for o, v in zip(model.slack_owner, slacks, strict=True) if v]
        for i, u in enumerate(model.unplaced):
            if solver.boolean_value(u):
                a = self.c.acts[i]
                out += [("teacher", t) for t in a.teachers] + [("subgroup", sg) for sg in a.subgroups]
        return out

    def _accept(
        self, model: _Model, cur: list[int | None], rooms: dict[int, int], slack: int, pen: int
    ) -> None:
        assignment = self._assignment(cur, rooms)
        now = self._elapsed()
        if slack:
            self.partial = assignment
            self._report("first", None, hard=slack)
            return
        if self.time_to_first is None:
            self.time_to_first = now
        if self.best is None or self.best_penalty is None or pen / SCALE < self.best_penalty - 1e-9:
            self.best, self.best_penalty, self.time_to_best = assignment, pen / SCALE, now
            self.history.append((now, pen / SCALE))
            self._report("improve", pen / SCALE, hard=0)

    def _assignment(self, cur: list[int | None], rooms: dict[int, int]) -> mdl.Solution:
        c, H = self.c, self.c.n_hours
        out: mdl.Solution = {}
        for i, a in enumerate(c.acts):
            slot = cur[i]
            if slot is None:
                continue
            room: str | None = None
            if a.rooms is not None and len(a.rooms) == 1:
                room = c.room_names[a.rooms[0]]
            elif i in rooms:
                room = c.room_names[rooms[i]]
            out[a.id] = mdl.Placement(slot // H, slot % H, room)
        return out

    def _neighbourhood(self, rng: random.Random, model: _Model, cur: list[int | None], size: int) -> set[int]:
        c, H = self.c, self.c.n_hours
        n = len(c.acts)
        free: set[int] = set()
        unplaced = [i for i in range(n) if cur[i] is None]
        if unplaced and rng.random() < 0.5:
            return self._blockers(rng, model, cur, unplaced, size)
        if unplaced:
            free.update(rng.sample(unplaced, min(len(unplaced), max(1, size // 3))))
        keys = list(model.res_acts)
        kind = rng.random()
        if self._violated and rng.random() < 0.7:
            owner = rng.choice(self._violated)
            free.update(model.res_acts.get(owner, []))
            # and the teachers those lessons share, so that lessons can swap
            for i in list(free):
                for t in c.acts[i].teachers:
                    if rng.random() < 0.5:
                        free.update(model.res_acts.get(("teacher", t), []))
        while len(free) < size:
            if kind < 0.6 and keys:  # whole teachers / students sets
                free.update(model.res_acts[keys[rng.randrange(len(keys))]])
            elif kind < 0.85:  # everything on one day (then another)
                d = rng.randrange(c.n_days)
                free.update(i for i in range(n) if (slot := cur[i]) is not None and slot // H == d)
                kind = rng.random()  # then another day, a teacher, or random lessons
            else:  # a random set
                free.add(rng.randrange(n))
        # linked activities move together
        for group in (*c.same_start, *c.same_day, *c.same_hour):
            if free.intersection(group):
                free.update(group)
        return free

    def _students_week(self, rng: random.Random, model: _Model, unplaced: list[int]) -> set[int]:
        """An unplaced lesson and the whole week of every students set it has (a lesson for a whole year
        needs the same hour free in each of the year's groups), sometimes with the week of its teachers."""
        c = self.c
        i = rng.choices(unplaced, weights=[model.unplaced_weight[j] for j in unplaced])[0]
        a = c.acts[i]
        free = {i}
        for g in a.subgroups:
            free.update(model.res_acts.get(("subgroup", g), ()))
        for t in a.teachers:
            if rng.random() < 0.5:
                free.update(model.res_acts.get(("teacher", t), ()))
        for group in (*c.same_start, *c.same_day, *c.same_hour):
            if free.intersection(group):
                free.update(group)
        return free

    def _blockers(
        self, rng: random.Random, model: _Model, cur: list[int | None], unplaced: list[int], size: int
    ) -> set[int]:
        """An ejection neighbourhood: a few unplaced lessons, each with a day it could go on, and every
        lesson that its teachers, students and room have on that day; then the lessons the same teachers
        have on that day, so that the day can be reshuffled around the newcomer."""
        c, H = self.c, self.c.n_hours
        free: set[int] = set()
        # the biggest unplaced lessons first: they are the hardest to fit in later
        weights = [model.unplaced_weight[i] for i in unplaced]
        tries = 0
        while len(free) < size and tries < 8:
            tries += 1
            i = rng.choices(unplaced, weights=weights)[0]
            a = c.acts[i]
            if not a.starts:
                continue
            d = rng.choice(a.starts) // H
            keys = [("teacher", t) for t in a.teachers] + [("subgroup", g) for g in a.subgroups]
            if a.rooms is not None and len(a.rooms) == 1:
                keys.append(("room", a.rooms[0]))
            day: set[int] = {i}
            for key in keys:
                day.update(
                    j for j in model.res_acts.get(key, ()) if (sl := cur[j]) is not None and sl // H == d
                )
            for j in list(day):
                for t in c.acts[j].teachers:
                    if rng.random() < 0.5:
                        day.update(
                            k
                            for k in model.res_acts.get(("teacher", t), ())
                            if (sl := cur[k]) is not None and sl // H == d
                        )
            free |= day
        for group in (*c.same_start, *c.same_day, *c.same_hour):
            if free.intersection(group):
                free.update(group)
        return free

    def _reducible(self) -> bool:
        """Whether lessons that stay where they are can leave the repair model, their hours simply taken
        from their teachers, students and rooms: true unless a per-teacher/students limit or an
        end-of-day rule looks at a whole day."""
        return not self.c.limits and not self.c.ends_day

    def _reduced(
        self, cur: list[int | None], rooms: dict[int, int], free: set[int]
    ) -> tuple[Compiled, list[int], list[int]]:
        """The repair problem of one neighbourhood: the freed lessons with every start left open by the
        lessons that stay; the staying lessons linked to a freed one (same start, min days, …) are pinned
        where they are. Returns the small problem, its activities' indices in the whole, and the pinned."""
        c = self.c
        groups: list[list[int]] = [
            *c.same_start,
            *c.same_day,
            *c.same_hour,
            *c.not_overlapping,
            *(g for g, *_ in c.min_days),
            *(g for g, _ in c.min_gaps),
            *(g for g, _ in c.max_days_between),
            *([a, b] for a, b in (*c.consecutive, *c.grouped, *c.ordered)),
        ]
        keep = set(free)
        linked = [g for g in groups if keep.intersection(g)]
        pinned = sorted({i for g in linked for i in g if i not in free and cur[i] is not None})
        keep.update(pinned)
        t_off = [set(x) for x in c.teacher_off] if c.teacher_off else [set() for _ in c.teacher_names]
        g_off = [set(x) for x in c.subgroup_off] if c.subgroup_off else [set() for _ in c.subgroup_names]
        r_off = [set(x) for x in c.room_off] if c.room_off else [set() for _ in c.room_names]
        for i, a in enumerate(c.acts):
            s0 = cur[i]
            if i in keep or s0 is None:
                continue
            span = range(s0, s0 + a.duration)
            for t in a.teachers:
                t_off[t].update(span)
            for g in a.subgroups:
                g_off[g].update(span)
            r = (
                rooms.get(i)
                if i in rooms
                else (a.rooms[0] if a.rooms is not None and len(a.rooms) == 1 else None)
            )
            if r is not None:
                r_off[r].update(span)
        order = sorted(keep)
        new = {old: k for k, old in enumerate(order)}
        acts: list[CAct] = []
        pinned_set = set(pinned)
        for i in order:
            a = c.acts[i]
            if i in pinned_set:
                r = rooms.get(i)
                acts.append(replace(a, starts=[cur[i]], rooms=(r,) if r is not None else a.rooms))  # type: ignore[list-item]
                continue
            busy = [t_off[t] for t in a.teachers] + [g_off[g] for g in a.subgroups]
            if a.rooms is not None and len(a.rooms) == 1:
                busy.append(r_off[a.rooms[0]])
            starts = [st for st in a.starts if not any(st + k in b for b in busy for k in range(a.duration))]
            acts.append(replace(a, starts=starts))

        def sub(g: Iterable[int]) -> list[int]:
            return [new[i] for i in g if i in new]

        def inside(g: Iterable[int]) -> bool:
            return bool(free.intersection(g)) and all(i in new or cur[i] is None for i in g)

        small = replace(
            c,
            acts=acts,
            teacher_off=t_off,
            subgroup_off=g_off,
            room_off=r_off,
            same_start=[sub(g) for g in c.same_start if inside(g)],
            same_day=[sub(g) for g in c.same_day if inside(g)],
            same_hour=[sub(g) for g in c.same_hour if inside(g)],
            not_overlapping=[sub(g) for g in c.not_overlapping if inside(g)],
            min_days=[(sub(g), k, cons, w) for g, k, cons, w in c.min_days if w >= 100 and inside(g)],
            soft_starts=[],
            consecutive=[(new[a], new[b]) for a, b in c.consecutive if a in new and b in new],
            grouped=[(new[a], new[b]) for a, b in c.grouped if a in new and b in new],
            ordered=[(new[a], new[b]) for a, b in c.ordered if a in new and b in new],
            ends_day=[],
            min_gaps=[(sub(g), n) for g, n in c.min_gaps if inside(g)],
            max_days_between=[(sub(g), n) for g, n in c.max_days_between if inside(g)],
            soft_off=[],
            limits=[],
        )
        return small, order, pinned

    def _repair(
        self, cur: list[int | None], rooms: dict[int, int], budget_end: float
    ) -> tuple[int, dict[int, int]]:
        """Large-neighbourhood repair on small models (see :meth:`_reduced`) until every lesson is placed,
        the time is up or the search is cancelled. Works on ``cur``/``rooms`` in place; returns the weighted
        unplaced count left and ``rooms``."""
        c = self.c
        n = len(c.acts)
        rng = random.Random(self.params.seed)
        weights = [place_weight(a.duration, len(a.teachers) + len(a.subgroups)) for a in c.acts]
        left = sum(weights[i] for i in range(n) if cur[i] is None)
        probe = _Model.__new__(_Model)  # only res_acts / unplaced_weight for the neighbourhoods
        probe.res_acts = {}
        for i, a in enumerate(c.acts):
            for t in a.teachers:
                probe.res_acts.setdefault(("teacher", t), []).append(i)
            for g in a.subgroups:
                probe.res_acts.setdefault(("subgroup", g), []).append(i)
            if a.rooms is not None and len(a.rooms) == 1:
                probe.res_acts.setdefault(("room", a.rooms[0]), []).append(i)
        probe.unplaced_weight = weights
        frac = 0.15
        while left and time.monotonic() - self._t0 < budget_end and not self._cancel.is_set():
            self.iterations += 1
            size = max(2, min(n, int(frac * n)))
            unplaced = [i for i in range(n) if cur[i] is None]
            kind = rng.random()
            if kind < 0.5:
                free = self._students_week(rng, probe, unplaced)
            elif kind < 0.8:
                free = self._blockers(rng, probe, cur, unplaced, size)
            else:
                self._violated = [("teacher", t) for i in unplaced for t in c.acts[i].teachers] + [
                    ("subgroup", g) for i in unplaced for g in c.acts[i].subgroups
                ]
                free = self._neighbourhood(rng, probe, cur, size)
            small, order, pinned = self._reduced(cur, rooms, free)
            model = _Model(small, optional=True)
            for j in pinned:
                lit = model.x[order.index(j)].get(cur[j])  # type: ignore[arg-type]
                if lit is not None:
                    model.m.add(lit == 1)
            before = sum(weights[i] for i in free if cur[i] is None)
            expr = sum(w * u for w, u in zip(model.unplaced_weight, model.unplaced, strict=True))
            model.m.add(expr <= before)
            model.m.minimize(expr)
            for k, i in enumerate(order):
                for st, lit in model.x[k].items():
                    model.m.add_hint(lit, st == cur[i])
                model.m.add_hint(model.unplaced[k], cur[i] is None)
                model.hint_rooms(k, cur[i], rooms.get(i))
            limit = min(2.0, budget_end - (time.monotonic() - self._t0))
            solver = self._new_solver(max(0.05, limit), self.params.seed + self.iterations, first=False)
            solver.parameters.cp_model_presolve = True
            status = self._run(model, solver)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                after = int(solver.objective_value)
                if after <= before:
                    for k, i in enumerate(order):
                        if i in pinned:
                            continue
                        cur[i] = next(
                            (st for st, lit in model.x[k].items() if solver.boolean_value(lit)), None
                        )
                        zs = model.room_choice.get(k)
                        if zs:
                            r = next((r for r, z in zs.items() if solver.boolean_value(z)), None)
                            if r is not None:
                                rooms[i] = r
                            else:
                                rooms.pop(i, None)
                        elif small.acts[k].rooms is not None and len(small.acts[k].rooms or ()) > 1:
                            rooms.pop(i, None)
                    if after < before:
                        left -= before - after
                        self.solutions += 1
                        self._report("first", None, hard=sum(1 for x in cur if x is None))
                frac = min(0.5, frac * 1.1) if status == cp_model.OPTIMAL else max(0.03, frac * 0.93)
            else:
                frac = max(0.03, frac * 0.85)
        return left, rooms

    def _lns(
        self,
        model: _Model,
        cur: list[int | None],
        rooms: dict[int, int],
        slack: int,
        pen: int,
        slack_expr: Any,
        pen_expr: Any,
    ) -> str:
        c = self.c
        rng = random.Random(self.params.seed)
        n = len(c.acts)
        frac = 0.15
        sub_limit = 2.0
        complete_locked = False
        has_slack = bool(model.slacks or model.unplaced)
        while self._left() > 0.05 and not self._cancel.is_set():
            if slack == 0 and not complete_locked:
                if not model.penalties or self.params.first_only:
                    return "feasible"
                if has_slack:
                    model.m.add(slack_expr == 0)
                complete_locked = True
            self.iterations += 1
            size = max(2, min(n, int(frac * n)))
            free = self._neighbourhood(rng, model, cur, size)
            whole = len(free) >= n
            model.m.clear_assumptions()
            model.m.clear_hints()
            fixed = []
            for i in range(n):
                if i not in free:
                    slot = cur[i]
                    fixed.append(model.x[i][slot] if slot is not None else model.unplaced[i])
            fixed += [model.room_choice[i][r] for i, r in rooms.items() if i not in free]
            model.m.add_assumptions(fixed)
            for i in free:
                for s, lit in model.x[i].items():
                    model.m.add_hint(lit, s == cur[i])
                if model.unplaced:
                    model.m.add_hint(model.unplaced[i], cur[i] is None)
                model.hint_rooms(i, cur[i], rooms.get(i))
            limit = min(sub_limit, self._left())
            solver = self._new_solver(limit, self.params.seed + self.iterations, first=False)
            status = self._run(model, solver)
            if status == cp_model.OPTIMAL and whole:  # nothing better exists
                cur, rooms = self._read(model, solver)
                slack = self._slack(model, solver)
                pen = int(solver.value(pen_expr)) if model.penalties else 0
                self.solutions += 1
                self._accept(model, cur, rooms, slack, pen)
                return "optimal"
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                new_slack = self._slack(model, solver)
                new_pen = int(solver.value(pen_expr)) if model.penalties else 0
                if (new_slack, new_pen) <= (slack, pen):
                    improved = (new_slack, new_pen) < (slack, pen)
                    cur, rooms = self._read(model, solver)
                    slack, pen = new_slack, new_pen
                    if slack:
                        self._violated = self._owners(model, solver)
                    if improved:
                        self.solutions += 1
                        self._accept(model, cur, rooms, slack, pen)
                frac = min(1.0, frac * 1.15) if status == cp_model.OPTIMAL else max(0.03, frac * 0.93)
            else:
                frac = max(0.03, frac * 0.85)
        model.m.clear_assumptions()
        return "feasible"

    def _result(self, status: str, problems: Sequence[str] = ()) -> SolveResult:
        if self.best is None and status in ("feasible", "optimal"):
            status = "incomplete"  # a timetable exists but still breaks a gap limit or leaves lessons out
        return SolveResult(
            status=status,
            assignment=self.best,
            penalty=self.best_penalty if self.best is not None else None,
            time_to_first=self.time_to_first,
            time_to_best=self.time_to_best,
            elapsed=self._elapsed(),
            problems=list(problems),
            cancelled=self._cancel.is_set(),
            history=list(self.history),
            unsupported=list(self.c.unsupported),
            partial=self.partial if self.best is None else None,
            iterations=self.iterations,
        )


# ------------------------------------------------------------------------------------- from the model


def compile_instance(inst: mdl.Instance) -> Compiled:
    """The engine's :class:`~.model.Instance` in solver terms (hard time constraints folded into the starts).

    Constraint types (or weights) the solver does not model are listed in ``Compiled.unsupported``; the
    scorer still evaluates them, so a timetable's reported penalty is always the full one.
    """
    D, H = inst.n_days, inst.n_hours
    acts_m = list(inst.active_activities())
    aidx = {a.id: i for i, a in enumerate(acts_m)}
    teachers = list(inst.teachers)
    ti = {t: i for i, t in enumerate(teachers)}
    subgroups = list(inst.subgroups)
    si = {s: i for i, s in enumerate(subgroups)}
    rooms = list(inst.rooms)
    ri = {r: i for i, r in enumerate(rooms)}
    acts = [
        CAct(
            id=a.id,
            duration=a.duration,
            teachers=tuple(ti[t] for t in a.teachers if t in ti),
            subgroups=tuple(sorted({si[s] for s in a.subgroups if s in si})),
            starts=[d * H + h for d in range(D) for h in range(H - a.duration + 1)],
            label=" - ".join(x for x in (*a.teachers, a.subject, *a.tags, *a.students) if x),
        )
        for a in acts_m
    ]
    c = Compiled(
        n_days=D,
        n_hours=H,
        day_names=list(inst.days),
        hour_names=list(inst.hours),
        teacher_names=teachers,
        subgroup_names=subgroups,
        room_names=rooms,
        acts=acts,
        teacher_off=[set() for _ in teachers],
        subgroup_off=[set() for _ in subgroups],
        room_off=[set() for _ in rooms],
    )
    c.unsupported = [f"{u.tag} ({u.weight_percentage:g}%)" for u in inst.unsupported if u.active]
    components: dict[int, int] = {}
    for split in inst.split_components().values():
        for k, x in enumerate(split, start=1):
            components[x] = k

    def slots(times: Iterable[tuple[int, int]]) -> set[int]:
        return {d * H + h for d, h in times if 0 <= d < D and 0 <= h < H}

    def matches(a: mdl.Activity, f: mdl.ActivityFilter) -> bool:
        return (
            (f.teacher is None or f.teacher in a.teachers)
            and (f.students is None or f.students in a.students)
            and (f.subject is None or a.subject == f.subject)
            and (f.activity_tag is None or f.activity_tag in a.tags)
            and (f.duration is None or a.duration == f.duration)
        )

    def ids(xs: Iterable[int]) -> list[int]:
        return [aidx[x] for x in xs if x in aidx]

    def restrict(i: int, allowed: Callable[[int], int], w: float) -> None:
        """allowed(start) = number of violations when starting there (0 = fine)."""
        a = acts[i]
        if w >= 100:
            a.starts = [s for s in a.starts if not allowed(s)]
        elif w > 0:
            counts = {s: n for s in a.starts if (n := allowed(s))}
            if counts:
                c.soft_starts.append((i, counts, w))

    def starting_at(allowed: set[int]) -> Callable[[int], int]:
        return lambda s: 0 if s in allowed else 1

    def within(i: int, allowed: set[int]) -> Callable[[int], int]:
        dur = acts[i].duration
        return lambda s: sum(1 for k in range(dur) if s + k not in allowed)

    def who_teachers(name: str | None) -> list[int]:
        return list(range(len(teachers))) if name is None else [ti[name]] if name in ti else []

    def who_subgroups(name: str | None) -> list[int]:
        return (
            list(range(len(subgroups)))
            if name is None
            else [si[s] for s in inst.subgroups_of(name) if s in si]
        )

    def limit(kind: str, who: list[int], what: str, value: int, w: float, extra: Any = None) -> None:
        c.limits.extend(ResLimit(kind, x, what, value, w, extra) for x in who)

    room_sets: dict[int, list[set[int]]] = {}
    breaks: set[int] = set()
    for con in inst.active_constraints():
        w = con.weight_percentage
        if isinstance(con, mdl.BasicCompulsoryTime | mdl.BasicCompulsorySpace):
            continue
        if w <= 0 and not (isinstance(con, mdl.MinDaysBetweenActivities) and con.consecutive_if_same_day):
            continue
        hard = w >= 100
        if isinstance(con, mdl.BreakTimes):
            if hard:
                breaks |= slots(con.times)
            else:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
        elif isinstance(con, mdl.TeacherNotAvailableTimes):
            for t in who_teachers(con.teacher):
                if hard:
                    c.teacher_off[t] |= slots(con.times)
                else:
                    c.soft_off.append(("teacher", t, slots(con.times), w))
        elif isinstance(con, mdl.StudentsSetNotAvailableTimes):
            for sg in who_subgroups(con.students):
                if hard:
                    c.subgroup_off[sg] |= slots(con.times)
                else:
                    c.soft_off.append(("subgroup", sg, slots(con.times), w))
        elif isinstance(con, mdl.RoomNotAvailableTimes):
            if con.room in ri and hard:
                c.room_off[ri[con.room]] |= slots(con.times)
            elif not hard:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
        elif isinstance(con, mdl.ActivityPreferredStartingTime):
            if con.activity_id in aidx:
                restrict(aidx[con.activity_id], _at(con.day, con.hour, H), w)
        elif isinstance(con, mdl.ActivityPreferredStartingTimes):
            if con.activity_id in aidx:
                restrict(aidx[con.activity_id], starting_at(slots(con.times)), w)
        elif isinstance(con, mdl.ActivityPreferredTimeSlots):
            if con.activity_id in aidx:
                i = aidx[con.activity_id]
                restrict(i, within(i, slots(con.times)), w)
        elif isinstance(
            con,
            mdl.ActivitiesPreferredStartingTimes
            | mdl.ActivitiesPreferredTimeSlots
            | mdl.SubactivitiesPreferredStartingTimes
            | mdl.SubactivitiesPreferredTimeSlots,
        ):
            allowed = slots(con.times)
            comp = getattr(con, "component_number", None)
            by_slot = isinstance(con, mdl.ActivitiesPreferredTimeSlots | mdl.SubactivitiesPreferredTimeSlots)
            for i, a in enumerate(acts_m):
                if matches(a, con.filter) and (comp is None or components.get(a.id, 1) == comp):
                    restrict(i, within(i, allowed) if by_slot else starting_at(allowed), w)
        elif isinstance(con, mdl.ActivityEndsStudentsDay | mdl.ActivitiesEndStudentsDay):
            if not hard:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
            elif isinstance(con, mdl.ActivityEndsStudentsDay):
                c.ends_day.extend(ids([con.activity_id]))
            else:
                c.ends_day.extend(i for i, a in enumerate(acts_m) if matches(a, con.filter))
        elif isinstance(con, mdl.MinDaysBetweenActivities):
            group = ids(con.activity_ids)
            if len(group) > 1:
                c.min_days.append((group, con.min_days, con.consecutive_if_same_day, w))
        elif isinstance(
            con,
            mdl.ActivitiesSameStartingTime
            | mdl.ActivitiesSameStartingDay
            | mdl.ActivitiesSameStartingHour
            | mdl.ActivitiesNotOverlapping
            | mdl.MaxDaysBetweenActivities
            | mdl.MinGapsBetweenActivities,
        ):
            group = ids(con.activity_ids)
            if not hard:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
            elif len(group) > 1:
                if isinstance(con, mdl.ActivitiesSameStartingTime):
                    c.same_start.append(group)
                elif isinstance(con, mdl.ActivitiesSameStartingDay):
                    c.same_day.append(group)
                elif isinstance(con, mdl.ActivitiesSameStartingHour):
                    c.same_hour.append(group)
                elif isinstance(con, mdl.ActivitiesNotOverlapping):
                    c.not_overlapping.append(group)
                elif isinstance(con, mdl.MaxDaysBetweenActivities):
                    c.max_days_between.append((group, con.max_days))
                else:
                    c.min_gaps.append((group, con.min_gaps))
        elif isinstance(
            con, mdl.TwoActivitiesConsecutive | mdl.TwoActivitiesGrouped | mdl.TwoActivitiesOrdered
        ):
            pair = ids([con.first, con.second])
            if not hard:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
            elif len(pair) == 2:
                target = (
                    c.consecutive
                    if isinstance(con, mdl.TwoActivitiesConsecutive)
                    else c.grouped
                    if isinstance(con, mdl.TwoActivitiesGrouped)
                    else c.ordered
                )
                target.append((pair[0], pair[1]))
        elif isinstance(con, mdl.TeacherMaxDaysPerWeek | mdl.TeachersMaxDaysPerWeek):
            limit("teacher", who_teachers(con.teacher), "max_days", con.max_days, w)
        elif isinstance(con, mdl.TeacherMinDaysPerWeek | mdl.TeachersMinDaysPerWeek):
            limit("teacher", who_teachers(con.teacher), "min_days", con.min_days, w)
        elif isinstance(con, mdl.TeacherMaxGapsPerWeek | mdl.TeachersMaxGapsPerWeek):
            limit("teacher", who_teachers(con.teacher), "max_gaps_week", con.max_gaps, w)
        elif isinstance(con, mdl.TeacherMaxGapsPerDay | mdl.TeachersMaxGapsPerDay):
            limit("teacher", who_teachers(con.teacher), "max_gaps_day", con.max_gaps, w)
        elif isinstance(con, mdl.TeacherMaxHoursDaily | mdl.TeachersMaxHoursDaily):
            limit("teacher", who_teachers(con.teacher), "max_hours_daily", con.max_hours, w)
        elif isinstance(con, mdl.TeacherMinHoursDaily | mdl.TeachersMinHoursDaily):
            limit(
                "teacher",
                who_teachers(con.teacher),
                "min_hours_daily",
                con.min_hours,
                w,
                con.allow_empty_days,
            )
        elif isinstance(con, mdl.TeacherMaxHoursContinuously | mdl.TeachersMaxHoursContinuously):
            limit("teacher", who_teachers(con.teacher), "max_hours_cont", con.max_hours, w)
        elif isinstance(con, mdl.TeacherIntervalMaxDaysPerWeek | mdl.TeachersIntervalMaxDaysPerWeek):
            limit(
                "teacher",
                who_teachers(con.teacher),
                "interval_max_days",
                con.max_days,
                w,
                (con.start_hour, con.end_hour),
            )
        elif isinstance(con, mdl.StudentsMaxGapsPerWeek | mdl.StudentsSetMaxGapsPerWeek):
            limit("subgroup", who_subgroups(con.students), "max_gaps_week", con.max_gaps, w)
        elif isinstance(con, mdl.StudentsMaxGapsPerDay | mdl.StudentsSetMaxGapsPerDay):
            limit("subgroup", who_subgroups(con.students), "max_gaps_day", con.max_gaps, w)
        elif isinstance(
            con, mdl.StudentsEarlyMaxBeginningsAtSecondHour | mdl.StudentsSetEarlyMaxBeginningsAtSecondHour
        ):
            limit("subgroup", who_subgroups(con.students), "early", con.max_beginnings, w)
        elif isinstance(con, mdl.StudentsMaxHoursDaily | mdl.StudentsSetMaxHoursDaily):
            limit("subgroup", who_subgroups(con.students), "max_hours_daily", con.max_hours, w)
        elif isinstance(con, mdl.StudentsMinHoursDaily | mdl.StudentsSetMinHoursDaily):
            limit(
                "subgroup",
                who_subgroups(con.students),
                "min_hours_daily",
                con.min_hours,
                w,
                con.allow_empty_days,
            )
        elif isinstance(con, mdl.StudentsMaxHoursContinuously | mdl.StudentsSetMaxHoursContinuously):
            limit("subgroup", who_subgroups(con.students), "max_hours_cont", con.max_hours, w)
        elif isinstance(con, mdl.StudentsIntervalMaxDaysPerWeek | mdl.StudentsSetIntervalMaxDaysPerWeek):
            limit(
                "subgroup",
                who_subgroups(con.students),
                "interval_max_days",
                con.max_days,
                w,
                (con.start_hour, con.end_hour),
            )
        elif isinstance(con, mdl.ActivityPreferredRoom | mdl.ActivityPreferredRooms | mdl._RoomsPreference):
            if not hard:
                c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
                continue
            if isinstance(con, mdl.ActivityPreferredRoom):
                chosen, wanted = ids([con.activity_id]), {con.room}
            elif isinstance(con, mdl.ActivityPreferredRooms):
                chosen, wanted = ids([con.activity_id]), set(con.rooms)
            else:
                subject = getattr(con, "subject", None)
                tag = getattr(con, "activity_tag", None)
                teacher = getattr(con, "teacher", None)
                students = getattr(con, "students", None)
                chosen = [
                    i
                    for i, a in enumerate(acts_m)
                    if (subject is None or a.subject == subject)
                    and (tag is None or tag in a.tags)
                    and (teacher is None or a.teachers == (teacher,))
                    and (students is None or a.students == (students,))
                ]
                wanted = set(con.rooms)
            for i in chosen:
                room_sets.setdefault(i, []).append({ri[name] for name in wanted if name in ri})
        else:
            c.unsupported.append(f"{con.FET_TAG} ({w:g}%)")
    for i, sets in room_sets.items():
        cand = set.intersection(*sets)
        need = acts_m[i].n_students
        fits = [k for k in cand if inst.rooms[rooms[k]].virtual or inst.rooms[rooms[k]].capacity >= need]
        acts[i].rooms = tuple(sorted(fits))
    c.break_slots = breaks
    for t in range(len(teachers)):
        c.teacher_off[t] |= breaks
    for sg in range(len(subgroups)):
        c.subgroup_off[sg] |= breaks
    for ca in acts:
        bad = set(breaks)
        for t in ca.teachers:
            bad |= c.teacher_off[t]
        for sg in ca.subgroups:
            bad |= c.subgroup_off[sg]
        if ca.rooms is not None and len(ca.rooms) == 1:
            bad |= c.room_off[ca.rooms[0]]
        ca.starts = [s for s in ca.starts if not any(s + k in bad for k in range(ca.duration))]
    return c


def _at(day: int | None, hour: int | None, n_hours: int) -> Callable[[int], int]:
    """Violations of "start at this day and/or hour" for each start slot."""

    def count(s: int) -> int:
        return int((day is not None and s // n_hours != day) or (hour is not None and s % n_hours != hour))

    return count


def solve_instance(
    inst: mdl.Instance,
    params: SolveParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> SolveResult:
    """Compile and solve in one call."""
    return TimetableSolver(compile_instance(inst), params, on_progress).solve()


def check_assignment(
    c: Compiled, assignment: mdl.Solution, time_limit: float = 30.0
) -> tuple[bool, float | None]:
    """Whether the solver's model accepts this timetable (every hard constraint as modelled), and its
    soft penalty under the model's objective. A consistency check between the model and the scorer."""
    model = _Model(c, relax=False)
    H = c.n_hours
    for i, a in enumerate(c.acts):
        p = assignment.get(a.id)
        lit = model.x[i].get(p.day * H + p.hour) if p is not None else None
        if lit is None:
            return False, None
        model.m.add(lit == 1)
        if p is not None and i in model.room_choice:
            z = next((z for r, z in model.room_choice[i].items() if c.room_names[r] == p.room), None)
            if z is None:
                return False, None
            model.m.add(z == 1)
    model.m.minimize(model.objective())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    status = solver.solve(model.m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False, None
    return True, solver.objective_value / SCALE
