"""Staged imports: a saved source with its mapping, a batch per run, a row per source row, a review queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School


class Target(models.TextChoices):
    STUDENTS = "students", _("Students, guardians and classes")
    STAFF = "staff", _("Staff")
    CLASSES = "classes", _("Classes and head teachers")
    ASSIGNMENTS = "assignments", _("Teaching assignments")
    SCORES = "scores", _("Exam scores")
    ATTENDANCE = "attendance", _("Attendance history")


class ImportSource(models.Model):
    """A saved source: where rows come from, the mapping template, and an optional sync schedule."""

    class Kind(models.TextChoices):
        FILE = "file", _("CSV or Excel file")
        SQL = "sql", _("SQL database")
        API = "api", _("JSON web API")

    class Schedule(models.TextChoices):
        NONE = "", _("no scheduled sync")
        HOURLY = "hourly", _("every hour")
        DAILY = "daily", _("every day")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FILE)
    target = models.CharField(_("import into"), max_length=20, choices=Target.choices)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    # Settings of the source: SQL {url, query}; API {url, records_path, auth_header, pagination,
    # page_param, next_path}; file {sheet, header_row}. Secrets (URL passwords, auth headers) live here:
    # the pages never show them back.
    config = models.JSONField(default=dict, blank=True)
    schedule = models.CharField(_("scheduled sync"), max_length=10, choices=Schedule.choices, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("import source")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="import_source_name_unique")]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        STAGED = "staged", _("staged")
        VALIDATING = "validating", _("checking")
        VALIDATED = "validated", _("checked")
        PREVIEWED = "previewed", _("ready to commit")
        HELD = "held", _("held")
        COMMITTING = "committing", _("committing")
        COMMITTED = "committed", _("committed")
        ROLLED_BACK = "rolled_back", _("rolled back")
        FAILED = "failed", _("failed")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(
        ImportSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    target = models.CharField(_("import into"), max_length=20, choices=Target.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.STAGED)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)  # encoding, delimiter, sheet
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)  # batch-level: [{"message": ...}]
    counts = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    committed_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import batch")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["school", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_target_display()} #{self.pk}"


class ImportRow(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("new")
        UPDATE = "update", _("update")
        UNCHANGED = "unchanged", _("unchanged")
        CONFLICT = "conflict", _("needs review")
        ERROR = "error", _("error")
        SKIP = "skip", _("skipped")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    raw = models.JSONField(default=dict)
    normalized = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)  # [{"column", "field", "value", "message"}]
    match = models.JSONField(default=dict, blank=True)  # {"id", "by", "confidence", "reason"}
    action = models.CharField(max_length=10, choices=Action.choices, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after]
    result = models.JSONField(default=dict, blank=True)  # created / updated ids and before-snapshots

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="import_row_unique")]
        indexes = [models.Index(fields=["batch", "action"])]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.number}"


class ReviewItem(models.Model):
    """An ambiguous match: the row may be an existing record under another key. Someone decides."""

    class Decision(models.TextChoices):
        PENDING = "", _("waiting")
        SAME = "same", _("same record: update it")
        NEW = "new", _("different: create a new record")
        SKIP = "skip", _("skip this row")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="reviews")
    row = models.OneToOneField(ImportRow, on_delete=models.CASCADE, related_name="review")
    candidate_type = models.CharField(max_length=40)
    candidate_id = models.PositiveIntegerField()
    confidence = models.FloatField()
    reason = models.CharField(max_length=300)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["row__number"]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_id} ~ {self.candidate_type}:{self.candidate_id}"
