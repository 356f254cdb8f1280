"""Writes to the school calendar. All need school.manage on the school."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, InvalidInput, NotFound
from schoolbridge.core.models import School, Term

from .models import BellPeriod, CalendarException, WeekPattern


def managed_school(actor: Any, school_id: Any) -> School:
    """A school the actor manages, or NotFound (missing and forbidden alike)."""
    school = get_scope(actor).queryset("school.manage").filter(pk=school_id).first() if school_id else None
    if school is None:
        raise NotFound
    return school


def _managed_term(actor: Any, term: Term | int) -> Term:
    term_id = term.pk if isinstance(term, Term) else term
    found = Term.objects.filter(pk=term_id).select_related("school").first() if term_id else None
    if found is None:
        raise NotFound
    managed_school(actor, found.school_id)
    return found


@action
def set_week_pattern(actor: Any, term: Term | int, weekdays: list[int] | set[int] | str) -> WeekPattern:
    """Which weekdays (ISO numbers, 1 = Monday) are school days in the term."""
    t = _managed_term(actor, term)
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 1 or d > 7 for d in days):
        raise InvalidInput({"weekdays": [_("Choose at least one weekday.")]})
    value = "".join(str(d) for d in days)
    pattern = WeekPattern.objects.select_for_update().filter(term=t).first()
    before = snapshot(pattern)
    if pattern is None:
        pattern = WeekPattern(district_id=t.district_id, school_id=t.school_id, term=t)
    pattern.weekdays = value
    pattern.save()
    record(actor, "schoolcal.week_pattern.set", pattern, before, snapshot(pattern))
    return pattern


@action
def add_exception(
    actor: Any,
    school: School | int,
    kind: str,
    name: str,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    follows_weekday: int | None = None,
) -> CalendarException:
    """A holiday or a make-up working day (调休) over a date range."""
    s = managed_school(actor, getattr(school, "pk", school))
    end_date = end_date or start_date
    errors = Errors()
    if kind not in CalendarException.Kind.values:
        errors.add("kind", _("Choose holiday or make-up working day."))
    name = (name or "").strip()
    if not name:
        errors.add("name", _("Give the day a name, for example 国庆节."))
    elif len(name) > 80:
        errors.add("name", _("Keep the name under 80 characters."))
    if end_date < start_date:
        errors.add("end_date", _("The last day cannot be before the first day."))
    elif (end_date - start_date).days > 366:
        errors.add("end_date", _("A range can cover at most one year."))
    if follows_weekday is not None and not 1 <= int(follows_weekday) <= 7:
        errors.add("follows_weekday", _("Choose a weekday."))
    if kind == CalendarException.Kind.HOLIDAY:
        follows_weekday = None
    errors.raise_if_any()
    exc = CalendarException.objects.create(
        district_id=s.district_id,
        school=s,
        kind=kind,
        name=name,
        start_date=start_date,
        end_date=end_date,
        follows_weekday=follows_weekday,
    )
    record(actor, "schoolcal.exception.add", exc, None, snapshot(exc))
    return exc


@action
def remove_exception(actor: Any, exception_id: Any) -> None:
    exc = (
        CalendarException.objects.select_for_update().filter(pk=exception_id).first()
        if exception_id
        else None
    )
    if exc is None:
        raise NotFound
    managed_school(actor, exc.school_id)
    before = snapshot(exc)
    record(actor, "schoolcal.exception.remove", exc, before, None)
    exc.delete()


@dataclass(frozen=True)
class PeriodIn:
    number: int
    start: datetime.time
    end: datetime.time
    half: str
    name: str = ""


@action
def set_bell_schedule(actor: Any, term: Term | int, weekday: int, rows: list[PeriodIn]) -> list[BellPeriod]:
    """Replace the term's schedule for one weekday (0 = every day) with rows. An empty list removes it.

    Errors name the row ("periods.2.end"): end before start, duplicate numbers, overlapping times, bad half.
    """
    t = _managed_term(actor, term)
    errors = Errors()
    if not 0 <= int(weekday) <= 7:
        errors.add("weekday", _("Choose a weekday."))
    seen: set[int] = set()
    for i, row in enumerate(rows):
        where = f"periods.{i}"
        if row.number < 1 or row.number > 20:
            errors.add(f"{where}.number", _("A period number is between 1 and 20."))
        elif row.number in seen:
            errors.add(f"{where}.number", _("Period %(n)s appears twice.") % {"n": row.number})
        seen.add(row.number)
        if row.end <= row.start:
            errors.add(f"{where}.end", _("The end must be after the start."))
        if row.half not in BellPeriod.Half.values:
            errors.add(f"{where}.half", _("Choose morning or afternoon."))
        if len(row.name) > 40:
            errors.add(f"{where}.name", _("Keep the name under 40 characters."))
    ordered = sorted((r for r in rows if r.end > r.start), key=lambda r: r.start)
    for prev, cur in zip(ordered, ordered[1:], strict=False):
        if cur.start < prev.end:
            errors.add(
                f"periods.{rows.index(cur)}.start",
                _("Period %(a)s overlaps period %(b)s.") % {"a": cur.number, "b": prev.number},
            )
    errors.raise_if_any()
    old = list(BellPeriod.objects.select_for_update().filter(term=t, weekday=weekday).order_by("number"))
    before = [snapshot(p, ("number", "name", "start", "end", "half")) for p in old]
    BellPeriod.objects.filter(pk__in=[p.pk for p in old]).delete()
    new = BellPeriod.objects.bulk_create(
        [
            BellPeriod(
                district_id=t.district_id,
                school_id=t.school_id,
                term=t,
                weekday=weekday,
                number=r.number,
                name=r.name.strip(),
                start=r.start,
                end=r.end,
                half=r.half,
            )
            for r in sorted(rows, key=lambda r: r.number)
        ]
    )
    after = [snapshot(p, ("number", "name", "start", "end", "half")) for p in new]
    record(
        actor,
        "schoolcal.bell_schedule.set",
        t,
        {"weekday": weekday, "periods": before},
        {"weekday": weekday, "periods": after},
    )
    return new
