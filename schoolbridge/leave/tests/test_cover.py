"""approved_cover: what approved leave excuses on a day, in one query for any number of students."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schoolbridge.leave.models import Kind, LeaveRequest, Status
from schoolbridge.leave.queries import approved_cover

pytestmark = pytest.mark.django_db

D = datetime.date(2026, 3, 2)  # a Monday


def _leave(world, student, status=Status.APPROVED, **kw):
    fields = {"kind": Kind.DAYS, "start_date": D, "end_date": D, "reason": "sick"}
    fields.update(kw)
    return LeaveRequest.objects.create(
        district=world.district,
        school=student.school,
        student=student,
        applicant=world.user("a_parent"),
        status=status,
        **fields,
    )


def test_whole_days_cover_every_day_of_the_range(world):
    s = world.a.students["g7c1"][0]
    leave = _leave(world, s, end_date=D + datetime.timedelta(days=2))
    for offset in range(3):
        cover = approved_cover([s.pk], D + datetime.timedelta(days=offset))[s.pk]
        assert cover.leave_id == leave.pk and cover.whole_day
        assert cover.covers() and cover.covers(period=3) and cover.covers(half="pm")
        assert cover.reason_label
    assert approved_cover([s.pk], D + datetime.timedelta(days=3)) == {}
    assert approved_cover([s.pk], D - datetime.timedelta(days=1)) == {}


def test_half_days(world):
    s = world.a.students["g7c1"][0]
    # Monday afternoon to Wednesday morning.
    _leave(
        world, s, kind=Kind.HALF_DAYS, end_date=D + datetime.timedelta(days=2), start_half="pm", end_half="am"
    )
    monday = approved_cover([s.pk], D)[s.pk]
    assert not monday.whole_day and monday.halves == frozenset({"pm"})
    assert not monday.covers() and not monday.covers(half="am") and monday.covers(half="pm")
    assert monday.covers(period=6, half="pm") and not monday.covers(period=2, half="am")
    assert not monday.covers(period=6)  # the half of a bare period number is unknown
    assert approved_cover([s.pk], D + datetime.timedelta(days=1))[s.pk].whole_day
    wednesday = approved_cover([s.pk], D + datetime.timedelta(days=2))[s.pk]
    assert wednesday.halves == frozenset({"am"}) and not wednesday.whole_day


def test_single_morning_and_merging_two_halves(world):
    s = world.a.students["g7c1"][0]
    _leave(world, s, kind=Kind.HALF_DAYS, start_half="am", end_half="am")
    cover = approved_cover([s.pk], D)[s.pk]
    assert cover.halves == frozenset({"am"}) and not cover.whole_day
    _leave(world, s, kind=Kind.HALF_DAYS, start_half="pm", end_half="pm")
    cover = approved_cover([s.pk], D)[s.pk]
    assert cover.whole_day and cover.covers()


def test_periods(world):
    s = world.a.students["g7c1"][0]
    _leave(world, s, kind=Kind.PERIODS, periods=[3, 4])
    cover = approved_cover([s.pk], D)[s.pk]
    assert cover.periods == frozenset({3, 4}) and not cover.whole_day and not cover.halves
    assert cover.covers(period=3) and cover.covers(period=4, half="am")
    assert not cover.covers(period=5) and not cover.covers() and not cover.covers(half="am")


def test_only_approved_leave_counts(world):
    students = world.a.students["g7c1"]
    for status in (Status.PENDING, Status.REJECTED, Status.CANCELLED, Status.DRAFT):
        _leave(world, students[0], status=status)
    assert approved_cover([students[0].pk], D) == {}


def test_one_query_for_any_number_of_students(world):
    students = [s for key in ("g7c1", "g7c2", "g8c1") for s in world.a.students[key]]
    for s in students:
        _leave(world, s)
    with CaptureQueriesContext(connection) as few:
        assert len(approved_cover([students[0].pk], D)) == 1
    with CaptureQueriesContext(connection) as many:
        assert set(approved_cover([s.pk for s in students], D)) == {s.pk for s in students}
    assert len(few) == len(many) == 1
    with CaptureQueriesContext(connection) as none:
        assert approved_cover([], D) == {}
    assert len(none) == 0
