"""Writes to attendance. take_register saves a whole register with a constant number of queries."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, InvalidInput, NotFound, Refused
from schoolbridge.core.models import Class, School
from schoolbridge.schoolcal import queries as calendar

from . import permissions
from .models import AttendanceSettings, Correction, Mark, Mode, Register, Source, Status
from .queries import covers_for, roster, settings_for

NOTE_MAX = 200


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
