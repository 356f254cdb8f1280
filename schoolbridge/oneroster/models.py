"""OneRoster bookkeeping: stable sourcedIds, integration clients, their tokens and their call log.

The school data itself lives in core and grades; this app only remembers which OneRoster sourcedId
stands for which of our rows (see mapping.py for the mapping) and who may call the REST binding.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School


class SourcedId(models.Model):
    """One OneRoster sourcedId for one of our objects.

    `kind` names the OneRoster entity and our model (see mapping.KINDS); `key` is our object's key: the
    primary key, or a composite such as "class:subject:term" for a scheduled class. A sourcedId is
    unique per district and kind, except that one sourcedId may stand for one row per school
    (a district-wide school year or course is stored as one SchoolYear / Subject per school).
    `row_hash` is a fingerprint of the CSV row last imported, so an unchanged re-import skips the row.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=80)
    sourced_id = models.CharField(max_length=255)
    row_hash = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("OneRoster sourcedId")
        constraints = [
            models.UniqueConstraint(fields=["district", "kind", "key"], name="oneroster_sid_unique_key"),
        ]
        indexes = [models.Index(fields=["district", "kind", "sourced_id"], name="oneroster_sid_lookup")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} = {self.sourced_id}"


class Client(models.Model):
    """An integration client (OAuth 2.0 client credentials) scoped to a district or one school."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    client_id = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("OneRoster client")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccessToken(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("OneRoster access token")

    def __str__(self) -> str:
        return f"token of {self.client_id}"


class CallLog(models.Model):
    """Every REST call of an integration client (and every refused one)."""

    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.CharField(max_length=1000, blank=True)
    status = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("OneRoster call")
        indexes = [models.Index(fields=["client", "at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
