"""Reading attendance: the roster of a register, approved leave on it, and summaries.

Callers check access first (views and the API go through the access layer); these functions take
objects the caller may already see. Every function runs a constant number of queries.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from schoolbridge.core.models import Class, Enrollment, School, Student

from .models import ABSENCE_STATUSES, AttendanceSettings, Mark, Mode, Register, Status

try:  # leave is a separate app; attendance only reads approved leave through this one function
    from schoolbridge.leave.queries import Cover, approved_cover
except ImportError:  # pragma: no cover - only while the leave app is not installed
    Cover = Any  # type: ignore[misc,assignment]

    def approved_cover(student_ids: Iterable[int], day: datetime.date) -> dict[int, Any]:  # type: ignore[misc]
        return {}


def settings_for(school: School | int) -> AttendanceSettings:
    """The school's attendance settings (defaults if never set: daily registers, cutoff 18:00 the same day)."""
    sid = school.pk if isinstance(school, School) else school
    found = AttendanceSettings.objects.filter(school_id=sid).first()
    if found is not None:
        return found
    if isinstance(school, School):
        return AttendanceSettings(school_id=sid, district_id=school.district_id)
    return AttendanceSettings(school_id=sid)


def roster_q(klass: Class | int, day: datetime.date) -> Q:
    kid = klass.pk if isinstance(klass, Class) else klass
    return Q(
        enrollments__klass_id=kid,
        enrollments__start_date__lte=day,
    ) & (Q(enrollments__end_date__isnull=True) | Q(enrollments__end_date__gt=day))


def roster(klass: Class | int, day: datetime.date) -> list[Student]:
    """The students in the class on day (by enrollment), in name order. One query."""
    return list(
        Student.objects.filter(roster_q(klass, day))
        .select_related("person")
        .order_by("person__family_name", "person__given_name", "student_number", "pk")
        .distinct()
    )


def all_covers(student_ids: Iterable[int], day: datetime.date) -> dict[int, Any]:
    return approved_cover(student_ids, day)


def cover_applies(cover: Any, period: int | None, half: str) -> bool:
    if period is None:
        return bool(cover.covers())
    return bool(cover.covers(period=period, half=half or None))


def covers_for(
    student_ids: Iterable[int], day: datetime.date, period: int | None, half: str
) -> dict[int, Any]:
    """Approved leave that excuses each student from this register (the day, or the period)."""
    return {sid: c for sid, c in all_covers(student_ids, day).items() if cover_applies(c, period, half)}


# ------------------------------------------------------------------------------------ register page


@dataclass
class Row:
    student: Student
    status: str
    note: str
    source: str
    leave: Any  # Cover | None: any approved leave on the day
    leave_applies: bool  # the leave excuses this register


@dataclass
class RegisterView:
    klass: Class
    day: datetime.date
    period: int | None
    half: str
    register: Register | None
    rows: list[Row] = field(default_factory=list)

    @property
    def taken(self) -> bool:
        return self.register is not None and self.register.taken_at is not None

    def counts(self) -> dict[str, int]:
        c = Counter(r.status for r in self.rows)
        return {s: c.get(s, 0) for s in Status.values}


def register_view(klass: Class, day: datetime.date, period: int | None, half: str = "") -> RegisterView:
    """The roster with the saved marks (or the defaults: present, excused for approved leave). Four queries."""
    register = (
        Register.objects.filter(klass=klass, date=day, period=period).select_related("taken_by").first()
    )
    students = roster(klass, day)
    covers = all_covers([s.pk for s in students], day)
    marks = {m.student_id: m for m in Mark.objects.filter(register=register)} if register else {}
    view = RegisterView(klass, day, period, register.half if register else half, register)
    for s in students:
        cover = covers.get(s.pk)
        applies = cover is not None and cover_applies(cover, period, view.half)
        mark = marks.get(s.pk)
        if mark is not None:
            row = Row(s, mark.status, mark.note, mark.source, cover, applies)
        else:
            row = Row(s, Status.EXCUSED if applies else Status.PRESENT, "", "", cover, applies)
        view.rows.append(row)
    return view


# ---------------------------------------------------------------------------------------- summaries


def _rate(counts: dict[str, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    attended = total - sum(counts.get(s, 0) for s in ABSENCE_STATUSES)
    return attended / total


@dataclass
class StudentSummary:
    counts: dict[str, int]
    total: int
    rate: float | None
    days_absent: list[tuple[datetime.date, str, str]]  # date, status, note (not present)


def student_summary(student: Student, start: datetime.date, end: datetime.date) -> StudentSummary:
    """Marks of one student between two dates: counts per status, attendance rate, the exceptions."""
    marks = Mark.objects.filter(student=student, date__gte=start, date__lte=end)
    counts = {s: 0 for s in Status.values}
    for row in marks.values("status").annotate(n=Count("pk")).order_by():
        counts[row["status"]] = row["n"]
    exceptions = list(
        marks.exclude(status=Status.PRESENT).order_by("-date").values_list("date", "status", "note")[:100]
    )
    return StudentSummary(counts, sum(counts.values()), _rate(counts), exceptions)


@dataclass
class ClassDay:
    klass: Class
    students: int
    registers: int
    taken: int
    counts: dict[str, int]

    @property
    def rate(self) -> float | None:
        return _rate(self.counts)


def school_day(school: School, day: datetime.date, classes: Iterable[Class] | None = None) -> list[ClassDay]:
    """Per class of the school (or of the given classes) on day: students, registers taken, mark counts.
    Three queries whatever the number of classes."""
    if classes is None:
        klasses = list(
            Class.objects.filter(school=school, year__start_date__lte=day, year__end_date__gte=day)
            .select_related("grade")
            .order_by("grade__order", "name")
        )
    else:
        klasses = list(classes)
    ids = [k.pk for k in klasses]
    sizes = dict(
        Enrollment.objects.filter(klass_id__in=ids, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        .values("klass_id")
        .annotate(n=Count("student_id", distinct=True))
        .values_list("klass_id", "n")
    )
    regs: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for kid, taken_at in Register.objects.filter(klass_id__in=ids, date=day).values_list(
        "klass_id", "taken_at"
    ):
        regs[kid][0] += 1
        regs[kid][1] += taken_at is not None
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {s: 0 for s in Status.values})
    for kid, status, n in (
        Mark.objects.filter(register__klass_id__in=ids, date=day)
        .values("register__klass_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("register__klass_id", "status", "n")
    ):
        counts[kid][status] = n
    return [ClassDay(k, sizes.get(k.pk, 0), regs[k.pk][0], regs[k.pk][1], counts[k.pk]) for k in klasses]


def class_day(klass: Class, day: datetime.date) -> ClassDay:
    return school_day(klass.school, day, [klass])[0]


@dataclass
class MonthGrid:
    days: list[datetime.date]
    students: list[Student]
    cells: dict[tuple[int, datetime.date], list[str]]  # (student, day) -> statuses (one per register)


def class_month(klass: Class, first: datetime.date, last: datetime.date) -> MonthGrid:
    """The marks of a class's students over a date range, by student and day. Three queries."""
    from schoolbridge.schoolcal.queries import school_days

    days = school_days(klass.school_id, first, last)
    students = list(
        Student.objects.filter(enrollments__klass=klass, enrollments__start_date__lte=last)
        .filter(Q(enrollments__end_date__isnull=True) | Q(enrollments__end_date__gt=first))
        .select_related("person")
        .order_by("person__family_name", "person__given_name", "student_number", "pk")
        .distinct()
    )
    cells: dict[tuple[int, datetime.date], list[str]] = defaultdict(list)
    for sid, day, status in (
        Mark.objects.filter(register__klass=klass, date__gte=first, date__lte=last)
        .order_by("date", "register__period")
        .values_list("student_id", "date", "status")
    ):
        cells[(sid, day)].append(status)
    return MonthGrid(days, students, dict(cells))


def teacher_registers(user: Any, classes: list[Class], day: datetime.date) -> list[dict[str, Any]]:
    """For the teacher's home: each class with its register(s) of the day and whether they are taken."""
    from schoolbridge.schoolcal.queries import is_school_day, periods

    out: list[dict[str, Any]] = []
    by_school: dict[int, tuple[AttendanceSettings, bool, list[Any]]] = {}
    taken = {
        (kid, period): taken_at
        for kid, period, taken_at in Register.objects.filter(klass__in=classes, date=day).values_list(
            "klass_id", "period", "taken_at"
        )
    }
    for k in classes:
        if k.school_id not in by_school:
            cfg = settings_for(k.school)
            school_day_ = is_school_day(k.school_id, day)
            ps = periods(k.school_id, day) if cfg.mode == Mode.PERIOD and school_day_ else []
            by_school[k.school_id] = (cfg, school_day_, ps)
        cfg, is_day, ps = by_school[k.school_id]
        slots = [(p.number, p.name or None) for p in ps] if cfg.mode == Mode.PERIOD else [(None, None)]
        out.append(
            {
                "klass": k,
                "school_day": is_day,
                "registers": [
                    {"period": n, "name": name, "taken": taken.get((k.pk, n)) is not None}
                    for n, name in slots
                ],
            }
        )
    return out
