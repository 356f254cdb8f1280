"""Writes to attendance. take_register saves a whole register with a constant number of queries."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, InvalidInput, NotFound, Refused
from schoolbridge.core.models import Class, Enrollment, School
from schoolbridge.schoolcal import queries as calendar

from . import permissions
from .models import AttendanceSettings, Correction, Mark, Mode, Register, Source, Status
from .queries import covers_for, roster, settings_for

NOTE_MAX = 200


RegisterKey = tuple[int, datetime.date, int | None]  # class, day, period (None: the day's register)


def ensure_registers(
    school: School,
    cfg: AttendanceSettings,
    wanted: set[RegisterKey],
    halves: Mapping[tuple[datetime.date, int | None], str] | None = None,
    lock: bool = False,
) -> tuple[dict[RegisterKey, Register], set[RegisterKey]]:
    """The registers of ``wanted``, creating the missing ones (not taken; a period's half from ``halves``)
    in one statement; at most three queries. Returns the registers by key and the keys created here.

    With ``lock`` the registers are locked for the caller's transaction and a register someone else
    creates meanwhile fails it (what was created here must be exactly that); without, such a register
    is simply taken."""
    kids = {k for k, _d, _p in wanted}
    dates = {d for _k, d, _p in wanted}

    def load() -> dict[RegisterKey, Register]:
        qs = Register.objects.filter(klass_id__in=kids, date__in=dates)
        if lock:
            qs = qs.select_for_update()
        return {(r.klass_id, r.date, r.period): r for r in qs}

    found = load()
    missing = wanted - set(found)
    if missing:
        Register.objects.bulk_create(
            [
                Register(
                    district_id=school.district_id,
                    school_id=school.pk,
                    klass_id=kid,
                    date=day,
                    period=period,
                    half=(halves or {}).get((day, period), "") if period is not None else "",
                    cutoff_at=cutoff_for(cfg, day),
                )
                for kid, day, period in sorted(missing, key=lambda k: (k[0], k[1], k[2] or 0))
            ],
            ignore_conflicts=not lock,
        )
        found = load()
    return found, missing


def cutoff_for(cfg: AttendanceSettings, day: datetime.date) -> datetime.datetime:
    naive = datetime.datetime.combine(day + datetime.timedelta(days=cfg.cutoff_days), cfg.cutoff_time)
    return timezone.make_aware(naive)


def _class(klass: Class | int) -> Class:
    if isinstance(klass, Class):
        if klass.pk:
            return klass
        raise NotFound
    found = Class.objects.select_related("school").filter(pk=klass).first() if klass else None
    if found is None:
        raise NotFound
    return found


def resolve_period(school: School, cfg: AttendanceSettings, day: datetime.date, period: int | None) -> str:
    """Check the period against the school's mode and bell schedule; return its half ("" if unknown)."""
    if cfg.mode == Mode.DAILY:
        if period is not None:
            raise InvalidInput({"period": [_("This school takes one register a day, not per period.")]})
        return ""
    if period is None:
        raise InvalidInput({"period": [_("Choose the period: this school takes a register every period.")]})
    schedule = calendar.periods(school, day)
    if not schedule:
        if not 1 <= period <= 20:
            raise InvalidInput({"period": [_("No such period on this day.")]})
        return ""
    for p in schedule:
        if p.number == period:
            return p.half
    raise InvalidInput({"period": [_("No such period on this day.")]})


def day_periods(school: School | int, day: datetime.date) -> dict[int, str]:
    """The periods a register may have on a day → their half: the bell schedule's, or 1 to 20 (half unknown)
    when the day has none (as resolve_period allows)."""
    schedule = calendar.periods(school, day)
    if not schedule:
        return dict.fromkeys(range(1, 21), "")
    return {p.number: p.half for p in schedule}


@action
def take_register(
    actor: Any,
    klass: Class | int,
    day: datetime.date,
    period: int | None = None,
    exceptions: Mapping[int, tuple[str, str]] | None = None,
    reason: str = "",
) -> Register:
    """Save the register of a class for a day (and period): everyone present unless listed in exceptions
    ({student_id: (status, note)}); a student on approved leave defaults to excused; a gate mark is kept.

    Until the cutoff the class's teachers may save it. After the cutoff only the head teacher or a school
    administrator may, with a reason; every changed mark gets a Correction row and the audit row keeps
    before and after. Out of scope: NotFound. Bad input: InvalidInput, nothing written.
    """
    k = _class(klass)
    exceptions = dict(exceptions or {})
    teacher = permissions.may_take(actor, k)
    corrector = permissions.may_correct(actor, k)
    if not teacher and not corrector:
        raise NotFound
    school = k.school
    cfg = settings_for(school)
    errors = Errors()
    today = timezone.localdate()
    if day > today:
        errors.add("date", _("A register cannot be taken for a day that has not come yet."))
    elif not calendar.is_school_day(school, day):
        errors.add("date", _("%(day)s is not a school day.") % {"day": date_format(day, "SHORT_DATE_FORMAT")})
    errors.raise_if_any()
    half = resolve_period(school, cfg, day, period)

    register = Register.objects.select_for_update().filter(klass=k, date=day, period=period).first()
    cutoff_at = register.cutoff_at if register else cutoff_for(cfg, day)
    late = timezone.now() > cutoff_at
    reason = (reason or "").strip()
    if late:
        if not corrector:
            raise Refused(
                _(
                    "This register closed at %(time)s. Ask the head teacher or a school administrator "
                    "to correct it."
                )
                % {"time": date_format(timezone.localtime(cutoff_at), "SHORT_DATETIME_FORMAT")}
            )
        if not reason:
            raise InvalidInput({"reason": [_("Give a reason for correcting the register after its cutoff.")]})
    if len(reason) > 300:
        raise InvalidInput({"reason": [_("Keep the reason under 300 characters.")]})

    students = roster(k, day)
    ids = {s.pk for s in students}
    for sid, value in exceptions.items():
        try:
            status, note = value
        except (TypeError, ValueError):
            errors.add(f"exceptions.{sid}", _("Give a status and a note."))
            continue
        if sid not in ids:
            errors.add(f"exceptions.{sid}", _("This student is not in the class on that day."))
        elif status not in Status.values:
            errors.add(f"exceptions.{sid}", _("Choose one of the statuses offered."))
        elif len(note or "") > NOTE_MAX:
            errors.add(f"exceptions.{sid}", _("Keep the note under 200 characters."))
    errors.raise_if_any()

    now = timezone.now()
    if register is None:
        register = Register.objects.create(
            district_id=k.district_id,
            school_id=k.school_id,
            klass=k,
            date=day,
            period=period,
            half=half,
            cutoff_at=cutoff_at,
        )
        reg_before = None
    else:
        reg_before = snapshot(register, ("taken_by", "taken_at"))
    covers = covers_for(ids, day, period, half)
    existing = {m.student_id: m for m in Mark.objects.select_for_update().filter(register=register)}
    source = Source.CORRECTION if late else Source.REGISTER

    new: list[Mark] = []
    changed: list[tuple[Mark, str, str]] = []  # mark, old status, old note
    for student in students:
        sid = student.pk
        mark = existing.get(sid)
        leave_id = covers[sid].leave_id if sid in covers else None
        if sid in exceptions:
            status, note = exceptions[sid][0], (exceptions[sid][1] or "").strip()
        elif mark is not None and mark.source == Source.GATE:
            status, note = mark.status, mark.note
        elif leave_id is not None:
            status, note = Status.EXCUSED, ""
        else:
            status, note = Status.PRESENT, ""
        if status != Status.EXCUSED:
            leave_id = None
        if mark is None:
            new.append(
                Mark(
                    district_id=k.district_id,
                    school_id=k.school_id,
                    register=register,
                    student_id=sid,
                    date=day,
                    status=status,
                    note=note,
                    source=source,
                    leave_id=leave_id,
                    updated_by=actor,
                )
            )
        elif (mark.status, mark.note, mark.leave_id) != (status, note, leave_id):
            changed.append((mark, mark.status, mark.note))
            mark.status, mark.note, mark.leave_id = status, note, leave_id
            mark.source, mark.updated_by, mark.updated_at = source, actor, now
    if new:
        Mark.objects.bulk_create(new)
    if changed:
        Mark.objects.bulk_update(
            [m for m, _s, _n in changed], ["status", "note", "leave_id", "source", "updated_by", "updated_at"]
        )
    if late:
        corrections = [
            Correction(
                district_id=k.district_id,
                school_id=k.school_id,
                mark=m,
                actor=actor,
                reason=reason,
                before_status=old_status,
                after_status=m.status,
                before_note=old_note,
                after_note=m.note,
            )
            for m, old_status, old_note in changed
        ] + [
            Correction(
                district_id=k.district_id,
                school_id=k.school_id,
                mark=m,
                actor=actor,
                reason=reason,
                after_status=m.status,
                after_note=m.note,
            )
            for m in new
        ]
        Correction.objects.bulk_create(corrections)
    register.taken_by = actor
    register.taken_at = now
    register.save(update_fields=["taken_by", "taken_at"])

    def shown(status: str, note: str) -> list[str]:
        return [status, note]

    before = {
        "register": reg_before,
        "marks": {str(m.student_id): shown(s, n) for m, s, n in changed},
    }
    after: dict[str, Any] = {
        "register": snapshot(register, ("taken_by", "taken_at")),
        "marks": {str(m.student_id): shown(m.status, m.note) for m, _s, _n in changed},
        "new_exceptions": {
            str(m.student_id): shown(m.status, m.note) for m in new if m.status != Status.PRESENT
        },
        "new_marks": len(new),
    }
    if late:
        after["reason"] = reason
    record(
        actor, "attendance.register.correct" if late else "attendance.register.take", register, before, after
    )
    return register


@action
def set_attendance_settings(
    actor: Any,
    school: School | int,
    mode: str,
    cutoff_time: datetime.time,
    cutoff_days: int = 0,
    late_after: datetime.time | None = None,
    alert_at: datetime.time | None = None,
    departure_notices: bool | None = None,
) -> AttendanceSettings:
    """The school's register mode and cutoff, and the gate's late time, absence alert time and departure
    notices (school.manage). Arguments left None keep their value."""
    sid = school.pk if isinstance(school, School) else school
    s = get_scope(actor).queryset("school.manage").filter(pk=sid).first() if sid else None
    if s is None:
        raise NotFound
    errors = Errors()
    if mode not in Mode.values:
        errors.add("mode", _("Choose daily or per-period registers."))
    if not 0 <= int(cutoff_days) <= 7:
        errors.add("cutoff_days", _("Between 0 and 7 days."))
    errors.raise_if_any()
    cfg = AttendanceSettings.objects.select_for_update().filter(school=s).first()
    before = snapshot(cfg)
    if cfg is None:
        cfg = AttendanceSettings(district_id=s.district_id, school=s)
    cfg.mode, cfg.cutoff_time, cfg.cutoff_days = mode, cutoff_time, int(cutoff_days)
    if late_after is not None:
        cfg.late_after = late_after
    if alert_at is not None:
        cfg.alert_at = alert_at
    if departure_notices is not None:
        cfg.departure_notices = bool(departure_notices)
    cfg.save()
    record(actor, "attendance.settings.set", cfg, before, snapshot(cfg))
    return cfg


# ------------------------------------------------------------------------------------------ import


@dataclass(frozen=True)
class ImportedMark:
    """One past mark brought from another system. ref is the caller's name for it (the row of the file)."""

    ref: int
    student_id: int
    klass_id: int
    day: datetime.date
    period: int | None
    status: str
    note: str = ""


IMPORT_FIELDS = ["status", "note", "source", "leave_id", "updated_by", "updated_at"]


def _import_scope(actor: Any, school: School | int, student_ids: set[int]) -> School:
    """The school (school.manage) and the students' records (student.manage), else NotFound. Whether each
    student was in the school is checked against their enrollments."""
    sid = school.pk if isinstance(school, School) else school
    scope = get_scope(actor)
    found = scope.queryset("school.manage").filter(pk=sid).first() if sid else None
    if found is None:
        raise NotFound
    allowed: set[int] = set()
    wanted = sorted(student_ids)
    for i in range(0, len(wanted), 1000):
        allowed.update(
            scope.queryset("student.manage").filter(pk__in=wanted[i : i + 1000]).values_list("pk", flat=True)
        )
    if allowed != student_ids:
        raise NotFound
    return found


@action
def import_marks(
    actor: Any, school: School | int, marks: Sequence[ImportedMark]
) -> dict[int, dict[str, Any]]:
    """Write past attendance (the import hub's "attendance history") in one transaction.

    Each mark goes on its class's register of the day (the daily register, or the period's register when a
    period is given and the school takes registers per period), creating the register when there is none
    (not taken: taken_by and taken_at stay empty). An existing mark of the student for that day and period
    (on whichever class's register) is updated when the status differs, or the note does (a blank note keeps
    the old one); the same status and note change nothing. Nothing else happens: no absence alert, no
    notification, no Correction row (the audit log keeps before and after, one row per register).

    Refused with located errors (InvalidInput keyed by ref), nothing written: a day that has not come yet or
    is not a school day of the school's calendar, a period the school's mode or bell schedule does not have,
    a student without an enrollment in that class, a class of another school year, an unknown status, a
    note over 200 characters, the same student, day and period twice.

    Returns, per ref: {"mark", "register", "register_created", "created", "written": [status, note],
    "before": {status, note, source, leave_id, updated_by} or None} ({"mark", "unchanged": True} when
    nothing changed): what undo_imported_marks needs to reverse it.
    """
    marks = list(marks)
    if not marks:
        return {}
    found = _import_scope(actor, school, {mk.student_id for mk in marks})
    cfg = settings_for(found)
    today = timezone.localdate()
    errors = Errors()
    days = sorted({mk.day for mk in marks})
    school_days = set(calendar.school_days(found, days[0], days[-1]))
    classes = {
        k.pk: k
        for k in Class.objects.filter(
            pk__in=list({mk.klass_id for mk in marks}), school=found
        ).select_related("year")
    }
    enrolled = set(
        Enrollment.objects.filter(
            school=found,
            student_id__in=list({mk.student_id for mk in marks}),
            klass_id__in=list(classes),
        ).values_list("student_id", "klass_id")
    )
    halves: dict[tuple[datetime.date, int | None], str] = {}
    schedules: dict[datetime.date, dict[int, str]] = {}
    seen: dict[tuple[int, datetime.date, int | None], int] = {}
    for mk in marks:
        key = str(mk.ref)
        shown = date_format(mk.day, "SHORT_DATE_FORMAT")
        klass = classes.get(mk.klass_id)
        if mk.day > today:
            errors.add(key, _("%(day)s has not come yet.") % {"day": shown})
        elif mk.day not in school_days:
            errors.add(key, _("%(day)s is not a school day.") % {"day": shown})
        if klass is None:
            errors.add(key, _("This class is not a class of this school."))
        elif not klass.year.start_date <= mk.day <= klass.year.end_date:
            errors.add(key, _("%(day)s is outside the school year of the class %(class)s.")
                       % {"day": shown, "class": klass.name})  # fmt: skip
        elif (mk.student_id, mk.klass_id) not in enrolled:
            errors.add(key, _("This student was never in the class %(class)s.") % {"class": klass.name})
        if mk.status not in Status.values:
            errors.add(key, _("Choose one of the statuses offered."))
        if len(mk.note or "") > NOTE_MAX:
            errors.add(key, _("Keep the note under 200 characters."))
        if mk.period is not None and cfg.mode == Mode.DAILY:
            errors.add(key, _("This school takes one register a day, not per period."))
        elif mk.period is not None and mk.day in school_days:
            if mk.day not in schedules:
                schedules[mk.day] = day_periods(found, mk.day)
            if mk.period in schedules[mk.day]:
                halves[(mk.day, mk.period)] = schedules[mk.day][mk.period]
            else:
                errors.add(
                    key, _("There is no period %(period)s on %(day)s.") % {"period": mk.period, "day": shown}
                )
        dup = (mk.student_id, mk.day, mk.period)
        if dup in seen:
            errors.add(
                key,
                _("The same student, day and period appear again: also %(other)s.") % {"other": seen[dup]},
            )
        seen.setdefault(dup, mk.ref)
    errors.raise_if_any()

    # The registers of the days, and the students' marks on those days (any class), locked.
    sids = sorted({mk.student_id for mk in marks})
    registers, missing = ensure_registers(
        found, cfg, {(mk.klass_id, mk.day, mk.period) for mk in marks}, halves, lock=True
    )
    created_registers = {registers[k].pk for k in missing}
    existing: dict[tuple[int, datetime.date, int | None], Mark] = {}
    for i in range(0, len(sids), 1000):
        for m in (
            Mark.objects.select_for_update()
            .filter(student_id__in=sids[i : i + 1000], date__gte=days[0], date__lte=days[-1], school=found)
            .select_related("register")
        ):
            existing.setdefault((m.student_id, m.date, m.register.period), m)

    now = timezone.now()
    results: dict[int, dict[str, Any]] = {}
    new: list[tuple[ImportedMark, Mark]] = []
    changed: list[tuple[ImportedMark, Mark, dict[str, Any]]] = []
    for mk in marks:
        note = (mk.note or "").strip()
        mark = existing.get((mk.student_id, mk.day, mk.period))
        if mark is None:
            register = registers[(mk.klass_id, mk.day, mk.period)]
            new.append(
                (
                    mk,
                    Mark(
                        district_id=found.district_id,
                        school_id=found.pk,
                        register=register,
                        student_id=mk.student_id,
                        date=mk.day,
                        status=mk.status,
                        note=note,
                        source=Source.IMPORT,
                        updated_by=actor if getattr(actor, "pk", None) else None,
                    ),
                )
            )
            continue
        note = note or mark.note
        if (mark.status, mark.note) == (mk.status, note):
            results[mk.ref] = {"mark": mark.pk, "unchanged": True}
            continue
        before = {
            "status": mark.status,
            "note": mark.note,
            "source": mark.source,
            "leave_id": mark.leave_id,
            "updated_by": mark.updated_by_id,
        }
        mark.status, mark.note, mark.source = mk.status, note, Source.IMPORT
        if mark.status != Status.EXCUSED:
            mark.leave_id = None
        mark.updated_by = actor if getattr(actor, "pk", None) else None
        mark.updated_at = now
        changed.append((mk, mark, before))
    if new:
        Mark.objects.bulk_create([m for _mk, m in new], batch_size=500)
        if any(m.pk is None for _mk, m in new):  # databases that cannot return ids from bulk inserts
            ids = {
                (reg, sid): pk
                for pk, reg, sid in Mark.objects.filter(
                    register_id__in=list({m.register_id for _mk, m in new}), student_id__in=sids
                ).values_list("pk", "register_id", "student_id")
            }
            for _mk, m in new:
                m.pk = ids[(m.register_id, m.student_id)]
    if changed:
        Mark.objects.bulk_update([m for _mk, m, _b in changed], IMPORT_FIELDS, batch_size=500)
    for mk, m in new:
        results[mk.ref] = {"mark": m.pk, "register": m.register_id, "created": True,
                           "register_created": m.register_id in created_registers,
                           "written": [m.status, m.note], "at": _stamp(m), "before": None}  # fmt: skip
    for mk, m, before in changed:
        results[mk.ref] = {"mark": m.pk, "register": m.register_id, "created": False,
                           "register_created": False, "written": [m.status, m.note], "at": _stamp(m),
                           "before": before}  # fmt: skip

    # One audit row per register touched, inserted together.
    per_register: dict[int, dict[str, Any]] = defaultdict(lambda: {"before": {}, "after": {}})
    for _mk, m in new:
        per_register[m.register_id]["after"][str(m.student_id)] = [m.status, m.note]
    for _mk, m, before in changed:
        per_register[m.register_id]["before"][str(m.student_id)] = [before["status"], before["note"]]
        per_register[m.register_id]["after"][str(m.student_id)] = [m.status, m.note]
    _audit_registers(actor, found, "attendance.marks.import", per_register, created_registers)
    return results


def _stamp(mark: Mark) -> str:
    """When a mark was last written, to tell later writes (a gate arrival, a register) from the import's."""
    return mark.updated_at.astimezone(datetime.UTC).isoformat() if mark.updated_at else ""


def _audit_registers(
    actor: Any,
    school: School,
    name: str,
    per_register: Mapping[int, Mapping[str, Any]],
    flagged: set[int],
) -> None:
    from schoolbridge.audit.models import AuditEvent

    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                actor=actor if getattr(actor, "pk", None) else None,
                action=name,
                object_type=Register._meta.label_lower,
                object_id=str(rid),
                school_id=school.pk,
                district_id=school.district_id,
                before={"marks": data["before"]} if data["before"] or rid not in flagged else None,
                after={"marks": data["after"]} if data["after"] or rid not in flagged else None,
            )
            for rid, data in sorted(per_register.items())
        ),
        batch_size=500,
    )


@action
def undo_imported_marks(actor: Any, school: School | int, results: Sequence[Mapping[str, Any]]) -> int:
    """Reverse import_marks from its results: delete the marks it created (and the registers it created),
    put back the marks it updated. Refused, with nothing changed, when any of those marks has been changed
    since (by a register, a gate, a correction or another import) or a register it created has since been
    taken or holds other marks: undoing would overwrite that later work. Returns the marks reversed."""
    results = [r for r in results if r.get("mark") and not r.get("unchanged")]
    if not results:
        return 0
    ids = [r["mark"] for r in results]
    found_marks: dict[int, Mark] = {}
    for i in range(0, len(ids), 1000):
        found_marks.update(
            (m.pk, m) for m in Mark.objects.select_for_update().filter(pk__in=ids[i : i + 1000])
        )
    found = _import_scope(actor, school, {m.student_id for m in found_marks.values()})
    if any(m.school_id != found.pk for m in found_marks.values()):
        raise NotFound
    later: list[Mark] = []
    for r in results:
        m = found_marks.get(r["mark"])
        if m is None:
            continue
        written = (r["written"][0], r["written"][1], Source.IMPORT)
        if (
            (m.status, m.note, m.source) != written
            or (r.get("at") and _stamp(m) != r["at"])
            or (r.get("created") and m.arrived_at is not None)  # a gate arrival since
        ):
            later.append(m)
    created_regs = sorted({r["register"] for r in results if r.get("register_created")})
    created_marks = {r["mark"] for r in results if r.get("created")}
    regs = list(Register.objects.select_for_update().filter(pk__in=created_regs, school=found))
    taken = [g for g in regs if g.taken_at is not None]
    others: set[datetime.date] = set()
    for i in range(0, len(created_regs), 1000):
        others.update(
            day
            for pk, day in Mark.objects.filter(register_id__in=created_regs[i : i + 1000]).values_list(
                "pk", "date"
            )
            if pk not in created_marks
        )
    if later or taken or others:
        days = sorted({m.date for m in later} | {g.date for g in taken} | others)
        raise Refused(
            _(
                "Attendance this import wrote has been changed since (%(count)s marks or registers, from "
                "%(day)s); undoing it would overwrite that. Correct those registers by hand instead."
            )
            % {
                "count": len(later) + len(taken) + len(others),
                "day": date_format(days[0], "SHORT_DATE_FORMAT"),
            }
        )
    per_register: dict[int, dict[str, Any]] = defaultdict(lambda: {"before": {}, "after": {}})
    gone = [found_marks[r["mark"]] for r in results if r.get("created") and r["mark"] in found_marks]
    restore = []
    now = timezone.now()
    for r in results:
        m = found_marks.get(r["mark"])
        if m is None or r.get("created"):
            continue
        b = r["before"]
        per_register[m.register_id]["before"][str(m.student_id)] = [m.status, m.note]
        m.status, m.note, m.source, m.leave_id = b["status"], b["note"], b["source"], b["leave_id"]
        m.updated_by_id, m.updated_at = b["updated_by"], now
        per_register[m.register_id]["after"][str(m.student_id)] = [m.status, m.note]
        restore.append(m)
    for m in gone:
        per_register[m.register_id]["before"][str(m.student_id)] = [m.status, m.note]
    if restore:
        Mark.objects.bulk_update(restore, IMPORT_FIELDS, batch_size=500)
    for i in range(0, len(gone), 1000):
        Mark.objects.filter(pk__in=[m.pk for m in gone[i : i + 1000]]).delete()
    Register.objects.filter(pk__in=created_regs).delete()
    _audit_registers(actor, found, "attendance.marks.import_undo", per_register, set(created_regs))
    return len(gone) + len(restore)
