"""Exams and grades: assessments per term and grade, their subjects, scores and report-card comments.

Every row carries its district and school keys. A score also records the class the student was in
when it was entered, so that class statistics stay true after a student moves class.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Class, District, GradeLevel, School, Student, Subject, Term

PASS_SHARE = Decimal("0.60")
EXCELLENT_SHARE = Decimal("0.85")


class GradesSettings(models.Model):
    """Per-school choices about grades."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="grades_settings")
    show_rank_to_guardians = models.BooleanField(
        _("show ranks to guardians"),
        default=False,
        help_text=_("Off by default: guardians see their child's scores and class aggregates only."),
    )

    class Meta:
        verbose_name = _("grades settings")
        verbose_name_plural = _("grades settings")

    def __str__(self) -> str:
        return f"grades settings of {self.school_id}"


class Assessment(models.Model):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("monthly exam")
        MIDTERM = "midterm", _("midterm exam")
        FINAL = "final", _("final exam")
        QUIZ = "quiz", _("quiz")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="assessments")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="assessments")
    grade = models.ForeignKey(GradeLevel, on_delete=models.PROTECT, related_name="assessments")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MONTHLY)
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("assessment")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["term", "grade", "name"], name="assessment_name_unique_in_term_grade"
            )
        ]
        indexes = [models.Index(fields=["school", "status", "date"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class AssessmentSubject(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="subjects")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    full_marks = models.DecimalField(
        _("full marks"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    pass_mark = models.DecimalField(_("pass mark"), max_digits=6, decimal_places=2, null=True, blank=True)
    excellent_mark = models.DecimalField(
        _("excellent mark"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("assessment subject")
        ordering = ["subject__code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "subject"], name="assessment_subject_unique"),
            models.CheckConstraint(
                condition=Q(full_marks__gt=0), name="assessment_subject_full_marks_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.subject_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.fill_defaults()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def fill_defaults(self) -> None:
        """Pass mark 60 % and excellent mark 85 % of the full marks unless set."""
        full = Decimal(self.full_marks)
        if self.pass_mark is None:
            self.pass_mark = (full * PASS_SHARE).quantize(Decimal("0.01"))
        if self.excellent_mark is None:
            self.excellent_mark = (full * EXCELLENT_SHARE).quantize(Decimal("0.01"))


class Score(models.Model):
    class Marker(models.TextChoices):
        NONE = "none", _("scored")
        ABSENT = "absent", _("absent")
        EXEMPT = "exempt", _("exempt")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    assessment_subject = models.ForeignKey(AssessmentSubject, on_delete=models.CASCADE, related_name="scores")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="scores")
    klass = models.ForeignKey(Class, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    marker = models.CharField(_("marker"), max_length=10, choices=Marker.choices, default=Marker.NONE)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("score")
        constraints = [
            models.UniqueConstraint(
                fields=["assessment_subject", "student"], name="score_unique_per_subject"
            ),
            models.CheckConstraint(
                condition=(Q(marker="none", value__isnull=False) | Q(~Q(marker="none"), value__isnull=True)),
                name="score_value_or_marker",
            ),
        ]
        indexes = [models.Index(fields=["assessment_subject", "klass"])]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.value if self.marker == 'none' else self.marker}"


class ReportComment(models.Model):
    """The head teacher's comment on a student's report card for one assessment."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="comments")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="report_comments")
    text = models.TextField(_("comment"), max_length=1000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("report comment")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "student"], name="report_comment_unique"),
        ]

    def __str__(self) -> str:
        return f"comment on {self.student_id} for {self.assessment_id}"
