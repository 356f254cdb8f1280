"""Reading leave: what approved leave covers on a day, and the lists people see.

``approved_cover`` is the interface other modules (attendance) use; leave never writes attendance.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Staff

from .models import ApproverRole, Kind, LeaveRequest, Reason, Status

HALVES = frozenset({"am", "pm"})


@dataclass(frozen=True)
class Cover:
    """What approved leave covers for one student on one day."""

    leave_id: int
    whole_day: bool
    halves: frozenset[str]
    periods: frozenset[int]
    reason_label: str

    def covers(self, period: int | None = None, half: str | None = None) -> bool:
        """Whether a period (number) or a half ("am"/"pm") of the day is excused.

        Without arguments: "the day" (true only for a whole day). Pass both the period and its half
        where known: a period is covered by a period-leave naming it or by a half-day leave of its half.
        """
        if self.whole_day:
            return True
        if period is not None and period in self.periods:
            return True
        return half is not None and half in self.halves


@dataclass(frozen=True)
class DayCover:
    whole_day: bool
    halves: frozenset[str]
    periods: frozenset[int]

    def overlaps(self, other: DayCover) -> bool:
        if self.whole_day or other.whole_day:
            return True
        if self.halves & other.halves or self.periods & other.periods:
            return True
        # A half against periods: the periods' halves are not known here, so a half-day leave and a
        # period leave on the same day are treated as overlapping (ask for one request instead).
        return bool((self.halves and other.periods) or (self.periods and other.halves))


def day_cover(
    kind: str,
    start_date: datetime.date,
    end_date: datetime.date,
    start_half: str,
    end_half: str,
    periods: Iterable[int],
    day: datetime.date,
) -> DayCover | None:
    """What a leave with these fields covers on day (None if nothing)."""
    if day < start_date or day > end_date:
        return None
    if kind == Kind.PERIODS:
        return DayCover(False, frozenset(), frozenset(int(p) for p in periods))
    if kind != Kind.HALF_DAYS:
        return DayCover(True, HALVES, frozenset())
    first = start_half or "am"
    last = end_half or "pm"
    if start_date == end_date:
        halves = frozenset(h for h in ("am", "pm") if first <= h <= last)  # "am" < "pm"
    elif day == start_date:
        halves = HALVES if first == "am" else frozenset({"pm"})
    elif day == end_date:
        halves = HALVES if last == "pm" else frozenset({"am"})
    else:
        halves = HALVES
    return DayCover(halves == HALVES, halves, frozenset())


def leave_day_cover(leave: Any, day: datetime.date) -> DayCover | None:
    return day_cover(
        leave.kind,
        leave.start_date,
        leave.end_date,
        leave.start_half,
        leave.end_half,
        leave.periods or (),
        day,
    )


def approved_cover(student_ids: Iterable[int], day: datetime.date) -> dict[int, Cover]:
    """Approved leave of these students on day, by student id. One query for any number of students.

    Several approved requests on one day (a morning and an afternoon) are merged; ``leave_id`` is the
    first of them.
    """
    ids = sorted({int(i) for i in student_ids})
    if not ids:
        return {}
    rows = (
        LeaveRequest.objects.filter(
            student_id__in=ids, status=Status.APPROVED, start_date__lte=day, end_date__gte=day
        )
        .order_by("student_id", "start_date", "pk")
        .values_list(
            "pk",
            "student_id",
            "kind",
            "start_date",
            "end_date",
            "start_half",
            "end_half",
            "periods",
            "reason",
        )
    )
    labels = dict(Reason.choices)
    out: dict[int, Cover] = {}
    for pk, student_id, kind, start, end, start_half, end_half, periods, reason in rows:
        part = day_cover(kind, start, end, start_half, end_half, periods or (), day)
        if part is None:  # pragma: no cover - the query already filters the dates
            continue
        previous = out.get(student_id)
        if previous is None:
            out[student_id] = Cover(
                pk, part.whole_day, part.halves, part.periods, str(labels.get(reason, reason))
            )
            continue
        halves = previous.halves | part.halves
        out[student_id] = Cover(
            previous.leave_id,
            previous.whole_day or part.whole_day or halves == HALVES,
            halves,
            previous.periods | part.periods,
            previous.reason_label,
        )
    return out


# --------------------------------------------------------------------------- who sees what


def visible_q(user: Any) -> Q:
    """Leave requests the user may see: their children's, their own (staff), their classes' (head
    teacher), their grade's (grade director), their school's (administrator, principal)."""
    scope = get_scope(user)
    q = Q(staff__person__user_id=user.pk)
    children = [g.student_id for g in scope.grants_of("guardian")]
    if children:
        q |= Q(student_id__in=children)
    classes = [g.class_id for g in scope.grants_of("head_teacher")]
    if classes:
        q |= Q(student__current_class_id__in=classes)
    for g in scope.grants_of("grade_director"):
        q |= Q(school_id=g.school_id, student__current_class__grade_id=g.grade_id)
    schools = [g.school_id for g in scope.grants_of("school_admin", "principal")]
    if schools:
        q |= Q(school_id__in=schools)
    return q


def visible_leaves(user: Any) -> QuerySet[LeaveRequest]:
    if not getattr(user, "is_authenticated", False):
        return LeaveRequest.objects.none()
    return LeaveRequest.objects.filter(visible_q(user))


def decidable_q(user: Any) -> Q | None:
    """Pending requests whose current step this user may decide (None: none at all)."""
    scope = get_scope(user)
    q: Q | None = None

    def add(part: Q) -> None:
        nonlocal q
        q = part if q is None else q | part

    classes = [g.class_id for g in scope.grants_of("head_teacher")]
    if classes:
        add(Q(current_role=ApproverRole.HEAD_TEACHER, student__current_class_id__in=classes))
    for g in scope.grants_of("grade_director"):
        add(
            Q(
                current_role=ApproverRole.GRADE_DIRECTOR,
                school_id=g.school_id,
                student__current_class__grade_id=g.grade_id,
            )
        )
    principals = [g.school_id for g in scope.grants_of("principal")]
    if principals:
        add(Q(current_role=ApproverRole.PRINCIPAL, school_id__in=principals))
    admins = [g.school_id for g in scope.grants_of("school_admin")]
    if admins:  # a school administrator may decide any step of their school
        add(Q(school_id__in=admins))
    if q is None:
        return None
    return q & Q(status=Status.PENDING)


def waiting_for(user: Any) -> QuerySet[LeaveRequest]:
    """Requests waiting for this user's decision, oldest first."""
    q = decidable_q(user) if getattr(user, "is_authenticated", False) else None
    if q is None:
        return LeaveRequest.objects.none()
    return LeaveRequest.objects.filter(q).order_by("step_started_at", "pk")


def mine(user: Any) -> QuerySet[LeaveRequest]:
    """Requests for the user's children (any guardianship) and the user's own staff leave, newest first."""
    if not getattr(user, "is_authenticated", False):
        return LeaveRequest.objects.none()
    children = [g.student_id for g in get_scope(user).grants_of("guardian")]
    q = Q(staff__person__user_id=user.pk)
    if children:
        q |= Q(student_id__in=children)
    return LeaveRequest.objects.filter(q).order_by("-created_at", "-pk")


def staff_schools(user: Any) -> list[tuple[int, str]]:
    """The schools where the user is active staff (where they may apply for their own leave), as
    (id, name)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Staff.objects.filter(person__user=user, active=True)
        .order_by("school__name", "school_id")
        .values_list("school_id", "school__name")
        .distinct()
    )
