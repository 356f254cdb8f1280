"""Leave requests (请假): for a student (applied for by a guardian) or for a staff member, on one engine.

A request covers whole days, half days ("am"/"pm") or numbered periods of a single day. It goes through
an approval chain fixed when it is submitted (from the school's ApprovalPolicy, or the default chain);
every decision is a Decision row. Attachments (a doctor's note) are stored under MEDIA_ROOT and served
only through an access-checked view.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School, Staff, Student


class Kind(models.TextChoices):
    DAYS = "days", _("whole days")
    HALF_DAYS = "half_days", _("half days")
    PERIODS = "periods", _("specific periods")


class Half(models.TextChoices):
    AM = "am", _("morning")
    PM = "pm", _("afternoon")


class Reason(models.TextChoices):
    SICK = "sick", _("sick")
    PERSONAL = "personal", _("personal matter")
    FAMILY = "family", _("family matter")
    MEDICAL = "medical", _("medical appointment")
    OTHER = "other", _("other")


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING = "pending", _("waiting for approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class ApproverRole(models.TextChoices):
    HEAD_TEACHER = "head_teacher", _("head teacher")
    GRADE_DIRECTOR = "grade_director", _("grade director")
    PRINCIPAL = "principal", _("principal")
    SCHOOL_ADMIN = "school_admin", _("school administrator")


class Audience(models.TextChoices):
    STUDENT = "student", _("student leave")
    STAFF = "staff", _("staff leave")


# Statuses that hold the time: a new request may not overlap one of these.
ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED)


class ApprovalPolicy(models.Model):
    """A school's approval chain. Without one, the default chain of leave.chain applies."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="leave_policy")
    remind_after_hours = models.PositiveSmallIntegerField(
        _("remind approvers after (hours)"),
        default=24,
        help_text=_("An approver who has not decided within this time gets a reminder, once per period."),
    )

    class Meta:
        verbose_name = _("leave approval policy")
        verbose_name_plural = _("leave approval policies")

    def __str__(self) -> str:
        return f"{self.school}"


class ApprovalStep(models.Model):
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    audience = models.CharField(_("for"), max_length=10, choices=Audience.choices, default=Audience.STUDENT)
    order = models.PositiveSmallIntegerField(_("order"))
    role = models.CharField(_("approver"), max_length=20, choices=ApproverRole.choices)
    min_days = models.DecimalField(
        _("only when longer than (days)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Leave empty to apply the step to every request."),
    )

    class Meta:
        verbose_name = _("approval step")
        ordering = ["audience", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "audience", "order"], name="leave_step_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.get_role_display()}"


class LeaveRequest(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="leave_requests")
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="leave_requests"
    )
    staff = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.CASCADE, related_name="leave_requests"
    )
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.DAYS)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    start_half = models.CharField(_("starting"), max_length=2, choices=Half.choices, blank=True)
    end_half = models.CharField(_("ending"), max_length=2, choices=Half.choices, blank=True)
    periods = models.JSONField(_("periods"), default=list, blank=True)  # sorted period numbers, one day
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    reason_text = models.TextField(_("details"), max_length=1000, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    # The chain, fixed at submission: a list of ApproverRole values. current_step indexes it.
    steps = models.JSONField(default=list)
    current_step = models.PositiveSmallIntegerField(default=0)
    current_role = models.CharField(max_length=20, blank=True)  # steps[current_step] while pending, else ""
    step_started_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)  # the next overdue reminder, while pending
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("leave request")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(student__isnull=False, staff__isnull=True)
                | Q(student__isnull=True, staff__isnull=False),
                name="leave_for_student_or_staff",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="leave_dates_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["student", "status", "start_date"]),
            models.Index(fields=["staff", "status", "start_date"]),
            models.Index(fields=["school", "status", "current_role"]),
            models.Index(fields=["status", "remind_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.start_date}–{self.end_date} ({self.status})"

    @property
    def subject_name(self) -> str:
        who = self.student if self.student_id else self.staff
        return str(who) if who is not None else ""

    @property
    def current_role_label(self) -> str:
        return str(ApproverRole(self.current_role).label) if self.current_role in ApproverRole.values else ""

    @property
    def is_open(self) -> bool:
        """Editable or cancellable: submitted and nobody has decided anything yet."""
        return self.status == Status.PENDING and self.current_step == 0


def _attachment_path(instance: Attachment, filename: str) -> str:
    # A random name: the stored file says nothing about the child or the original file name.
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}.get(
        instance.content_type, "bin"
    )
    now = timezone.now()
    return f"leave/{now:%Y/%m}/{uuid.uuid4().hex}.{ext}"


class Attachment(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    leave = models.ForeignKey(LeaveRequest, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class Decision(models.Model):
    class Outcome(models.TextChoices):
        APPROVE = "approve", _("approved")
        REJECT = "reject", _("rejected")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    leave = models.ForeignKey(LeaveRequest, on_delete=models.CASCADE, related_name="decisions")
    step = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=20, choices=ApproverRole.choices)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("decision"), max_length=10, choices=Outcome.choices)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("leave decision")
        ordering = ["step", "at"]
        constraints = [models.UniqueConstraint(fields=["leave", "step"], name="leave_one_decision_per_step")]

    def __str__(self) -> str:
        return f"{self.leave_id} step {self.step}: {self.outcome}"
