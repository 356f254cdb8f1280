"""Reading the school calendar: is a day a school day, the school days of a range, the periods of a day.

Rules, in order: a holiday covering the day makes it a day off; a make-up working day (调休) makes it a
school day; otherwise the day is a school day when a term of the school covers it and its weekday is in
the term's week pattern (Monday to Friday unless set). Days outside every term are not school days.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from schoolbridge.core.models import School, Term

from .models import DEFAULT_WEEKDAYS, BellPeriod, CalendarException, WeekPattern


@dataclass(frozen=True)
class Period:
    number: int
    name: str
    start: datetime.time
    end: datetime.time
    half: str  # "am" | "pm"


def _school_id(school: School | int) -> int:
    return school if isinstance(school, int) else school.pk


@dataclass
class _Calendar:
    """The calendar rows of a school for a date range, loaded in three queries."""

    terms: list[Term]
    patterns: dict[int, frozenset[int]]
    exceptions: list[CalendarException]

    def term_for(self, day: datetime.date) -> Term | None:
        for term in self.terms:
            if term.start_date <= day <= term.end_date:
                return term
        return None

    def exception_for(self, day: datetime.date) -> CalendarException | None:
        found = [e for e in self.exceptions if e.start_date <= day <= e.end_date]
        # A holiday wins over a make-up day that overlaps it.
        found.sort(key=lambda e: (e.kind != CalendarException.Kind.HOLIDAY, e.start_date, e.pk))
        return found[0] if found else None

    def is_school_day(self, day: datetime.date) -> bool:
        term = self.term_for(day)
        if term is None:
            return False
        exc = self.exception_for(day)
        if exc is not None:
            return exc.kind == CalendarException.Kind.WORKDAY
        weekdays = self.patterns.get(term.pk, frozenset(int(c) for c in DEFAULT_WEEKDAYS))
        return day.isoweekday() in weekdays


def _load(school: School | int, start: datetime.date, end: datetime.date) -> _Calendar:
    sid = _school_id(school)
    terms = list(
        Term.objects.filter(school_id=sid, start_date__lte=end, end_date__gte=start).order_by("start_date")
    )
    patterns = (
        {p.term_id: p.weekday_set() for p in WeekPattern.objects.filter(term_id__in=[t.pk for t in terms])}
        if terms
        else {}
    )
    exceptions = (
        list(CalendarException.objects.filter(school_id=sid, start_date__lte=end, end_date__gte=start))
        if terms
        else []
    )
    return _Calendar(terms, patterns, exceptions)


def term_for(school: School | int, day: datetime.date) -> Term | None:
    """The term of the school that covers day, if any."""
    return Term.objects.filter(school_id=_school_id(school), start_date__lte=day, end_date__gte=day).first()


def is_school_day(school: School | int, day: datetime.date) -> bool:
    return _load(school, day, day).is_school_day(day)


def school_days(school: School | int, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The school days from start to end inclusive, in order. A constant number of queries."""
    if end < start:
        return []
    cal = _load(school, start, end)
    days = []
    day = start
    while day <= end:
        if cal.is_school_day(day):
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def day_info(school: School | int, day: datetime.date) -> dict[str, Any]:
    """What the calendar says about one day: school day or not, the exception (if any) and the term."""
    cal = _load(school, day, day)
    return {
        "school_day": cal.is_school_day(day),
        "exception": cal.exception_for(day),
        "term": cal.term_for(day),
    }


def periods(school: School | int, day: datetime.date) -> list[Period]:
    """The bell schedule of a school day (empty on days off). A make-up day may follow another weekday's
    timetable; a weekday with its own schedule uses it, others use the term's common schedule."""
    cal = _load(school, day, day)
    if not cal.is_school_day(day):
        return []
    term = cal.term_for(day)
    assert term is not None
    exc = cal.exception_for(day)
    weekday = exc.follows_weekday if exc is not None and exc.follows_weekday else day.isoweekday()
    rows = list(
        BellPeriod.objects.filter(Q(weekday=0) | Q(weekday=weekday), term=term).order_by("weekday", "number")
    )
    own = [r for r in rows if r.weekday == weekday]
    chosen = own or [r for r in rows if r.weekday == 0]
    return [Period(r.number, r.name, r.start, r.end, r.half) for r in sorted(chosen, key=lambda r: r.number)]


def bell_schedule(term: Term, weekday: int = 0) -> list[BellPeriod]:
    """The stored rows of a term's schedule for one weekday (0 = the common schedule)."""
    return list(BellPeriod.objects.filter(term=term, weekday=weekday).order_by("number"))
