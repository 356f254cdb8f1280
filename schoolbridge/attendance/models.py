"""Attendance: registers taken by teachers, and one mark per student on each register.

A school takes either one register a day per class or one per period (AttendanceSettings.mode).
A register is editable by the class's teachers until its cutoff; afterwards only the head teacher or a
school administrator may correct it, with a reason (Correction rows and the audit log keep before/after).
Marks come from the register, from gate terminals (source "gate": an arrival writes a mark on the
class's daily register without taking it), from corrections, or from the import hub (source "import": past
attendance brought from another system, written without alerts or corrections; see actions.import_marks).
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
    late_after = models.TimeField(
        _("late after"), default=datetime.time(8, 0), help_text=_("A gate arrival after this time is late.")
    )
    alert_at = models.TimeField(
        _("absence alerts at"),
        default=datetime.time(9, 0),
        help_text=_("Students with no arrival, no mark and no approved leave by then: guardians are told."),
    )
    departure_notices = models.BooleanField(_("tell guardians when their child leaves"), default=False)

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
    IMPORT = "import", _("import")  # history brought from another system through the import hub


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
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)  # earliest gate arrival
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


# ------------------------------------------------------------------------------------------ gate


class GateDevice(models.Model):
    """A gate terminal (card reader or face camera) of one school. Only the SHA-256 of its token is kept."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    token_prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("gate device")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="gate_device_name_unique")]

    def __str__(self) -> str:
        return self.name


class StudentCard(models.Model):
    """A card number that a school's gate readers report for one student."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="gate_cards")
    number = models.CharField(_("card number"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("student card")
        constraints = [models.UniqueConstraint(fields=["school", "number"], name="card_unique_in_school")]

    def __str__(self) -> str:
        return self.number


class Direction(models.TextChoices):
    IN = "in", _("arrival")
    OUT = "out", _("departure")


class GateEvent(models.Model):
    """One passage through a gate as the device reported it. Unmatched (student null) when the card or the
    student id is unknown in the device's school."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(GateDevice, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=64)
    card = models.CharField(max_length=64, blank=True)
    student_ref = models.BigIntegerField(null=True, blank=True)  # the student id as the device sent it
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="gate_events"
    )
    time = models.DateTimeField()
    day = models.DateField()  # the local date of time
    direction = models.CharField(max_length=3, choices=Direction.choices)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("gate event")
        constraints = [models.UniqueConstraint(fields=["device", "event_id"], name="gate_event_once")]
        indexes = [
            models.Index(fields=["student", "day"]),
            models.Index(fields=["school", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.event_id}"


class AlertKind(models.TextChoices):
    ABSENCE = "absence", _("not arrived")
    DEPARTURE = "departure", _("left school")


class AttendanceAlert(models.Model):
    """A notice sent about a student on a day; at most one of each kind per student and day."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    at = models.DateTimeField(null=True, blank=True)  # the departure's time
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = _("attendance alert")
        constraints = [
            models.UniqueConstraint(fields=["student", "date", "kind"], name="one_alert_per_student_day")
        ]
        indexes = [models.Index(fields=["school", "date"])]

    def __str__(self) -> str:
        return f"{self.student_id} {self.date} {self.kind}"
