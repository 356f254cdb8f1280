"""Reads for conversations. ``in_quiet_hours`` is also used by notices (escalation to staff)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from . import wordfilter
from .models import LexiconEntry, QuietHours


def _user_id(user: Any) -> int | None:
    if user is None or isinstance(user, bool):
        return None
    if isinstance(user, int):
        return user
    return getattr(user, "pk", None)


def quiet_hours_of(user: Any) -> QuietHours | None:
    """The user's quiet hours setting if they have one (enabled or not)."""
    uid = _user_id(user)
    if uid is None:
        return None
    return QuietHours.objects.filter(user_id=uid).first()


def quiet_period_end(setting: QuietHours | None, at: datetime.datetime | None = None) -> datetime.datetime | None:
    """When the quiet period containing ``at`` ends (aware, local time zone), or None if ``at`` is not
    in quiet hours under this setting."""
    if setting is None or not setting.enabled or setting.start == setting.end:
        return None
    local = timezone.localtime(at or timezone.now())
    t, day = local.time(), local.date()
    weekday = local.isoweekday()
    days = set(setting.weekdays)
    tz = local.tzinfo

    def _at(d: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(d, setting.end, tzinfo=tz)

    if setting.start < setting.end:
        if str(weekday) in days and setting.start <= t < setting.end:
            return _at(day)
        return None
    # Overnight span: from start on a listed day until end the next morning.
    if t >= setting.start and str(weekday) in days:
        return _at(day + datetime.timedelta(days=1))
    previous = 7 if weekday == 1 else weekday - 1
    if t < setting.end and str(previous) in days:
        return _at(day)
    return None


def in_quiet_hours(user: Any, at: datetime.datetime | None = None) -> bool:
    """Whether ``user`` (a user or user id) is in their quiet hours at ``at`` (default now).
    Users without a setting, or with it switched off, are never in quiet hours."""
    return quiet_period_end(quiet_hours_of(user), at) is not None


def school_lexicon(school_id: int | None) -> dict[str, wordfilter.Level]:
    """The built-in lexicon extended and overridden by the school's own entries."""
    overrides: list[tuple[str, str | None]] = []
    if school_id is not None:
        for word, level in LexiconEntry.objects.filter(school_id=school_id).values_list("word", "level"):
            overrides.append((word, None if level == LexiconEntry.Level.OFF else level))
    return wordfilter.merge(wordfilter.DEFAULT_LEXICON, overrides)


def check_text(school_id: int | None, text: str, lexicon: Mapping[str, str] | None = None) -> list[wordfilter.Hit]:
    return wordfilter.check(text, lexicon if lexicon is not None else school_lexicon(school_id))
