"""The write log and the sensitive-read log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School, Student


class AuditEvent(models.Model):
    """One write: who did what to which object, with the fields before and after."""

    district = models.ForeignKey(District, null=True, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, null=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["school", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class SensitiveRead(models.Model):
    """A read of a sensitive field of a student (national ID, health notes)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="sensitive_reads")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    field = models.CharField(max_length=40)
    via = models.CharField(max_length=20, default="web")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sensitive read")
        indexes = [models.Index(fields=["student", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.field} of {self.student_id}"
