"""Notices (通知): one-to-many announcements with receipts, reminders and escalation.

A notice is addressed to audiences (the school, grades, classes, selected families, staff). When it is
sent, the audiences are resolved to recipient ACCOUNTS: one Receipt per account, with the students
(and their classes) through which the account was reached, so that per-class counts can say which
families were reached (a family is reached when any of its guardians has read).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Class, District, School, Student


class Priority(models.TextChoices):
    NORMAL = "normal", _("normal")
    URGENT = "urgent", _("urgent")


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SCHEDULED = "scheduled", _("scheduled")
    SENT = "sent", _("sent")
    WITHDRAWN = "withdrawn", _("withdrawn")


class AudienceKind(models.TextChoices):
    SCHOOL = "school", _("whole school")
    GRADE = "grade", _("grade")
    CLASS = "class", _("class")
    GUARDIANS = "guardians", _("selected families")
    STAFF = "staff", _("staff")
    GROUP = "group", _("custom group")
    STAFF_HEADS = "staff_heads", _("head teachers")
    STAFF_GRADE = "staff_grade", _("teachers of a grade")
    STAFF_SUBJECT = "staff_subj", _("teachers of a subject")


class Notice(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="notices")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notices_sent"
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    confirmation_required = models.BooleanField(_("confirmation required"), default=False)
    signature_required = models.BooleanField(_("signature required"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    # A double-tapped send carries the same key: one notice per (author, key).
    idempotency_key = models.CharField(max_length=64, blank=True)
    # Per-notice reminder thresholds in hours (empty: the school's policy; 0: this stage is off).
    remind_after_hours = models.PositiveIntegerField(
        _("in-app reminder after (hours)"), null=True, blank=True
    )
    sms_after_hours = models.PositiveIntegerField(_("SMS after (hours)"), null=True, blank=True)
    escalate_after_hours = models.PositiveIntegerField(
        _("head teacher list after (hours)"), null=True, blank=True
    )
    last_manual_reminder_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("notice")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="notice_idempotency_unique_per_author",
            ),
            models.CheckConstraint(
                condition=Q(signature_required=False) | Q(confirmation_required=True),
                name="notice_signature_needs_confirmation",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_at"]),
            models.Index(fields=["author", "created_at"]),
            models.Index(fields=["school", "status", "sent_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def link(self) -> str:
        return f"/notices/{self.pk}/"

    @property
    def is_urgent(self) -> bool:
        return self.priority == Priority.URGENT


class NoticeAudience(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="audiences")
    kind = models.CharField(max_length=12, choices=AudienceKind.choices)
    # school/staff: the school id; grade: a GradeLevel id; class: a Class id; guardians: a Student id (the family);
    # group: a NoticeGroup id (resolved to its members when the notice is sent).
    target_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("notice audience")
        constraints = [
            models.UniqueConstraint(fields=["notice", "kind", "target_id"], name="notice_audience_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.target_id}"


def _attachment_path(instance: NoticeAttachment, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"notices/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext[:8]}"


class NoticeAttachment(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notice attachment")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Receipt(models.Model):
    """One per recipient account and notice."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_receipts"
    )
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(_("signature"), max_length=60, blank=True)
    reminded_count = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    sms_sent_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice receipt")
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="receipt_one_per_account")]
        indexes = [
            models.Index(fields=["notice", "delivered_at"]),
            models.Index(fields=["notice", "read_at"]),
            models.Index(fields=["user", "notice"]),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.user_id}"


class ReceiptStudent(models.Model):
    """A student (family) through whom a receipt's account was reached, with the student's class."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="students")
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    klass = models.ForeignKey(Class, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["receipt", "student"], name="receipt_student_unique")]
        indexes = [models.Index(fields=["notice", "klass"])]

    def __str__(self) -> str:
        return f"{self.receipt_id} via {self.student_id}"


class NoticeVersion(models.Model):
    """The text of a notice before each edit."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notice version")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["notice", "version"], name="notice_version_unique")]

    def __str__(self) -> str:
        return f"{self.notice_id} v{self.version}"


class NoticeTemplate(models.Model):
    """A reusable notice text: the school's library (owner empty) or one user's own."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="notice_templates")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notice_templates",
    )
    name = models.CharField(_("template name"), max_length=80)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    confirmation_required = models.BooleanField(_("confirmation required"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notice template")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_library(self) -> bool:
        return self.owner_id is None


class ReminderPolicy(models.Model):
    """A school's reminder stages, in hours after sending (0: the stage is off)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="notice_reminder_policy")
    remind_after_hours = models.PositiveIntegerField(_("in-app reminder after (hours)"), default=4)
    sms_after_hours = models.PositiveIntegerField(_("SMS after (hours)"), default=24)
    escalate_after_hours = models.PositiveIntegerField(_("head teacher list after (hours)"), default=48)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notice reminder policy")

    def __str__(self) -> str:
        return f"{self.school_id}: {self.remind_after_hours}/{self.sms_after_hours}/{self.escalate_after_hours} h"


class NoticeStat(models.Model):
    """A snapshot of a notice's reach, written by every reminder sweep (reach over time)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="stats")
    at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField()
    delivered = models.PositiveIntegerField()
    read = models.PositiveIntegerField()
    confirmed = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("notice reach snapshot")
        ordering = ["notice", "at"]
        indexes = [models.Index(fields=["notice", "at"])]

    def __str__(self) -> str:
        return f"{self.notice_id} @ {self.at:%Y-%m-%d %H:%M}: {self.read}/{self.recipients}"


class NoticeGroup(models.Model):
    """A custom audience: chosen families (students) and/or guardian accounts, kept by its owner.

    Personal groups are seen by their owner only; shared groups by every sender of the school. Members
    are resolved when a notice is sent, and only within the sender's reach at that moment.
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="notice_groups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_groups"
    )
    name = models.CharField(_("group name"), max_length=80)
    shared = models.BooleanField(_("shared with the school"), default=False)
    students = models.ManyToManyField(Student, blank=True, related_name="+", verbose_name=_("families"))
    guardians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("guardian accounts")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notice group")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["school", "shared"]), models.Index(fields=["owner", "school"])]

    def __str__(self) -> str:
        return self.name
