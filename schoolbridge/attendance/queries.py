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


# ------------------------------------------------------------------------------------ today


BOARD_CATEGORIES = ("present", "late", "absent", "on_leave", "unaccounted")


def _half(moment: datetime.time) -> str:
    return "am" if moment < datetime.time(12, 0) else "pm"


def leave_applies(cover: Any, half: str) -> bool:
    """Approved leave that excuses the student at this point of the day (the whole day or this half)."""
    return bool(cover.covers() or cover.covers(half=half))


def category_of(status: str | None, leave_id: int | None, cover: Any, half: str) -> str:
    """present / late / absent / on_leave / unaccounted for one student on a day."""
    if status is not None:
        if status in (Status.PRESENT, Status.EARLY_LEAVE):
            return "present"
        if status == Status.LATE:
            return "late"
        if status == Status.EXCUSED and (leave_id or (cover is not None and leave_applies(cover, half))):
            return "on_leave"
        return "absent"
    if cover is not None and leave_applies(cover, half):
        return "on_leave"
    return "unaccounted"


def _day_marks(
    student_ids: Iterable[int] | None, day: datetime.date, school_id: int | None = None
) -> dict[int, Any]:
    """The mark that speaks for each student's day: the daily register's, else the first period's. One query."""
    qs = Mark.objects.filter(date=day)
    if school_id is not None:
        qs = qs.filter(school_id=school_id)
    if student_ids is not None:
        qs = qs.filter(student_id__in=list(student_ids))
    chosen: dict[int, Any] = {}
    for row in qs.values("student_id", "status", "leave_id", "arrived_at", "register__period"):
        sid = row["student_id"]
        prev = chosen.get(sid)
        period = row["register__period"]
        if prev is None or (
            prev["register__period"] is not None and (period is None or period < prev["register__period"])
        ):
            chosen[sid] = row
    return chosen


@dataclass
class BoardStudent:
    student_id: int
    name: str
    student_number: str
    klass_id: int
    klass_name: str


@dataclass
class Board:
    day: datetime.date
    counts: dict[str, int]
    unaccounted: list[BoardStudent]
    total: int


def roster_of_day(
    school_id: int, day: datetime.date, class_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Enrolled students of a school's classes (or of these classes) on day, with their class. One query."""
    qs = Enrollment.objects.filter(
        school_id=school_id, start_date__lte=day, student__status="enrolled"
    ).filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
    if class_ids is not None:
        qs = qs.filter(klass_id__in=list(class_ids))
    rows = qs.order_by(
        "klass__grade__order",
        "klass__name",
        "student__person__family_name",
        "student__person__given_name",
    ).values(
        "student_id",
        "klass_id",
        "klass__name",
        "student__student_number",
        "student__person__family_name",
        "student__person__given_name",
    )
    return [dict(row) for row in rows]


def today_board(
    school: School,
    day: datetime.date,
    class_ids: Iterable[int] | None = None,
    at: datetime.time | None = None,
) -> Board:
    """Counts of present / late / absent / on leave / unaccounted and the unaccounted students, for a school's
    classes (or some of them) on a day. Three queries whatever the number of students."""
    from schoolbridge.core.models import Person

    half = _half(at or datetime.time(9, 0))
    rows = roster_of_day(school.pk, day, class_ids)
    ids = [r["student_id"] for r in rows]
    marks = _day_marks(None, day, school.pk) if class_ids is None else _day_marks(ids, day)
    covers = all_covers(ids, day)
    counts = dict.fromkeys(BOARD_CATEGORIES, 0)
    unaccounted: list[BoardStudent] = []
    seen: set[int] = set()
    for r in rows:
        sid = r["student_id"]
        if sid in seen:
            continue
        seen.add(sid)
        m = marks.get(sid)
        cat = category_of(m["status"] if m else None, m["leave_id"] if m else None, covers.get(sid), half)
        counts[cat] += 1
        if cat == "unaccounted":
            name = Person(
                family_name=r["student__person__family_name"], given_name=r["student__person__given_name"]
            ).full_name
            unaccounted.append(
                BoardStudent(sid, name, r["student__student_number"], r["klass_id"], r["klass__name"])
            )
    return Board(day, counts, unaccounted, len(seen))


@dataclass(frozen=True)
class StatusInfo:
    label: str
    status: str  # a mark status, "on_leave", or "none" (nothing recorded yet)
    time: datetime.time | None  # local time of the arrival, or of the departure once the child left


def today_status(student_ids: Iterable[int], day: datetime.date) -> dict[int, StatusInfo]:
    """What a guardian sees about each child's day: arrived (when), late, absent, on leave, left school (when).
    Three queries for any number of students."""
    from django.db.models import Max
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from .models import Direction, GateEvent

    ids = sorted({int(i) for i in student_ids})
    if not ids:
        return {}
    marks = _day_marks(ids, day)
    covers = all_covers(ids, day)
    left = dict(
        GateEvent.objects.filter(student_id__in=ids, day=day, direction=Direction.OUT)
        .values("student_id")
        .annotate(t=Max("time"))
        .values_list("student_id", "t")
    )
    labels = {
        Status.PRESENT: _("Present"),
        Status.ABSENT: _("Absent"),
        Status.LATE: _("Late"),
        Status.EARLY_LEAVE: _("Left early"),
        Status.SICK: _("Sick"),
        Status.EXCUSED: _("Excused"),
    }
    out: dict[int, StatusInfo] = {}
    for sid in ids:
        m = marks.get(sid)
        cover = covers.get(sid)
        arrived = (
            timezone.localtime(m["arrived_at"]).time().replace(second=0, microsecond=0)
            if m and m["arrived_at"]
            else None
        )
        departed = left.get(sid)
        if m is None:
            if cover is not None:
                out[sid] = StatusInfo(
                    _("On leave: %(reason)s") % {"reason": cover.reason_label}, "on_leave", None
                )
            else:
                out[sid] = StatusInfo(_("No arrival recorded yet"), "none", None)
            continue
        status = m["status"]
        if departed is not None and status in (Status.PRESENT, Status.LATE, Status.EARLY_LEAVE):
            t = timezone.localtime(departed).time().replace(second=0, microsecond=0)
            out[sid] = StatusInfo(_("Left school at %(time)s") % {"time": t.strftime("%H:%M")}, status, t)
        elif status == Status.PRESENT and arrived is not None:
            out[sid] = StatusInfo(
                _("Arrived at %(time)s") % {"time": arrived.strftime("%H:%M")}, status, arrived
            )
        elif status == Status.LATE and arrived is not None:
            out[sid] = StatusInfo(
                _("Late: arrived at %(time)s") % {"time": arrived.strftime("%H:%M")}, status, arrived
            )
        elif status == Status.EXCUSED and (m["leave_id"] or cover is not None):
            reason = cover.reason_label if cover is not None else labels[Status.EXCUSED]
            out[sid] = StatusInfo(_("On leave: %(reason)s") % {"reason": reason}, "on_leave", None)
        else:
            out[sid] = StatusInfo(str(labels.get(status, status)), status, arrived)
    return out
