"""A first complete timetable for large schools by recursive swapping, compiled with numba.

The place-and-displace search of :mod:`.ejection` moves one lesson per step and lets the lessons it pushes
out wait in a queue; on the most tightly packed schools it stalls a dozen lessons short. This search looks
ahead before it pushes anything out, the way FET's generator does (Lalescu's "recursive swapping"):

* the lessons are taken one by one, the most demanding first (lessons that start together go as one);
* for a lesson, every allowed start is looked at: the lessons that block it there (its teachers', students
  sets' and room's lessons at those hours, those a hard "min days apart" rule forbids on that day). A start
  that blocks nothing takes it. Otherwise, in order of fewest blockers, the lesson goes there, its blockers
  come out and each is placed again the same way, one level deeper; a lesson moved once in this chain is
  not moved again. When a blocker finds no place the chain is undone and the next start is tried (only
  the best start below level 5). The chain is bounded: 14 levels, twice as many calls as lessons;
* when no chain places the lesson, it goes to the start whose blockers were pushed out least often
  before, they come out and are the next lessons to be placed.

The search runs in numba-compiled code (see ADR 0008) that releases the GIL, so a web server's other
threads go on meanwhile; it runs in chunks of steps, so that the deadline, the cancel flag and progress are
looked at between chunks. Only what matters for a first timetable of such schools is
handled (clashes, rooms, hard min days, start together), as in :mod:`.ejection`; lessons under any other
link stay where they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from .ejection import Ejection

if TYPE_CHECKING:
    from .solver import Compiled

LEVEL_LIMIT = 14  # how deep a chain of moves may go
WIDE_LEVELS = 5  # below this level every start is tried in turn; from it on only the best
CAP = 96  # blockers of one start beyond this count are not worth a chain
BIG = 1 << 30
STEPS_PER_CHUNK = 16
FEW = 20  # lessons out: from here on a stall hands over to the searches after this one (see ``run``)

# indices into the counters array
N_CALLS, N_LOG, ADDED, N_MOV, PLACED, BEST, TABU_AT, L0_SLOT, L0_N, STEPS, CALLS, STAMP = range(12)


@njit(cache=True, nogil=True)
def _listed(v, n, cap, level, s, conf, mark, stamp):
    """Unit v among the n blockers of start s (unless listed already): the new count, -1 beyond ``cap``."""
    if mark[v] == stamp:
        return n
    if n >= cap:
        return -1
    mark[v] = stamp
    conf[level, s, n] = v
    return n + 1


@njit(cache=True, nogil=True)
def _conflicts(
    u, s, level, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand, room_free,
    md_ptr, md_grp, md_k, grp_ptr, grp_mem, H, occ, start, swapped, conf, rsel, mark, ctr, cap,
):  # fmt: skip
    """The units that block unit u at start s (into conf[level, s]) and the rooms its lessons would take
    (into rsel[level, s]); -1 when u cannot go there at all, or only by pushing out more than ``cap``.
    ``mark[v] == stamp``: v is listed already."""
    ctr[STAMP] += 1
    stamp = ctr[STAMP]
    n = 0
    d = s // H
    for m in range(unit_ptr[u], unit_ptr[u + 1]):
        i = unit_mem[m]
        for q in range(res_ptr[i], res_ptr[i + 1]):
            r = res[q]
            for x in range(s, s + dur[i]):
                a = occ[r, x]
                if a >= 0:
                    v = uid[a]
                    if v == u:
                        continue
                    if not movable[v] or swapped[v]:
                        return -1
                    n = _listed(v, n, cap, level, s, conf, mark, stamp)
                    if n < 0:
                        return -1
        for q in range(md_ptr[i], md_ptr[i + 1]):
            g = md_grp[q]
            kk = md_k[q]
            for p in range(grp_ptr[g], grp_ptr[g + 1]):
                j = grp_mem[p]
                if j == i or start[j] < 0:
                    continue
                v = uid[j]
                if v == u or abs(start[j] // H - d) >= kk:
                    continue
                if not movable[v] or swapped[v]:
                    return -1
                n = _listed(v, n, cap, level, s, conf, mark, stamp)
                if n < 0:
                    return -1
    # rooms chosen among candidates: a free one, else the one whose holders are fewest
    for m in range(unit_ptr[u], unit_ptr[u + 1]):
        i = unit_mem[m]
        k0 = m - unit_ptr[u]
        rsel[level, s, k0] = -1
        if cand_ptr[i] == cand_ptr[i + 1]:
            continue
        best = -1
        best_cost = BIG
        for q in range(cand_ptr[i], cand_ptr[i + 1]):
            r = cand[q]
            bad = False
            # a room taken by another lesson of the unit (fixed, or chosen before)
            for m2 in range(unit_ptr[u], unit_ptr[u + 1]):
                i2 = unit_mem[m2]
                if m2 < m and rsel[level, s, m2 - unit_ptr[u]] == r:
                    bad = True
                    break
                for q2 in range(res_ptr[i2], res_ptr[i2 + 1]):
                    if res[q2] == r:
                        bad = True
                        break
                if bad:
                    break
            if bad:
                continue
            cost = 0
            for x in range(s, s + dur[i]):
                if not room_free[r, x]:
                    bad = True
                    break
                a = occ[r, x]
                if a >= 0:
                    v = uid[a]
                    if v == u:
                        continue
                    if not movable[v] or swapped[v]:
                        bad = True
                        break
                    if mark[v] != stamp:
                        cost += 1
            if bad:
                continue
            if cost < best_cost:
                best_cost = cost
                best = r
                if cost == 0:
                    break
        if best < 0:
            return -1
        rsel[level, s, k0] = best
        for x in range(s, s + dur[i]):
            a = occ[best, x]
            if a >= 0:
                v = uid[a]
                if v == u:
                    continue
                n = _listed(v, n, cap, level, s, conf, mark, stamp)
                if n < 0:
                    return -1
    return n


@njit(cache=True, nogil=True)
def _vacate(u, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of):
    for m in range(unit_ptr[u], unit_ptr[u + 1]):
        i = unit_mem[m]
        s = start[i]
        if s < 0:
            continue
        for q in range(res_ptr[i], res_ptr[i + 1]):
            r = res[q]
            for x in range(s, s + dur[i]):
                if occ[r, x] == i:
                    occ[r, x] = -1
        r = room_of[i]
        if r >= 0:
            for x in range(s, s + dur[i]):
                if occ[r, x] == i:
                    occ[r, x] = -1
        start[i] = -1
        room_of[i] = -1


@njit(cache=True, nogil=True)
def _place(u, s, rooms, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of):
    """Put unit u at start s, its lessons in ``rooms`` (per lesson of the unit, -1 for none chosen)."""
    for m in range(unit_ptr[u], unit_ptr[u + 1]):
        i = unit_mem[m]
        for q in range(res_ptr[i], res_ptr[i + 1]):
            r = res[q]
            for x in range(s, s + dur[i]):
                occ[r, x] = i
        r = rooms[m - unit_ptr[u]]
        if r >= 0:
            for x in range(s, s + dur[i]):
                occ[r, x] = i
        start[i] = s
        room_of[i] = r


@njit(cache=True, nogil=True)
def _log(v, ctr, log_u, log_s, log_r, unit_ptr, unit_mem, start, room_of):
    k = ctr[N_LOG]
    log_u[k] = v
    log_s[k] = start[unit_mem[unit_ptr[v]]]
    for m in range(unit_ptr[v], unit_ptr[v + 1]):
        log_r[k, m - unit_ptr[v]] = room_of[unit_mem[m]]
    ctr[N_LOG] = k + 1


@njit(cache=True, nogil=True)
def _undo(
    upto, u, ctr, log_u, log_s, log_r, swapped, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of
):
    for k in range(ctr[N_LOG] - 1, upto - 1, -1):
        v = log_u[k]
        if v != u:
            swapped[v] = False
        _vacate(v, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
        if log_s[k] >= 0:
            _place(v, log_s[k], log_r[k], unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
    ctr[N_LOG] = upto


@njit(cache=True, nogil=True)
def _enter(
    u, level, S, H, allowed, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand, room_free,
    md_ptr, md_grp, md_k, grp_ptr, grp_mem, occ, start, room_of, swapped, conf, nconf, rsel, mark, order,
    ctr, log_u, log_s, log_r, tried, inv_perm, l0_conf, l0_rooms,
):  # fmt: skip
    """Look at every start of unit u at this level: True when one blocks nothing (u is then placed there);
    otherwise the starts are left in ``order[level]``, fewest blockers first."""
    # the allowed starts in random order (Fisher-Yates, in place)
    m = 0
    for s in range(S):
        if allowed[u, s]:
            j = np.random.randint(m + 1)
            order[level, m] = order[level, j]
            order[level, j] = s
            m += 1
    for p in range(m, S):
        order[level, p] = -1
    # from WIDE_LEVELS on only the best start is tried: a start that needs more pushed out than the best
    # so far is dropped as soon as that is clear
    cap = CAP
    for p in range(m):
        s = order[level, p]
        k = _conflicts(
            u, s, level, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand, room_free,
            md_ptr, md_grp, md_k, grp_ptr, grp_mem, H, occ, start, swapped, conf, rsel, mark, ctr, cap,
        )  # fmt: skip
        if k == 0:
            _log(u, ctr, log_u, log_s, log_r, unit_ptr, unit_mem, start, room_of)
            _place(u, s, rsel[level, s], unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
            return True
        nconf[level, s] = BIG if k < 0 else k
        if level >= WIDE_LEVELS and 0 < k < cap:
            cap = k
    # fewest blockers first, ties in the random order (a stable insertion sort)
    for p in range(1, m):
        s = order[level, p]
        k = nconf[level, s]
        q = p - 1
        while q >= 0 and nconf[level, order[level, q]] > k:
            order[level, q + 1] = order[level, q]
            q -= 1
        order[level, q + 1] = s
    if level == 0:
        # where the lesson goes if no chain places it: the start whose blockers were pushed out least
        ctr[L0_SLOT] = -1
        best0 = BIG
        best1 = BIG
        best2 = BIG
        best3 = BIG
        ties = 0
        for p in range(m):
            s = order[0, p]
            k = nconf[0, s]
            if k >= BIG:
                break
            mn = BIG
            tot = 0
            mi = BIG
            for q in range(k):
                v = conf[0, s, q]
                t = tried[v, start[unit_mem[unit_ptr[v]]]]
                tot += t
                mn = min(mn, t)
                mi = min(mi, inv_perm[v])
            if mn != best0:
                better = mn < best0
            elif tot != best1:
                better = tot < best1
            elif k != best2:
                better = k < best2
            else:
                better = mi < best3
            same = mn == best0 and tot == best1 and k == best2 and mi == best3
            if better:
                best0, best1, best2, best3 = mn, tot, k, mi
                ties = 1
                ctr[L0_SLOT] = s
            elif same:
                ties += 1
                if np.random.randint(ties) == 0:
                    ctr[L0_SLOT] = s
        s = ctr[L0_SLOT]
        if s >= 0:
            ctr[L0_N] = nconf[0, s]
            for q in range(nconf[0, s]):
                l0_conf[q] = conf[0, s, q]
            for q in range(unit_ptr[u + 1] - unit_ptr[u]):
                l0_rooms[q] = rsel[0, s, q]
    return False


@njit(cache=True, nogil=True)
def _swap(
    u0, limit, S, H, allowed, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand,
    room_free, md_ptr, md_grp, md_k, grp_ptr, grp_mem, occ, start, room_of, swapped, conf, nconf, rsel,
    mark, order, ctr, log_u, log_s, log_r, tried, inv_perm, l0_conf, l0_rooms, stk,
):  # fmt: skip
    """Place unit u0 (unplaced) by a chain of moves; True when it and everything it displaced are placed.

    A depth-first search kept on an explicit stack (``stk[level]``: the unit, the start tried, the
    blocker being placed, the undo mark), since numba cannot cache recursive functions."""
    ENTER, TRY, CHILD, RETURN = 0, 1, 2, 3
    level = 0
    stk[0, 0] = u0
    state = ENTER
    result = False
    while True:
        if state == ENTER:
            u = stk[level, 0]
            if level >= LEVEL_LIMIT or ctr[N_CALLS] >= limit:
                result = False
                state = RETURN
                continue
            ctr[N_CALLS] += 1
            ctr[CALLS] += 1
            if _enter(
                u, level, S, H, allowed, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand,
                room_free, md_ptr, md_grp, md_k, grp_ptr, grp_mem, occ, start, room_of, swapped, conf, nconf,
                rsel, mark, order, ctr, log_u, log_s, log_r, tried, inv_perm, l0_conf, l0_rooms,
            ):  # fmt: skip
                result = True
                state = RETURN
                continue
            stk[level, 1] = 0
            state = TRY
        elif state == TRY:
            u = stk[level, 0]
            p = stk[level, 1]
            if p >= S or order[level, p] < 0 or nconf[level, order[level, p]] >= BIG:
                result = False
                state = RETURN
                continue
            if level == LEVEL_LIMIT - 1 or ctr[N_CALLS] >= limit:
                result = False
                state = RETURN
                continue
            s = order[level, p]
            k = nconf[level, s]
            stk[level, 3] = ctr[N_LOG]
            for q in range(k):
                v = conf[level, s, q]
                _log(v, ctr, log_u, log_s, log_r, unit_ptr, unit_mem, start, room_of)
                _vacate(v, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
            _log(u, ctr, log_u, log_s, log_r, unit_ptr, unit_mem, start, room_of)
            _place(u, s, rsel[level, s], unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
            for q in range(k):
                swapped[conf[level, s, q]] = True
            stk[level, 2] = 0
            state = CHILD
        elif state == CHILD:
            s = order[level, stk[level, 1]]
            q = stk[level, 2]
            if q >= nconf[level, s]:
                result = True
                state = RETURN
                continue
            stk[level + 1, 0] = conf[level, s, q]
            level += 1
            state = ENTER
        else:  # RETURN: the result of this level goes to the level above
            if level == 0:
                return result
            level -= 1
            if result:
                stk[level, 2] += 1
                state = CHILD
            else:
                _undo(
                    stk[level, 3], stk[level, 0], ctr, log_u, log_s, log_r, swapped, unit_ptr, unit_mem, dur,
                    res_ptr, res, occ, start, room_of,
                )  # fmt: skip
                if level >= WIDE_LEVELS:
                    result = False
                    state = RETURN
                else:
                    stk[level, 1] += 1
                    state = TRY


@njit(cache=True, nogil=True)
def _seed(seed):
    np.random.seed(seed)


@njit(cache=True, nogil=True)
def _run(
    steps, limit, S, H, allowed, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand,
    room_free, md_ptr, md_grp, md_k, grp_ptr, grp_mem, occ, start, room_of, swapped, conf, nconf, rsel,
    mark, order, ctr, log_u, log_s, log_r, tried, perm, inv_perm, l0_conf, l0_rooms, tabu_a, tabu_t,
    best_start, best_room, size, stk,
):  # fmt: skip
    """Up to ``steps`` lessons (units) taken in turn; the state stays in the arrays between calls."""
    n_mov = ctr[N_MOV]
    for _ in range(steps):
        added = ctr[ADDED]
        if added >= n_mov:
            return
        ctr[STEPS] += 1
        u = perm[added]
        if start[unit_mem[unit_ptr[u]]] >= 0:
            ctr[ADDED] = added + 1
            continue
        swapped[:] = False
        swapped[u] = True
        ctr[N_CALLS] = 0
        ctr[N_LOG] = 0
        if _swap(
            u, limit, S, H, allowed, unit_ptr, unit_mem, uid, movable, dur, res_ptr, res, cand_ptr, cand,
            room_free, md_ptr, md_grp, md_k, grp_ptr, grp_mem, occ, start, room_of, swapped, conf, nconf, rsel,
            mark, order, ctr, log_u, log_s, log_r, tried, inv_perm, l0_conf, l0_rooms, stk,
        ):  # fmt: skip
            ctr[ADDED] = added + 1
            ctr[PLACED] += size[u]
        else:
            s = ctr[L0_SLOT]
            if s < 0:
                # nowhere at all: it goes last and stays out
                for p in range(added, n_mov - 1):
                    perm[p] = perm[p + 1]
                    inv_perm[perm[p]] = p
                perm[n_mov - 1] = u
                inv_perm[u] = n_mov - 1
                n_mov -= 1
                ctr[N_MOV] = n_mov
                continue
            k = ctr[L0_N]
            for q in range(k):
                v = l0_conf[q]
                t = start[unit_mem[unit_ptr[v]]]
                tried[v, t] += 1
                j = ctr[TABU_AT]
                if tabu_a[j] >= 0:
                    tried[tabu_a[j], tabu_t[j]] -= 1
                tabu_a[j] = v
                tabu_t[j] = t
                ctr[TABU_AT] = (j + 1) % tabu_a.shape[0]
                _vacate(v, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
                ctr[PLACED] -= size[v]
            _place(u, s, l0_rooms, unit_ptr, unit_mem, dur, res_ptr, res, occ, start, room_of)
            ctr[PLACED] += size[u]
            # the order: those still placed, the lesson, then the lessons it pushed out
            j = 0
            for p in range(added):
                v = perm[p]
                if start[unit_mem[unit_ptr[v]]] >= 0:
                    perm[j] = v
                    j += 1
            q0 = j
            perm[j] = u
            j += 1
            for q in range(k):
                perm[j] = l0_conf[q]
                j += 1
            for p in range(added + 1):
                inv_perm[perm[p]] = p
            ctr[ADDED] = q0 + 1
        if ctr[PLACED] > ctr[BEST]:
            ctr[BEST] = ctr[PLACED]
            best_start[:] = start
            best_room[:] = room_of


class RecursiveSwap:
    """The search over one timetable ``cur``/``rooms`` (activity -> start, activity -> chosen room), which
    it starts from (what is placed stays at the head of the order) and leaves its best state in."""

    def __init__(self, c: Compiled, cur: list[int | None], rooms: dict[int, int], seed: int) -> None:
        e = Ejection(c, [None] * len(c.acts), {}, seed)
        self.c = c
        self.cur = cur
        self.rooms = rooms
        n = len(c.acts)
        S = c.n_days * c.n_hours
        self.S = S
        units = sorted(set(e.unit_of.values()))
        index = {u: k for k, u in enumerate(units)}
        self.units = units
        nu = len(units)
        uid = np.array([index[e.unit_of[i]] for i in range(n)], dtype=np.int64)
        unit_ptr = np.zeros(nu + 1, dtype=np.int64)
        for k, u in enumerate(units):
            unit_ptr[k + 1] = unit_ptr[k] + len(u)
        unit_mem = np.array([i for u in units for i in u], dtype=np.int64)
        movable = np.array([all(i in e.handled for i in u) for u in units], dtype=np.bool_)
        self.max_unit = max((len(u) for u in units), default=1)
        # resources: teachers, students sets, rooms in one index
        T = len(c.teacher_names)
        G = len(c.subgroup_names)
        R = len(c.room_names)
        base = (0, T, T + G)
        res_ptr = np.zeros(n + 1, dtype=np.int64)
        res_l: list[int] = []
        cand_ptr = np.zeros(n + 1, dtype=np.int64)
        cand_l: list[int] = []
        for i, a in enumerate(c.acts):
            res_l += [base[kind] + x for kind, x in e.keys[i]]
            res_ptr[i + 1] = len(res_l)
            if a.rooms is not None and len(a.rooms) > 1:
                cand_l += [T + G + r for r in a.rooms]
            cand_ptr[i + 1] = len(cand_l)
        room_free = np.ones((T + G + R, S), dtype=np.bool_)
        for r, m in enumerate(e.room_blocked):
            for x in range(S):
                if m >> x & 1:
                    room_free[T + G + r, x] = False
        groups: list[list[int]] = []
        md: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for g, k, _cons, w in c.min_days:
            if w >= 100 and k >= 1:
                for i in g:
                    md[i].append((len(groups), k))
                groups.append(list(g))
        md_ptr = np.zeros(n + 1, dtype=np.int64)
        for i in range(n):
            md_ptr[i + 1] = md_ptr[i] + len(md[i])
        md_grp = np.array([gk[0] for x in md for gk in x], dtype=np.int64)
        md_k = np.array([gk[1] for x in md for gk in x], dtype=np.int64)
        grp_ptr = np.zeros(len(groups) + 1, dtype=np.int64)
        for k, g in enumerate(groups):
            grp_ptr[k + 1] = grp_ptr[k] + len(g)
        grp_mem = np.array([i for g in groups for i in g], dtype=np.int64)
        allowed = np.zeros((nu, S), dtype=np.bool_)
        for k, u in enumerate(units):
            for s in e.starts[u]:
                allowed[k, s] = True
        dur = np.array([a.duration for a in c.acts], dtype=np.int64)
        self.size = np.array([len(u) for u in units], dtype=np.int64)
        # the state
        occ = np.full((T + G + R, S), -1, dtype=np.int64)
        start = np.full(n, -1, dtype=np.int64)
        room_of = np.full(n, -1, dtype=np.int64)
        self.arrays = dict(
            allowed=allowed, unit_ptr=unit_ptr, unit_mem=unit_mem, uid=uid, movable=movable, dur=dur,
            res_ptr=res_ptr, res=np.array(res_l, dtype=np.int64), cand_ptr=cand_ptr,
            cand=np.array(cand_l, dtype=np.int64), room_free=room_free, md_ptr=md_ptr, md_grp=md_grp,
            md_k=md_k, grp_ptr=grp_ptr, grp_mem=grp_mem, occ=occ, start=start, room_of=room_of,
        )  # fmt: skip
        self.room_base = T + G
        # what is placed stays: lesson by lesson (a lesson this search does not move keeps its place even
        # when the others it starts with are out); a unit it moves is placed whole or not at all
        res_a = self.arrays["res"]
        for k, u in enumerate(units):
            if movable[k] and any(cur[i] != cur[u[0]] for i in u):
                continue
            for i in u:
                s0 = cur[i]
                if s0 is None:
                    continue
                held = rooms.get(i)
                r = T + G + held if held is not None and cand_ptr[i + 1] > cand_ptr[i] else -1
                for x in range(s0, s0 + int(dur[i])):
                    occ[res_a[res_ptr[i] : res_ptr[i + 1]], x] = i
                    if r >= 0:
                        occ[r, x] = i
                start[i] = s0
                room_of[i] = r
        # the order: what is placed first, then the most demanding
        weight = [max(e.weight[i] for i in u) for u in units]
        mov = [k for k in range(nu) if movable[k]]
        placed = [k for k in mov if start[unit_mem[unit_ptr[k]]] >= 0]
        todo = sorted(
            (k for k in mov if start[unit_mem[unit_ptr[k]]] < 0),
            key=lambda k: (-weight[k], int(allowed[k].sum())),
        )
        perm = np.array(placed + todo + [k for k in range(nu) if not movable[k]], dtype=np.int64)
        inv_perm = np.empty(nu, dtype=np.int64)
        inv_perm[perm] = np.arange(nu)
        self.ctr = np.zeros(12, dtype=np.int64)
        self.ctr[ADDED] = len(placed)
        self.ctr[N_MOV] = len(mov)
        self.ctr[PLACED] = sum(len(units[k]) for k in placed)
        self.ctr[BEST] = self.ctr[PLACED]
        self.seed = seed
        L = LEVEL_LIMIT + 1
        self.work = dict(
            swapped=np.zeros(nu, dtype=np.bool_), mark=np.zeros(nu, dtype=np.int64), conf=np.zeros((L, S, CAP), dtype=np.int64),
            nconf=np.zeros((L, S), dtype=np.int64), rsel=np.full((L, S, self.max_unit), -1, dtype=np.int64),
            order=np.zeros((L, S), dtype=np.int64), ctr=self.ctr,
            log_u=np.zeros(4 * n + 16, dtype=np.int64), log_s=np.zeros(4 * n + 16, dtype=np.int64),
            log_r=np.zeros((4 * n + 16, self.max_unit), dtype=np.int64), tried=np.zeros((nu, S), dtype=np.int64),
            perm=perm, inv_perm=inv_perm, l0_conf=np.zeros(CAP, dtype=np.int64),
            l0_rooms=np.zeros(self.max_unit, dtype=np.int64), tabu_a=np.full(nu * S, -1, dtype=np.int64),
            tabu_t=np.zeros(nu * S, dtype=np.int64), best_start=start.copy(), best_room=room_of.copy(),
            stk=np.zeros((L + 1, 4), dtype=np.int64),
        )  # fmt: skip
        self.n_lessons = sum(len(units[k]) for k in mov)

    def run(
        self,
        deadline: float,
        stop: Callable[[], bool],
        on_progress: Callable[[int], None] | None = None,
        patience: float = 10.0,
    ) -> int:
        """Place units until every handled lesson is placed, the deadline (time.monotonic) passes or
        ``stop()``; or, once no more than ``FEW`` lessons are out, no better state came for ``patience``
        seconds or for as long as the search took to that state, whichever is longer (with many out, long
        stalls are this search's normal way to the end; a search that took a minute to get within one
        lesson may well need another quarter of one for the last). The best state seen is left in
        ``cur``/``rooms``. Returns the lessons left unplaced."""
        a, w, ctr = self.arrays, self.work, self.ctr
        _seed(self.seed)
        limit = 2 * len(self.c.acts)
        best = int(ctr[BEST])
        began = last_better = last_report = time.monotonic()
        while ctr[ADDED] < ctr[N_MOV]:
            now = time.monotonic()
            waited = now - last_better
            stalled = self.n_lessons - best <= FEW and waited > max(patience, last_better - began)
            if now > deadline or stalled or stop():
                break
            _run(
                STEPS_PER_CHUNK, limit, self.S, self.c.n_hours, a["allowed"], a["unit_ptr"], a["unit_mem"],
                a["uid"], a["movable"], a["dur"], a["res_ptr"], a["res"], a["cand_ptr"], a["cand"],
                a["room_free"], a["md_ptr"], a["md_grp"], a["md_k"], a["grp_ptr"], a["grp_mem"], a["occ"],
                a["start"], a["room_of"], w["swapped"], w["conf"], w["nconf"], w["rsel"], w["mark"], w["order"],
                ctr, w["log_u"], w["log_s"], w["log_r"], w["tried"], w["perm"], w["inv_perm"], w["l0_conf"],
                w["l0_rooms"], w["tabu_a"], w["tabu_t"], w["best_start"], w["best_room"], self.size, w["stk"],
            )  # fmt: skip
            if ctr[BEST] > best:
                best = int(ctr[BEST])
                last_better = time.monotonic()
                if on_progress and last_better - last_report > 0.5:
                    last_report = last_better
                    on_progress(self.n_lessons - best)
        done = ctr[ADDED] >= ctr[N_MOV]
        start = a["start"] if done else w["best_start"]
        room_of = a["room_of"] if done else w["best_room"]
        c = self.c
        for i in range(len(c.acts)):
            s = int(start[i])
            self.cur[i] = s if s >= 0 else None
            r = int(room_of[i])
            if r >= 0:
                self.rooms[i] = r - self.room_base
            else:
                self.rooms.pop(i, None)
        return sum(1 for x in self.cur if x is None)


def warm() -> list[int | None]:
    """Compile the search (or load it from numba's cache) on a two-lesson school, so that the compile
    time (about 12 s after an install or a change of this module) is not spent inside a timed solve.
    Returns that school's timetable (two days of one hour, its lessons on different days)."""
    from . import model as m
    from .solver import compile_instance

    inst = m.Instance(name="warm", days=["D0", "D1"], hours=["0"])
    inst.teachers = {"T": m.Teacher("T")}
    inst.students_sets = {"C": m.StudentsSet("C", "year", 1, subgroups=("C",))}
    inst.years, inst.subgroups = ["C"], ["C"]
    inst.activities = {k: m.Activity(k, k, 1, 1, ("T",), "S", (), ("C",), True, ("C",), 1) for k in (1, 2)}
    inst.time_constraints = [m.BasicCompulsoryTime(), m.MinDaysBetweenActivities(activity_ids=(1, 2))]
    inst.space_constraints = [m.BasicCompulsorySpace()]
    c = compile_instance(inst)
    cur: list[int | None] = [None, None]
    RecursiveSwap(c, cur, {}, seed=1).run(time.monotonic() + 60, lambda: False)
    return cur
