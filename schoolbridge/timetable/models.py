"""Timetables in daily use: versions per term, lesson requirements, placed lessons, iCal feed tokens and
substitutions.

A school builds draft versions of a term's timetable and publishes one; teachers, students and
guardians only ever see the published version. Days are ISO weekdays (1 = Monday … 7 = Sunday), the
same numbering as the school calendar's bell schedule (schoolcal.BellPeriod.weekday); periods are the
bell schedule's period numbers. A lesson of duration 2 starts at `period` and also takes period + 1.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Class, District, Room, School, Staff, Subject, Term

DAY_CHOICES = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


class TimetableVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        SUPERSEDED = "superseded", _("superseded")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="timetable_versions")
    name = models.CharField(_("name"), max_length=80)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("timetable version")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["term", "name"], name="tt_version_name_unique_in_term"),
            models.UniqueConstraint(
                fields=["term"], condition=Q(status="published"), name="tt_one_published_per_term"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class LessonRequirement(models.Model):
    """What a class must be taught in a week: a subject, its teacher(s), how many lessons of what length."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(TimetableVersion, on_delete=models.CASCADE, related_name="requirements")
    klass = models.ForeignKey(Class, on_delete=models.CASCADE, related_name="+", verbose_name=_("class"))
    subject = models.ForeignKey(
        Subject, on_delete=models.CASCADE, related_name="+", verbose_name=_("subject")
    )
    teachers = models.ManyToManyField(Staff, related_name="+", verbose_name=_("teachers"))
    lessons_per_week = models.PositiveSmallIntegerField(_("lessons per week"), default=1)
    duration = models.PositiveSmallIntegerField(_("periods per lesson"), default=1)
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("room")
    )

    class Meta:
        verbose_name = _("lesson requirement")
        ordering = ["klass__grade__order", "klass__name", "subject__name", "id"]

    def __str__(self) -> str:
        return f"{self.klass_id}/{self.subject_id} ×{self.lessons_per_week}"


class Lesson(models.Model):
    """One lesson of a requirement. Unplaced while day/period are null."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(TimetableVersion, on_delete=models.CASCADE, related_name="lessons")
    requirement = models.ForeignKey(LessonRequirement, on_delete=models.CASCADE, related_name="lessons")
    day = models.PositiveSmallIntegerField(_("day"), choices=DAY_CHOICES, null=True, blank=True)
    period = models.PositiveSmallIntegerField(_("period"), null=True, blank=True)
    duration = models.PositiveSmallIntegerField(_("periods"), default=1)
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("room")
    )
    locked = models.BooleanField(_("locked"), default=False)

    class Meta:
        verbose_name = _("lesson")
        ordering = ["day", "period", "id"]
        indexes = [models.Index(fields=["version", "day", "period"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(day__isnull=True, period__isnull=True)
                | Q(day__isnull=False, period__isnull=False),
                name="tt_lesson_day_and_period_together",
            )
        ]

    def __str__(self) -> str:
        return f"lesson {self.pk} d{self.day} p{self.period}"

    @property
    def placed(self) -> bool:
        return self.day is not None and self.period is not None

    @property
    def periods(self) -> range:
        start = self.period or 0
        return range(start, start + self.duration)


class TeacherUnavailability(models.Model):
    """A period of the week when a teacher cannot teach in a term (part-time, another school …)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")
    teacher = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")
    day = models.PositiveSmallIntegerField(_("day"), choices=DAY_CHOICES)
    period = models.PositiveSmallIntegerField(_("period"))

    class Meta:
        verbose_name = _("teacher unavailability")
        constraints = [
            models.UniqueConstraint(fields=["term", "teacher", "day", "period"], name="tt_unavailable_unique")
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id} d{self.day} p{self.period}"


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class FeedToken(models.Model):
    """A secret calendar-subscription URL of one user for one teacher, class or student. Revocable."""

    class Kind(models.TextChoices):
        TEACHER = "teacher", _("teacher")
        CLASS = "class", _("class")
        STUDENT = "student", _("student")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "kind", "object_id"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} for {self.user_id}"


class Substitution(models.Model):
    """Cover for one lesson on one date while its teacher is on approved leave.

    Proposed with a ranked list of candidates (staff ids); the school office confirms one substitute."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("substitutes proposed")
        CONFIRMED = "confirmed", _("substitute confirmed")
        CANCELLED = "cancelled", _("cancelled")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="substitutions")
    date = models.DateField(_("date"))
    absent_teacher = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")
    substitute = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    leave_request = models.ForeignKey(
        "leave.LeaveRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    # [{"staff": id, "extra": confirmed covers that week, "load": weekly lessons}], best first.
    candidates = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("substitution")
        ordering = ["date", "lesson__period", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lesson", "date", "absent_teacher"],
                condition=~Q(status="cancelled"),
                name="tt_one_live_substitution",
            )
        ]
        indexes = [models.Index(fields=["school", "status", "date"])]

    def __str__(self) -> str:
        return f"cover lesson {self.lesson_id} on {self.date}"
