"""The school calendar: which days are school days and the bell schedule of each day.

Per school and term: a weekday pattern (default Monday to Friday). Per school: exceptions over date
ranges — holidays, and make-up working days (调休) that turn a weekend day into a school day and may
follow another weekday's timetable. Per term: the bell schedule, numbered periods with start and end
times and a half of the day; a weekday may have its own schedule, otherwise the term's common one applies.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School, Term

WEEKDAY_CHOICES = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
DEFAULT_WEEKDAYS = "12345"


class WeekPattern(models.Model):
    """The weekdays that are school days in one term, as ISO weekday digits ("12345" = Monday to Friday)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.OneToOneField(Term, on_delete=models.CASCADE, related_name="week_pattern")
    weekdays = models.CharField(_("school weekdays"), max_length=7, default=DEFAULT_WEEKDAYS)

    class Meta:
        verbose_name = _("week pattern")

    def __str__(self) -> str:
        return f"{self.term_id}: {self.weekdays}"

    def weekday_set(self) -> frozenset[int]:
        return frozenset(int(c) for c in self.weekdays if c.isdigit())


class CalendarException(models.Model):
    """A holiday, or a make-up working day (调休), over a date range of one school."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday")
        WORKDAY = "workday", _("make-up working day")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="calendar_exceptions")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=80)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    # A make-up working day usually follows another weekday's timetable (e.g. "Saturday, as Friday").
    follows_weekday = models.PositiveSmallIntegerField(
        _("follows the timetable of"), choices=WEEKDAY_CHOICES, null=True, blank=True
    )

    class Meta:
        verbose_name = _("calendar exception")
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="calexc_dates_ordered"),
        ]
        indexes = [models.Index(fields=["school", "start_date", "end_date"])]

    def __str__(self) -> str:
        return f"{self.name} {self.start_date}–{self.end_date}"


class BellPeriod(models.Model):
    """One numbered period of a term's bell schedule. weekday 0: every school day without its own schedule."""

    class Half(models.TextChoices):
        AM = "am", _("morning")
        PM = "pm", _("afternoon")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="bell_periods")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=[(0, _("every day")), *WEEKDAY_CHOICES], default=0
    )
    number = models.PositiveSmallIntegerField(_("period"))
    name = models.CharField(_("name"), max_length=40, blank=True)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    half = models.CharField(_("half of the day"), max_length=2, choices=Half.choices)

    class Meta:
        verbose_name = _("period")
        ordering = ["term", "weekday", "number"]
        constraints = [
            models.UniqueConstraint(fields=["term", "weekday", "number"], name="bell_period_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="bell_period_times_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.start}–{self.end}"
