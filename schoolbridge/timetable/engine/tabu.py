"""The last lessons of a large, tightly packed school: tabu search over partial timetables.

The place-and-displace search of :mod:`.ejection` gets a large school to a dozen or two lessons short
quickly, then stalls: on a school whose classes fill every usable hour of the week, the last whole-year
lessons need the same free hour in each of the year's 25–50 students sets. This search (after PartialCol,
Blöchliger & Zufferey's tabu search for graph colouring) goes on from there:

* the state is a clash-free timetable with some lessons left out;
* every step looks at every (left-out lesson, allowed start) pair and takes the one that leaves the fewest
  lessons out: the lesson goes in, what it clashes with comes out. Ties are broken at random;
* a lesson pushed out of a start may not go back to it for a while (the tabu tenure, ``TENURE_PER_LEFT``
  steps per lesson left out plus up to ``TENURE_RANDOM`` more), unless that leads to the best state yet.

Conflicts are found with bit sets: for every hour the set of lessons taking it, for every lesson the set
of lessons it shares a teacher or students set with; rooms are looked up per hour. The moves of a lesson
are kept between steps and worked out again only when a lesson it could clash with has moved. Only what
matters for a first timetable of such schools is handled (clashes, rooms, hard min days, start together),
as in :mod:`.ejection`; lessons under any other link stay where they are.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .ejection import Ejection

if TYPE_CHECKING:
    from .solver import Compiled

Unit = tuple[int, ...]
TENURE_PER_LEFT = 2.0
TENURE_RANDOM = 20


def _members(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class PartialTabu:
    def __init__(self, c: Compiled, cur: list[int | None], rooms: dict[int, int], seed: int) -> None:
        # units (lessons that start together), their starts, the lessons handled and the blocked hours
        # are worked out as for the ejection search
        e = Ejection(c, [None] * len(c.acts), {}, seed)
        self.c = c
        self.cur = cur
        self.rooms = rooms
        self.rng = random.Random(seed)
        self.H = c.n_hours
        self.D = c.n_days
        n = len(c.acts)
        self.unit_of = e.unit_of
        self.handled = e.handled
        self.starts = e.starts
        self.room_blocked = e.room_blocked
        self.span = e.span
        self.umask = {u: sum(1 << i for i in u) for u in set(e.unit_of.values())}
        # who shares a teacher or students set with whom
        by_key: dict[tuple[int, int], int] = {}
        keys = [[(0, t) for t in a.teachers] + [(1, g) for g in a.subgroups] for a in c.acts]
        for i, ks in enumerate(keys):
            for key in ks:
                by_key[key] = by_key.get(key, 0) | (1 << i)
        self.nb = [0] * n
        for i, ks in enumerate(keys):
            m = 0
            for key in ks:
                m |= by_key[key]
            self.nb[i] = m & ~(1 << i)
        # hard min days: (the other lessons of the rule, the days apart)
        self.mdays: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for g, k, _cons, w in c.min_days:
            if w >= 100 and k >= 1:
                gm = sum(1 << j for j in g)
                for i in g:
                    self.mdays[i].append((gm & ~self.umask[self.unit_of[i]], k))
        # candidate rooms (one: a fixed room)
        self.cand: list[tuple[int, ...]] = [a.rooms if a.rooms is not None else () for a in c.acts]
        # state: hour -> lessons taking it, day -> lessons on it, room -> hour -> lesson
        hours = c.n_days * c.n_hours
        self.at = [0] * hours
        self.on_day = [0] * self.D
        self.room_at: list[list[int | None]] = [[None] * hours for _ in c.room_names]
        self.frozen = 0  # placed lessons this search may not move
        for i, s in enumerate(cur):
            if s is not None:
                self._put(i, s, rooms.get(i))
                if i not in self.handled:
                    self.frozen |= 1 << i
        self.iterations = 0

    # ---------------------------------------------------------------------------------- occupancy
    def _room(self, i: int, r: int | None) -> int | None:
        cand = self.cand[i]
        return cand[0] if len(cand) == 1 else r

    def _put(self, i: int, s: int, r: int | None) -> None:
        bit = 1 << i
        dur = self.c.acts[i].duration
        for x in range(s, s + dur):
            self.at[x] |= bit
        self.on_day[s // self.H] |= bit
        rr = self._room(i, r)
        if rr is not None:
            row = self.room_at[rr]
            for x in range(s, s + dur):
                row[x] = i
            if len(self.cand[i]) > 1:
                self.rooms[i] = rr
        self.cur[i] = s

    def _take_out(self, i: int) -> None:
        s = self.cur[i]
        if s is None:
            return
        bit = ~(1 << i)
        dur = self.c.acts[i].duration
        for x in range(s, s + dur):
            self.at[x] &= bit
        self.on_day[s // self.H] &= bit
        rr = self._room(i, self.rooms.get(i))
        if rr is not None:
            row = self.room_at[rr]
            for x in range(s, s + dur):
                if row[x] == i:
                    row[x] = None
        self.rooms.pop(i, None)
        self.cur[i] = None

    # ---------------------------------------------------------------------------------- conflicts
    def _conflicts(self, u: Unit, s: int) -> tuple[int, dict[int, int]] | None:
        """The lessons unit u would push out at start s (bits) and the rooms it would take; None when
        that would push out a lesson this search may not move, or no candidate room is open then."""
        at, H, D = self.at, self.H, self.D
        conf = 0
        for i in u:
            dur = self.c.acts[i].duration
            occ = at[s]
            for x in range(s + 1, s + dur):
                occ |= at[x]
            conf |= occ & self.nb[i]
            if self.mdays[i]:
                d = s // H
                for gm, k in self.mdays[i]:
                    dm = 0
                    for dd in range(max(0, d - k + 1), min(D, d + k)):
                        dm |= self.on_day[dd]
                    conf |= gm & dm
        conf &= ~self.umask[u]
        if conf & self.frozen:
            return None
        rooms: dict[int, int] = {}
        taken: set[int] = set()
        for i in u:
            cand = self.cand[i]
            if not cand:
                continue
            dur = self.c.acts[i].duration
            bits = self.span[i] << s
            best: tuple[int, int, int] | None = None  # (count, room, holders)
            for r in cand:
                if r in taken or self.room_blocked[r] & bits:
                    continue
                holders = 0
                row = self.room_at[r]
                for x in range(s, s + dur):
                    j = row[x]
                    if j is not None:
                        holders |= 1 << j
                holders &= ~conf
                if holders & self.frozen:
                    continue
                cnt = holders.bit_count()
                if best is None or cnt < best[0]:
                    best = (cnt, r, holders)
                    if cnt == 0:
                        break
            if best is None:
                return None
            taken.add(best[1])
            rooms[i] = best[1]
            conf |= best[2]
        return conf & ~self.umask[u], rooms

    def _units(self, conf: int) -> list[Unit]:
        seen: dict[Unit, None] = {}
        for j in _members(conf):
            seen[self.unit_of[j]] = None
        return list(seen)

    # ---------------------------------------------------------------------------------- search
    def run(
        self,
        deadline: float,
        stop: Callable[[], bool],
        on_progress: Callable[[int], None] | None = None,
        patience: float = 10.0,
    ) -> int:
        """Search until every handled lesson is placed, the deadline (time.monotonic) passes, no better
        state came for ``patience`` seconds, or ``stop()``; the best state seen is left in ``cur``/``rooms``.
        Returns the lessons left unplaced."""
        units = [u for u in self.umask if all(i in self.handled for i in u)]
        left = {u for u in units if self.cur[u[0]] is None and self.starts[u]}
        # which lessons' moves change a unit's moves: those sharing a teacher, students set or candidate
        # room with it (at the hours they leave or take), or a min-days rule (on any day)
        room_mask: dict[int, int] = {}
        for i, cand in enumerate(self.cand):
            for r in cand:
                room_mask[r] = room_mask.get(r, 0) | (1 << i)
        near: dict[Unit, int] = {}
        apart: dict[Unit, int] = {}
        for u in units:
            m = a = 0
            for i in u:
                m |= self.nb[i]
                for gm, _k in self.mdays[i]:
                    a |= gm
                for r in self.cand[i]:
                    m |= room_mask[r]
            near[u] = m
            apart[u] = a
        length = {u: max(self.c.acts[i].duration for i in u) for u in units}
        # unit -> start -> (units pushed out, rooms taken); None: not possible
        moves_of: dict[Unit, dict[int, tuple[list[Unit], dict[int, int]] | None]] = {}
        tabu: dict[tuple[Unit, int], int] = {}
        it = 0
        count = best = len(left)
        best_state = (list(self.cur), dict(self.rooms))
        last_better = last_report = time.monotonic()

        def move(u: Unit, s: int) -> tuple[list[Unit], dict[int, int]] | None:
            got = self._conflicts(u, s)
            if got is None:
                return None
            return (self._units(got[0]) if got[0] else [], got[1])

        while left:
            if it % 16 == 0:
                now = time.monotonic()
                if now > deadline or now - last_better > patience or stop():
                    break
            it += 1
            choice: tuple[Unit, int, list[Unit], dict[int, int]] | None = None
            best_delta = 0
            ties = 0
            for u in left:
                moves = moves_of.get(u)
                if moves is None:
                    moves = moves_of[u] = {s: move(u, s) for s in self.starts[u]}
                for s, mv in moves.items():
                    if mv is None:
                        continue
                    d = len(mv[0]) - 1
                    if choice is not None and d > best_delta:
                        continue
                    if tabu.get((u, s), 0) > it and count + d >= best:  # tabu, unless the best yet
                        continue
                    if choice is None or d < best_delta:
                        best_delta, choice, ties = d, (u, s, *mv), 1
                    else:
                        ties += 1
                        if self.rng.randrange(ties) == 0:
                            choice = (u, s, *mv)
            if choice is None:
                break
            u, s, out, rooms = choice
            tenure = int(TENURE_PER_LEFT * len(left)) + self.rng.randrange(TENURE_RANDOM)
            moved = self.umask[u]
            hours = 0  # the hours whose occupants changed, as bits
            for v in out:
                sv = self.cur[v[0]]
                assert sv is not None
                tabu[(v, sv)] = it + tenure
                for j in v:
                    hours |= self.span[j] << sv
                    self._take_out(j)
                left.add(v)
                moves_of.pop(v, None)
                moved |= self.umask[v]
            for i in u:
                hours |= self.span[i] << s
                self._put(i, s, rooms.get(i))
            left.discard(u)
            moves_of.pop(u, None)
            for v in left:
                moves = moves_of.get(v)
                if moves is None:
                    continue
                if apart[v] & moved:
                    del moves_of[v]
                elif near[v] & moved:
                    span = (1 << length[v]) - 1
                    for st in moves:
                        if (span << st) & hours:
                            moves[st] = move(v, st)
            count += len(out) - 1
            if count < best:
                best = count
                best_state = (list(self.cur), dict(self.rooms))
                now = last_better = time.monotonic()
                if on_progress and now - last_report > 0.5:
                    last_report = now
                    on_progress(sum(1 for x in self.cur if x is None))
        if left:
            self.cur[:] = best_state[0]
            self.rooms.clear()
            self.rooms.update(best_state[1])
        self.iterations = it
        return sum(1 for x in self.cur if x is None)
