"""Attendance: registers taken by teachers, and one mark per student on each register.

A school takes either one register a day per class or one per period (AttendanceSettings.mode).
A register is editable by the class's teachers until its cutoff; afterwards only the head teacher or a
school administrator may correct it, with a reason (Correction rows and the audit log keep before/after).
Marks come from the register, from gate terminals (source "gate": an arrival writes a mark on the
class's daily register without taking it) or from corrections.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Class, District, School, Student


class Mode(models.TextChoices):
    DAILY = "daily", _("one register a day")
    PERIOD = "period", _("a register every period")


class AttendanceSettings(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="attendance_settings")
    mode = models.CharField(_("registers"), max_length=10, choices=Mode.choices, default=Mode.DAILY)
    cutoff_time = models.TimeField(_("teachers may edit until"), default=datetime.time(18, 0))
    cutoff_days = models.PositiveSmallIntegerField(
        _("days after the register's day"), default=0, help_text=_("0: the same day.")
    )

    class Meta:
        verbose_name = _("attendance settings")
        verbose_name_plural = _("attendance settings")

    def __str__(self) -> str:
        return f"{self.school_id}: {self.mode}"


class Status(models.TextChoices):
    PRESENT = "present", _("present")
    ABSENT = "absent", _("absent")
    LATE = "late", _("late")
    EARLY_LEAVE = "early_leave", _("left early")
    SICK = "sick", _("sick")
    EXCUSED = "excused", _("excused")


# Statuses that count as "not attending" in rates.
ABSENCE_STATUSES = frozenset({Status.ABSENT, Status.SICK, Status.EXCUSED})


class Source(models.TextChoices):
    REGISTER = "register", _("register")
    GATE = "gate", _("gate")
    CORRECTION = "correction", _("correction")


class Register(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    klass = models.ForeignKey(Class, on_delete=models.CASCADE, related_name="registers")
    date = models.DateField(_("date"))
    period = models.PositiveSmallIntegerField(_("period"), null=True, blank=True)  # None: the daily register
    half = models.CharField(_("half of the day"), max_length=2, blank=True)  # the period's half, if known
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)  # None: not taken (gate marks only)
    cutoff_at = models.DateTimeField(_("editable until"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("register")
        ordering = ["date", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["klass", "date"], condition=Q(period__isnull=True), name="one_daily_register"
            ),
            models.UniqueConstraint(
                fields=["klass", "date", "period"],
                condition=Q(period__isnull=False),
                name="one_register_per_period",
            ),
        ]
        indexes = [models.Index(fields=["school", "date"])]

    def __str__(self) -> str:
        return f"{self.klass_id} {self.date} {self.period or ''}".strip()


class Mark(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    register = models.ForeignKey(Register, on_delete=models.CASCADE, related_name="marks")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance_marks")
    date = models.DateField(_("date"))  # the register's date, for per-student summaries
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PRESENT)
    note = models.CharField(_("note"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.REGISTER)
    leave_id = models.IntegerField(null=True, blank=True)  # the approved leave that excused the student
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("attendance mark")
        constraints = [models.UniqueConstraint(fields=["register", "student"], name="one_mark_per_register")]
        indexes = [models.Index(fields=["student", "date"])]

    def __str__(self) -> str:
        return f"{self.student_id} {self.date}: {self.status}"


class Correction(models.Model):
    """A change to a mark after the register's cutoff, with its reason."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    mark = models.ForeignKey(Mark, on_delete=models.CASCADE, related_name="corrections")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    before_status = models.CharField(max_length=12, blank=True)
    after_status = models.CharField(max_length=12)
    before_note = models.CharField(max_length=200, blank=True)
    after_note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attendance correction")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.mark_id}: {self.before_status} → {self.after_status}"
