"""Conversations: guardian–teacher threads, the class Q&A board, quiet hours, canned replies and the
per-school sensitive-word lexicon.

Threads and their messages are an archive: no participant can delete them (there is no delete action,
and the foreign keys from messages protect the rows they point at).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, School

ALL_WEEKDAYS = "1234567"  # ISO weekdays, Monday = 1


class QuietHours(models.Model):
    """A staff member's quiet hours: messages arriving then get the auto-reply and the staff member's
    notification waits until the quiet hours end. A span whose end is before its start runs overnight
    and belongs to the weekday it starts on (Friday 21:00–07:00 is quiet until Saturday 07:00)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours")
    start = models.TimeField(_("quiet from"), default=datetime.time(21, 0))
    end = models.TimeField(_("quiet until"), default=datetime.time(7, 0))
    weekdays = models.CharField(_("days"), max_length=7, default=ALL_WEEKDAYS)
    auto_reply = models.TextField(_("automatic reply"), blank=True, max_length=1000)
    enabled = models.BooleanField(_("quiet hours on"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("quiet hours")
        verbose_name_plural = _("quiet hours")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.start:%H:%M}–{self.end:%H:%M} ({self.weekdays})"


class LexiconEntry(models.Model):
    """One word of a school's sensitive-word lexicon. It extends the built-in default list, or
    overrides a default word's level ("off" removes a default word for this school)."""

    class Level(models.TextChoices):
        WARN = "warn", _("warn (allow and flag)")
        BLOCK = "block", _("block (refuse)")
        OFF = "off", _("off (allow)")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="lexicon_entries")
    word = models.CharField(_("word or phrase"), max_length=60)
    level = models.CharField(_("level"), max_length=5, choices=Level.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("lexicon entry")
        verbose_name_plural = _("lexicon entries")
        ordering = ["word"]
        constraints = [models.UniqueConstraint(fields=["school", "word"], name="lexicon_word_unique_in_school")]

    def __str__(self) -> str:
        return f"{self.word} ({self.level})"

