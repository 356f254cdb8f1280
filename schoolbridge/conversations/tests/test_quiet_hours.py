import datetime
from zoneinfo import ZoneInfo

import pytest

from schoolbridge.accounts.models import User
from schoolbridge.conversations.models import QuietHours
from schoolbridge.conversations.queries import in_quiet_hours, quiet_period_end

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    # 2025-09-01 is a Monday.
    return datetime.datetime(2025, 9, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def teacher(db):
    return User.objects.create_user("qh_teacher", password="x")


def test_no_setting_means_never_quiet(teacher):
    assert not in_quiet_hours(teacher, at(1, 23))
    assert not in_quiet_hours(None, at(1, 23))


def test_overnight_span_belongs_to_the_day_it_starts(teacher):
    QuietHours.objects.create(user=teacher, start=datetime.time(21), end=datetime.time(7), weekdays="12345")
    assert in_quiet_hours(teacher, at(1, 21))  # Monday evening
    assert in_quiet_hours(teacher.pk, at(2, 6, 59))  # Tuesday early morning, from Monday
    assert not in_quiet_hours(teacher, at(2, 7))
    assert not in_quiet_hours(teacher, at(1, 20, 59))
    assert in_quiet_hours(teacher, at(6, 6))  # Saturday morning, from Friday night
    assert not in_quiet_hours(teacher, at(6, 22))  # Saturday night not listed
    assert not in_quiet_hours(teacher, at(1, 6))  # Monday morning would come from Sunday
    assert quiet_period_end(teacher.quiet_hours, at(5, 23)) == at(6, 7)


def test_daytime_span_and_switch(teacher):
    setting = QuietHours.objects.create(user=teacher, start=datetime.time(12), end=datetime.time(14))
    assert in_quiet_hours(teacher, at(3, 13))
    assert quiet_period_end(setting, at(3, 13)) == at(3, 14)
    assert not in_quiet_hours(teacher, at(3, 14))
    setting.enabled = False
    setting.save()
    assert not in_quiet_hours(teacher, at(3, 13))


def test_utc_instants_are_judged_in_local_time(teacher):
    QuietHours.objects.create(user=teacher, start=datetime.time(21), end=datetime.time(7))
    assert in_quiet_hours(teacher, datetime.datetime(2025, 9, 1, 14, 30, tzinfo=datetime.UTC))  # 22:30 local
