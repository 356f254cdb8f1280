"""A first complete timetable for large schools by placing and ejecting lessons.

CP-SAT is very good at improving a timetable and at small, tightly linked problems; on a large school whose
classes fill every usable hour of the week (42 lessons in 42 hours) it can spend minutes before the first
complete timetable. This module gets there the way a timetabler with a pencil does:

* take the most demanding lesson still unplaced (its hours times how many teachers and students sets it
  needs at once; lessons that must start together go as one);
* put it at the start that displaces the least: for every allowed start, the lessons occupying its
  teachers, students sets and room for those hours, plus those that would break a hard "min days apart"
  rule with it, weighed by the same measure; a start that displaces nothing wins at once;
* the displaced lessons go back to the queue. A lesson may not go back to the start it was just pushed out
  of for a while (a tabu tenure), so the search does not circle.

Pure Python over dictionaries of occupied hours; only the constraints that matter for a first timetable of
such schools are handled (clashes, rooms, hard min days, start together). Lessons under any other link
are left to the CP-SAT repair that follows (see :mod:`.solver`).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .solver import Compiled

Key = tuple[int, int]
# after this many steps without a better state, the push-out counts are forgotten (all but FORGET of them),
# so that lessons that became too dear to move can move again
STALL = 20000
FORGET = 0.1


def _bits(slots: set[int]) -> int:
    m = 0
    for x in slots:
        m |= 1 << x
    return m


def place_weight(duration: int, n_resources: int) -> int:
    """How demanding a lesson is: its hours times the square root of the teachers and students sets it
    needs at once (rounded up)."""
    return duration * (math.isqrt(max(0, n_resources - 1)) + 1)


class Ejection:
    def __init__(self, c: Compiled, cur: list[int | None], rooms: dict[int, int], seed: int) -> None:
        self.c = c
        self.H = c.n_hours
        self.cur = cur
        self.rooms = rooms
        self.rng = random.Random(seed)
        n = len(c.acts)
        others = {
            i
            for g in (
                *c.same_day,
                *c.same_hour,
                *c.not_overlapping,
                *(g for g, _ in c.min_gaps),
                *(g for g, _ in c.max_days_between),
                *([a, b] for a, b in (*c.consecutive, *c.grouped, *c.ordered)),
            )
            for i in g
        }
        others.update(c.ends_day)
        # units: activities that start together move as one
        unit_of: dict[int, tuple[int, ...]] = {}
        for g in c.same_start:
            merged = tuple(sorted({j for i in g for j in unit_of.get(i, (i,))}))
            for i in merged:
                unit_of[i] = merged
        self.unit_of = {i: unit_of.get(i, (i,)) for i in range(n)}
        self.handled = {i for i in range(n) if not others.intersection(self.unit_of[i])}
        self.weight = [place_weight(a.duration, len(a.teachers) + len(a.subgroups)) for a in c.acts]
        self.keys: list[list[Key]] = []
        for a in c.acts:
            keys: list[Key] = [(0, t) for t in a.teachers] + [(1, g) for g in a.subgroups]
            if a.rooms is not None and len(a.rooms) == 1:
                keys.append((2, a.rooms[0]))
            self.keys.append(keys)
        self.starts: dict[tuple[int, ...], list[int]] = {}
        for u in set(self.unit_of.values()):
            common = set(c.acts[u[0]].starts)
            for i in u[1:]:
                common &= set(c.acts[i].starts)
            self.starts[u] = sorted(common)
        self.min_days: list[list[tuple[list[int], int]]] = [[] for _ in range(n)]
        for g, k, _cons, w in c.min_days:
            if w >= 100 and k >= 1:
                for i in g:
                    self.min_days[i].append((g, k))
        self.occ: dict[Key, dict[int, int]] = {}  # resource -> slot -> activity
        self.mask: dict[Key, int] = {}  # resource -> its occupied slots as bits
        self.span = [(1 << a.duration) - 1 for a in c.acts]  # shifted by the start: the hours taken
        blocked: dict[Key, int] = {}
        for t, off in enumerate(c.teacher_off or []):
            blocked[(0, t)] = _bits(off)
        for sg, off in enumerate(c.subgroup_off or []):
            blocked[(1, sg)] = _bits(off)
        self.room_blocked = [_bits(off) for off in (c.room_off or [set() for _ in c.room_names])]
        for r, m in enumerate(self.room_blocked):
            blocked[(2, r)] = m
        # lessons that start together but share a teacher or students set can never be placed
        for u in self.starts:
            keys_u = [key for i in u for key in self.keys[i]]
            if len(keys_u) != len(set(keys_u)):
                self.starts[u] = []
        # a start that hits a not-available hour of a teacher, students set or fixed room never will do
        for u, starts in self.starts.items():
            self.starts[u] = [
                st
                for st in starts
                if not any(blocked.get(key, 0) & (self.span[i] << st) for i in u for key in self.keys[i])
            ]
        self.ejections = [0.0] * n
        self.tabu: dict[tuple[int, int], int] = {}  # (activity, start) -> step until which it is refused
        self.step = 0
        for i, s in enumerate(cur):
            if s is not None:
                self._occupy(i, s, rooms.get(i))

    # occupancy
    def _take(self, key: Key, i: int, s: int, bits: int) -> None:
        occ = self.occ.setdefault(key, {})
        for x in range(s, s + self.c.acts[i].duration):
            occ[x] = i
        self.mask[key] = self.mask.get(key, 0) | bits

    def _release(self, key: Key, i: int, s: int, bits: int) -> None:
        occ = self.occ.get(key)
        if occ is None:
            return
        for x in range(s, s + self.c.acts[i].duration):
            if occ.get(x) == i:
                del occ[x]
                self.mask[key] &= ~(1 << x)

    def _room_of(self, i: int, r: int | None) -> int | None:
        a = self.c.acts[i]
        if a.rooms is not None and len(a.rooms) == 1:
            return None  # a fixed room is one of the activity's keys
        return r

    def _occupy(self, i: int, s: int, room: int | None) -> None:
        bits = self.span[i] << s
        for key in self.keys[i]:
            self._take(key, i, s, bits)
        r = self._room_of(i, room)
        if r is not None:
            self._take((2, r), i, s, bits)
            self.rooms[i] = r
        self.cur[i] = s

    def _vacate(self, i: int) -> None:
        s = self.cur[i]
        if s is None:
            return
        bits = self.span[i] << s
        keys = list(self.keys[i])
        r = self._room_of(i, self.rooms.get(i))
        if r is not None:
            keys.append((2, r))
        for key in keys:
            self._release(key, i, s, bits)
        self.rooms.pop(i, None)
        self.cur[i] = None

    def _conflicts(
        self, i: int, s: int, busy: int, bound: float = math.inf, taken: frozenset[int] = frozenset()
    ) -> tuple[set[int], int | None] | None:
        """The activities that block activity i at start s, and the room it would take; None when no
        candidate room is available at those hours, or when pushing out the blockers would cost
        ``bound`` or more. ``busy``: the union of i's resources' masks."""
        a = self.c.acts[i]
        bits = self.span[i] << s
        out: set[int] = set()
        cost = 0.0
        if busy & bits:
            for key in self.keys[i]:
                if self.mask.get(key, 0) & bits:
                    occ = self.occ[key]
                    for x in range(s, s + a.duration):
                        j = occ.get(x)
                        if j is not None and j not in out:
                            out.add(j)
                            cost += self.weight[j] * (1 + self.ejections[j])
                            if cost >= bound:
                                return None
        if self.min_days[i]:
            d = s // self.H
            for g, k in self.min_days[i]:
                for j in g:
                    sj = self.cur[j]
                    if (
                        sj is not None
                        and j != i
                        and j not in out
                        and abs(sj // self.H - d) < k
                        and self.unit_of[j] != self.unit_of[i]
                    ):
                        out.add(j)
                        cost += self.weight[j] * (1 + self.ejections[j])
                        if cost >= bound:
                            return None
        room: int | None = None
        if a.rooms is not None and len(a.rooms) > 1:
            best: tuple[float, int, set[int]] | None = None
            for r in a.rooms:
                if r in taken or self.room_blocked[r] & bits:  # taken: by a lesson starting with it
                    continue
                if not self.mask.get((2, r), 0) & bits:
                    best = (0, r, set())
                    break
                occ = self.occ[(2, r)]
                holders = {j for x in range(s, s + a.duration) if (j := occ.get(x)) is not None} - out
                price = sum(self.weight[j] * (1 + self.ejections[j]) for j in holders)
                if best is None or price < best[0]:
                    best = (price, r, holders)
            if best is None:
                return None
            room = best[1]
            out |= best[2]
        return out, room

    def _busy(self, i: int) -> int:
        m = 0
        for key in self.keys[i]:
            m |= self.mask.get(key, 0)
        return m

    def _place_unit(self, unit: tuple[int, ...]) -> list[int]:
        """Put the unit at its least disruptive start; returns the ejected activities."""
        best: tuple[float, int, set[int], dict[int, int | None]] | None = None
        busy = {i: self._busy(i) for i in unit}
        starts = self.starts[unit]
        order = list(starts)
        self.rng.shuffle(order)
        single = len(unit) == 1
        # rooms the unit's own lessons hold at that start: a fixed room, or one chosen for a lesson before
        fixed_rooms = frozenset(
            rr[0] for k in unit if (rr := self.c.acts[k].rooms) is not None and len(rr) == 1
        )
        for s in order:
            ejected: set[int] = set()
            rooms: dict[int, int | None] = {}
            ok = True
            for i in unit:
                bound = best[0] if best is not None and single else math.inf
                taken = fixed_rooms | {r for r in rooms.values() if r is not None}
                got = self._conflicts(i, s, busy[i], bound, taken)
                if got is None:
                    ok = False
                    break
                ejected |= got[0]
                rooms[i] = got[1]
            if not ok:
                continue
            ejected -= set(unit)
            ejected_units = {u for j in ejected for u in [self.unit_of[j]]}
            if any(j not in self.handled for u in ejected_units for j in u):
                continue  # never move a lesson the repair search is responsible for
            # a lesson pushed out often gets dearer to push out again, so the search looks elsewhere
            cost: float = sum(self.weight[j] * (1 + self.ejections[j]) for j in ejected)
            if any(self.tabu.get((i, s), -1) >= self.step for i in unit):
                cost += 1000 * max(1, len(ejected))
            cost += self.rng.random() * 0.5
            if best is None or cost < best[0]:
                best = (cost, s, ejected, rooms)
                if cost < 0.5:  # displaces nothing
                    break
        if best is None:
            return []
        _cost, s, ejected, rooms = best
        out: list[int] = []
        for j in sorted(ejected):
            for k in self.unit_of[j]:
                if self.cur[k] is not None:
                    self.tabu[(k, self.cur[k])] = self.step + 10 + self.rng.randrange(10)  # type: ignore[index]
                    self._vacate(k)
                    out.append(k)
        for i in unit:
            self._occupy(i, s, rooms.get(i))
        return out

    def run(
        self,
        deadline: float,
        stop: Callable[[], bool],
        on_progress: Callable[[int], None] | None = None,
        patience: float = 10.0,
    ) -> int:
        """Place and eject until every handled lesson is placed, the deadline (time.monotonic) passes or
        ``stop()``; the best state seen is left in ``cur``/``rooms``. Returns the lessons left unplaced."""
        c = self.c
        queue: list[tuple[int, float, tuple[int, ...]]] = []
        queued: set[tuple[int, ...]] = set()

        def push(unit: tuple[int, ...], again: bool = False) -> None:
            """First pass: the most demanding first; a lesson pushed out waits for its turn after those."""
            if unit in queued:
                return
            queued.add(unit)
            w = max(self.weight[i] for i in unit)
            flex = len(self.starts[unit])
            if again:
                heapq.heappush(queue, (1, self.step - w / 1000, unit))
            else:
                heapq.heappush(queue, (0, -w + flex / 1000 + self.rng.random() / 10000, unit))

        for i in range(len(c.acts)):
            if i in self.handled and self.cur[i] is None:
                push(self.unit_of[i])
        unplaced = len(queued)
        best = unplaced
        best_state = (list(self.cur), dict(self.rooms))
        last_report = 0.0
        last_better = time.monotonic()
        better_step = 0
        while queue:
            if self.step % 64 == 0:
                now = time.monotonic()
                if now > deadline or now - last_better > patience or stop():
                    break
            self.step += 1
            if self.step - better_step > STALL:
                self.ejections = [e * FORGET for e in self.ejections]
                better_step = self.step
            _p, _st, unit = heapq.heappop(queue)
            queued.discard(unit)
            if not self.starts[unit]:
                continue
            for j in self._place_unit(unit):
                self.ejections[j] += 1
                push(self.unit_of[j], again=True)
            unplaced = len(queued)
            if unplaced < best:
                best = unplaced
                best_state = (list(self.cur), dict(self.rooms))
                now = last_better = time.monotonic()
                better_step = self.step
                if on_progress and now - last_report > 0.5:
                    last_report = now
                    on_progress(sum(1 for x in self.cur if x is None))
        if queue:
            self.cur[:] = best_state[0]
            self.rooms.clear()
            self.rooms.update(best_state[1])
        return sum(1 for x in self.cur if x is None)
