"""Gate terminals: devices and their tokens, student cards, and the ingest of batches of gate events.

Ingest is set-based: whatever the size of a batch (up to 500 events) it runs a constant number of
queries — the events are inserted with ``INSERT … ON CONFLICT DO NOTHING`` (idempotent by device and
event id) and the arrivals are written to the day's daily registers with one ``INSERT … ON CONFLICT
DO UPDATE``.

Precedence of a gate arrival against the register (documented for teachers and office staff):

* A student with no mark on the day's daily register gets a gate mark: present, or late when the
  earliest arrival of the day is after the school's "late after" time.
* A gate mark keeps the EARLIEST arrival: an earlier event that reaches the server after a later one
  moves the arrival time back and recomputes present/late.
* A mark a teacher saved (taking the register, or a correction) is never changed by the gate, whatever
  its status (absent, sick, excused, present, late): the gate only records the arrival time on it. The
  teacher sees the arrival on the register and corrects the mark if needed.
* Taking the register keeps a gate mark unless the teacher lists the student as an exception.

A device's token belongs to one school: card numbers and student ids are only looked up in that
school, so an event naming another school's student is stored unmatched and never attached to them.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.db import connection, transaction
from django.db.models import Field, Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, InvalidInput, NotFound
from schoolbridge.core.models import Enrollment, School, Student
from schoolbridge.schoolcal.queries import school_days

from .models import (
    AlertKind,
    AttendanceAlert,
    AttendanceSettings,
    Direction,
    GateDevice,
    GateEvent,
    Mark,
    Source,
    Status,
    StudentCard,
)
from .queries import settings_for

MAX_BATCH = 500
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)
TOKEN_PREFIX_LENGTH = 10
LAST_SEEN_RESOLUTION = datetime.timedelta(minutes=1)


# ------------------------------------------------------------------------------------ devices


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    return "gate_" + secrets.token_urlsafe(32)


def device_for_token(raw: str | None) -> GateDevice | None:
    """The active device owning this raw token, or None. One query."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return (
        GateDevice.objects.select_related("school")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )


def _managed_school(actor: Any, school: School | int) -> School:
    sid = school.pk if isinstance(school, School) else school
    found = get_scope(actor).queryset("school.manage").filter(pk=sid).first() if sid else None
    if found is None:
        raise NotFound
    return found


@action
def create_device(actor: Any, school: School | int, name: str) -> tuple[GateDevice, str]:
    """Register a gate terminal of a school (school.manage). Returns the device and its raw token, which is
    shown once and never stored."""
    s = _managed_school(actor, school)
    name = " ".join((name or "").split())
    errors = Errors()
    if not name:
        errors.add("name", gettext_lazy("Give the device a name, e.g. “East gate 1”."))
    elif len(name) > 80:
        errors.add("name", gettext_lazy("Keep the name under 80 characters."))
    elif GateDevice.objects.filter(school=s, name=name).exists():
        errors.add("name", gettext_lazy("This school already has a device with this name."))
    errors.raise_if_any()
    raw = new_raw_token()
    device = GateDevice.objects.create(
        district_id=s.district_id,
        school=s,
        name=name,
        token_prefix=raw[:TOKEN_PREFIX_LENGTH],
        token_hash=hash_token(raw),
        created_by=actor,
    )
    record(actor, "attendance.gate_device.create", device, None, snapshot(device, ("name", "token_prefix")))
    return device, raw


@action
def revoke_device(actor: Any, device_id: int) -> GateDevice:
    """Stop accepting a device's token (school.manage)."""
    device = GateDevice.objects.select_for_update().filter(pk=device_id).first() if device_id else None
    if device is None:
        raise NotFound
    _managed_school(actor, device.school_id)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        record(actor, "attendance.gate_device.revoke", device, None, snapshot(device, ("revoked_at",)))
    return device


@action
def assign_card(actor: Any, school: School | int, number: str, student_number: str) -> StudentCard:
    """Give a card number to a student of the school (school.manage). Earlier unmatched events of the card
    are attached to the student, and their arrivals marked."""
    s = _managed_school(actor, school)
    number = (number or "").strip()
    student_number = (student_number or "").strip()
    errors = Errors()
    if not number:
        errors.add("number", gettext_lazy("Enter the card number."))
    elif len(number) > 64:
        errors.add("number", gettext_lazy("A card number has at most 64 characters."))
    student = (
        Student.objects.filter(school=s, student_number=student_number).first() if student_number else None
    )
    if student is None:
        errors.add("student_number", gettext_lazy("No student of this school has this student number."))
    if number and StudentCard.objects.filter(school=s, number=number).exists():
        errors.add("number", gettext_lazy("This card already belongs to a student."))
    errors.raise_if_any()
    assert student is not None
    card = StudentCard.objects.create(district_id=s.district_id, school=s, student=student, number=number)
    pending = list(
        GateEvent.objects.filter(school=s, card=number, student__isnull=True).values_list(
            "pk", "time", "direction"
        )
    )
    if pending:
        GateEvent.objects.filter(pk__in=[p[0] for p in pending]).update(student=student)
        cfg = settings_for(s)
        apply_arrivals(s, cfg, [(student.pk, t) for _pk, t, d in pending if d == Direction.IN])
    record(
        actor,
        "attendance.card.assign",
        card,
        None,
        {"number": number, "student": student.pk, "matched_events": len(pending)},
    )
    return card


# ------------------------------------------------------------------------------------- ingest


@dataclass
class IncomingEvent:
    event_id: str
    time: datetime.datetime
    direction: str
    card: str = ""
    student_id: int | None = None


@dataclass
class IngestResult:
    received: int
    accepted: int
    duplicate: int
    unmatched: int


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def validate_events(events: Sequence[IncomingEvent], now: datetime.datetime) -> None:
    """Field errors as events.<index>.<field>; nothing is stored when any event is bad."""
    errors = Errors()
    if len(events) > MAX_BATCH:
        errors.add("events", _("Send at most %(n)s events per batch.") % {"n": MAX_BATCH})
    for i, e in enumerate(events):
        if not (e.event_id or "").strip():
            errors.add(f"events.{i}.event_id", _("This field is required."))
        if not (e.card or "").strip() and not e.student_id:
            errors.add(f"events.{i}.card", _("Send a card number or a student id."))
        if e.direction not in Direction.values:
            errors.add(f"events.{i}.direction", _("Send “in” or “out”."))
        if _aware(e.time) > now + FUTURE_TOLERANCE:
            errors.add(f"events.{i}.time", _("This time is in the future; check the device's clock."))
    errors.raise_if_any()


def ingest(
    device: GateDevice, events: Sequence[IncomingEvent], now: datetime.datetime | None = None
) -> IngestResult:
    """Store a batch of a device's events and mark the arrivals, in one transaction and a constant number
    of queries. Idempotent: an event id the device already sent counts as a duplicate and changes nothing."""
    now = now or timezone.now()
    validate_events(events, now)
    school = device.school
    # The first occurrence of each event id in the batch.
    unique: dict[str, IncomingEvent] = {}
    for e in events:
        unique.setdefault(e.event_id.strip(), e)
    with transaction.atomic():
        known = set(
            GateEvent.objects.filter(device=device, event_id__in=list(unique)).values_list(
                "event_id", flat=True
            )
        )
        fresh = {eid: e for eid, e in unique.items() if eid not in known}
        cards = {e.card.strip() for e in fresh.values() if (e.card or "").strip()}
        refs = {int(e.student_id) for e in fresh.values() if e.student_id and not (e.card or "").strip()}
        by_card = (
            dict(
                StudentCard.objects.filter(school_id=school.pk, number__in=cards).values_list(
                    "number", "student_id"
                )
            )
            if cards
            else {}
        )
        by_id = (
            set(Student.objects.filter(school_id=school.pk, pk__in=refs).values_list("pk", flat=True))
            if refs
            else set()
        )
        tz = timezone.get_current_timezone()
        rows: list[_Row] = []
        for eid, e in fresh.items():
            card = (e.card or "").strip()
            student_id: int | None = (
                by_card.get(card) if card else (e.student_id if e.student_id in by_id else None)
            )
            when = _aware(e.time)
            rows.append(
                _Row(
                    eid,
                    card,
                    None if card else e.student_id,
                    student_id,
                    when,
                    when.astimezone(tz),
                    e.direction,
                )
            )
        _insert_events(school, device, rows, now)
        cfg = settings_for(school)
        apply_arrivals(
            school,
            cfg,
            [(r.student_id, r.time) for r in rows if r.student_id and r.direction == Direction.IN],
        )
        if cfg.departure_notices:
            departures = [
                (r.student_id, r.time) for r in rows if r.student_id and r.direction == Direction.OUT
            ]
            notify_departures(school, departures)
        if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
            GateDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
        unmatched = sum(1 for r in rows if r.student_id is None)
        result = IngestResult(len(events), len(rows), len(events) - len(rows), unmatched)
        record(
            None,
            "attendance.gate.ingest",
            device,
            None,
            {"received": result.received, "accepted": result.accepted, "unmatched": unmatched},
        )
    return result


def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(str(cast(Field, model._meta.get_field(name)).column))


EVENT_FIELDS = (
    "district",
    "school",
    "device",
    "event_id",
    "card",
    "student_ref",
    "student",
    "time",
    "day",
    "direction",
    "received_at",
)


class _Row(NamedTuple):
    event_id: str
    card: str
    student_ref: int | None
    student_id: int | None
    time: datetime.datetime
    local: datetime.datetime
    direction: str


def _insert_events(school: School, device: GateDevice, rows: Sequence[_Row], now: datetime.datetime) -> None:
    """INSERT … ON CONFLICT (device, event_id) DO NOTHING, one statement per 500 rows on every engine
    (Django's bulk_create splits into statements of 999 parameters on SQLite and builds a model per row)."""
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(GateEvent._meta.db_table)
    cols = ", ".join(_column(GateEvent, name) for name in EVENT_FIELDS)
    row = "(" + ", ".join(["%s"] * len(EVENT_FIELDS)) + ")"
    conflict = ", ".join(_column(GateEvent, n) for n in ("device", "event_id"))
    received = ops.adapt_datetimefield_value(now)
    fixed = (school.district_id, school.pk, device.pk)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), MAX_BATCH):
            chunk = rows[start : start + MAX_BATCH]
            params: list[Any] = []
            for r in chunk:
                params.extend(fixed)
                params.extend(
                    (
                        r.event_id,
                        r.card,
                        r.student_ref,
                        r.student_id,
                        ops.adapt_datetimefield_value(r.time),
                        ops.adapt_datefield_value(r.local.date()),
                        r.direction,
                        received,
                    )
                )
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {', '.join([row] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO NOTHING",
                params,
            )


def _class_on(
    enrollments: list[tuple[int, datetime.date, datetime.date | None]], day: datetime.date
) -> int | None:
    for klass_id, start, end in enrollments:
        if start <= day and (end is None or end > day):
            return klass_id
    return None


def apply_arrivals(
    school: School, cfg: AttendanceSettings, arrivals: Sequence[tuple[int, datetime.datetime]]
) -> int:
    """Write gate arrivals to the daily registers of the students' classes (school days only), keeping the
    earliest arrival and never changing a teacher's mark (see the module's precedence). Returns the number
    of (student, day) pairs written. A constant number of queries."""
    tz = timezone.get_current_timezone()
    earliest: dict[tuple[int, datetime.date], datetime.datetime] = {}
    for sid, when in arrivals:
        local = when.astimezone(tz)
        key = (sid, local.date())
        if key not in earliest or local < earliest[key]:
            earliest[key] = local
    if not earliest:
        return 0
    days = {d for _s, d in earliest}
    first, last = min(days), max(days)
    open_days = set(school_days(school, first, last))
    earliest = {k: v for k, v in earliest.items() if k[1] in open_days}
    if not earliest:
        return 0
    enrollments: dict[int, list[tuple[int, datetime.date, datetime.date | None]]] = {}
    for sid, kid, start, end in (
        Enrollment.objects.filter(student_id__in={s for s, _d in earliest}, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=first))
        .values_list("student_id", "klass_id", "start_date", "end_date")
    ):
        enrollments.setdefault(sid, []).append((kid, start, end))
    placed: dict[tuple[int, datetime.date], int] = {}
    for sid, day in earliest:
        found = _class_on(enrollments.get(sid, []), day)
        if found is not None:
            placed[(sid, day)] = found
    if not placed:
        return 0
    from .actions import ensure_registers

    daily, _created = ensure_registers(school, cfg, {(kid, day, None) for (_sid, day), kid in placed.items()})
    registers = {(kid, day): r.pk for (kid, day, period), r in daily.items() if period is None}
    late_after = cfg.late_after
    values: list[tuple[Any, ...]] = []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    for (sid, day), kid in placed.items():
        when = earliest[(sid, day)]
        status = Status.LATE if when.time() > late_after else Status.PRESENT
        values.append(
            (
                school.district_id,
                school.pk,
                registers[(kid, day)],
                sid,
                connection.ops.adapt_datefield_value(day),
                status,
                "",
                Source.GATE,
                now,
                connection.ops.adapt_datetimefield_value(when),
            )
        )
    _upsert_marks(values)
    return len(values)


def _upsert_marks(values: list[tuple[Any, ...]]) -> None:
    """INSERT … ON CONFLICT (register, student) DO UPDATE: the earliest arrival wins; the status follows
    it only on gate marks (a teacher's mark keeps its status). PostgreSQL and SQLite alike."""
    table = connection.ops.quote_name(Mark._meta.db_table)
    f = {
        name: _column(Mark, name)
        for name in (
            "district",
            "school",
            "register",
            "student",
            "date",
            "status",
            "note",
            "source",
            "updated_at",
            "arrived_at",
        )
    }
    cols = ", ".join(f.values())
    earlier = f"(excluded.{f['arrived_at']} < {table}.{f['arrived_at']} OR {table}.{f['arrived_at']} IS NULL)"
    sql_head = f"INSERT INTO {table} ({cols}) VALUES "
    sql_tail = (
        f" ON CONFLICT ({f['register']}, {f['student']}) DO UPDATE SET "
        f"{f['status']} = CASE WHEN {table}.{f['source']} = %s AND {earlier} "
        f"THEN excluded.{f['status']} ELSE {table}.{f['status']} END, "
        f"{f['updated_at']} = CASE WHEN {earlier} THEN excluded.{f['updated_at']} ELSE {table}.{f['updated_at']} END, "
        f"{f['arrived_at']} = CASE WHEN {earlier} THEN excluded.{f['arrived_at']} ELSE {table}.{f['arrived_at']} END"
    )
    row = "(" + ", ".join(["%s"] * len(f)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(values), MAX_BATCH):
            chunk = values[start : start + MAX_BATCH]
            params: list[Any] = [p for v in chunk for p in v]
            cursor.execute(sql_head + ", ".join([row] * len(chunk)) + sql_tail, [*params, Source.GATE.value])


# ------------------------------------------------------------------------------ departures


def notify_departures(school: School, departures: Sequence[tuple[int, datetime.datetime]]) -> int:
    """Tell guardians (receives_notices) that their child left school — once per student and day (the first
    departure reported). Returns the number of notices."""
    from schoolbridge.notify.actions import notify

    first: dict[tuple[int, datetime.date], datetime.datetime] = {}
    for sid, when in departures:
        key = (sid, timezone.localdate(when))
        if key not in first or when < first[key]:
            first[key] = when
    if not first:
        return 0
    sent = set(
        AttendanceAlert.objects.filter(
            kind=AlertKind.DEPARTURE,
            student_id__in={s for s, _d in first},
            date__in={d for _s, d in first},
        ).values_list("student_id", "date")
    )
    todo = {k: v for k, v in first.items() if k not in sent}
    if not todo:
        return 0
    now = timezone.now()
    AttendanceAlert.objects.bulk_create(
        [
            AttendanceAlert(
                district_id=school.district_id,
                school_id=school.pk,
                student_id=sid,
                date=day,
                kind=AlertKind.DEPARTURE,
                at=when,
                sent_at=now,
            )
            for (sid, day), when in todo.items()
        ],
        ignore_conflicts=True,
    )
    guardians = _guardian_users({s for s, _d in todo})
    names = _names({s for s, _d in todo})
    count = 0
    for (sid, _day), when in sorted(todo.items(), key=lambda kv: kv[1]):
        users = guardians.get(sid, [])
        if not users:
            continue
        notify(
            users,
            "attendance.departure",
            _("%(name)s left school at %(time)s")
            % {"name": names.get(sid, ""), "time": timezone.localtime(when).strftime("%H:%M")},
            link="",
            school=school,
        )
        count += 1
    return count


def _guardian_users(student_ids: set[int]) -> dict[int, list[int]]:
    from schoolbridge.core.models import Guardianship

    out: dict[int, list[int]] = {}
    for sid, uid in Guardianship.objects.filter(
        student_id__in=student_ids,
        receives_notices=True,
        guardian__person__user__isnull=False,
        guardian__person__user__is_active=True,
    ).values_list("student_id", "guardian__person__user_id"):
        out.setdefault(sid, []).append(uid)
    return out


def _names(student_ids: set[int]) -> dict[int, str]:
    from schoolbridge.core.models import Person

    return {
        pk: Person(family_name=family, given_name=given).full_name
        for pk, family, given in Student.objects.filter(pk__in=student_ids).values_list(
            "pk", "person__family_name", "person__given_name"
        )
    }


__all__ = [
    "IncomingEvent",
    "IngestResult",
    "InvalidInput",
    "apply_arrivals",
    "assign_card",
    "create_device",
    "device_for_token",
    "ingest",
    "revoke_device",
]
