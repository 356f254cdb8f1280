import datetime

import pytest

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.schoolcal import actions, queries
from schoolbridge.schoolcal.actions import PeriodIn
from schoolbridge.schoolcal.models import BellPeriod, CalendarException
from schoolbridge.web.tests.helpers import verified_client

T = datetime.time


def weekday_in_term(world, iso_weekday):
    """A date with the given ISO weekday inside school A's term, at least a week from its ends."""
    day = world.a.term.start_date + datetime.timedelta(days=14)
    while day.isoweekday() != iso_weekday:
        day += datetime.timedelta(days=1)
    return day


def test_weekdays_are_school_days_and_weekends_are_not(world):
    tue, sat = weekday_in_term(world, 2), weekday_in_term(world, 6)
    assert queries.is_school_day(world.a.school, tue)
    assert not queries.is_school_day(world.a.school, sat)
    # outside every term
    assert not queries.is_school_day(world.a.school, world.a.term.end_date + datetime.timedelta(days=1))


def test_holiday_on_a_tuesday_is_not_a_school_day(world):
    admin = world.user("a_admin")
    tue = weekday_in_term(world, 2)
    actions.add_exception(admin, world.a.school, "holiday", "校庆", tue)
    assert not queries.is_school_day(world.a.school, tue)
    assert queries.is_school_day(world.b.school, tue)  # the other school is unaffected
    assert queries.periods(world.a.school, tue) == []
    ev = AuditEvent.objects.get(action="schoolcal.exception.add")
    assert ev.after is not None and ev.after["name"] == "校庆" and ev.school_id == world.a.school.pk


def test_makeup_saturday_is_a_school_day_and_follows_a_weekday(world):
    admin = world.user("a_admin")
    sat = weekday_in_term(world, 6)
    fri = sat - datetime.timedelta(days=1)
    actions.set_bell_schedule(
        admin,
        world.a.term,
        0,
        [
            PeriodIn(1, T(8, 0), T(8, 45), "am"),
            PeriodIn(2, T(8, 55), T(9, 40), "am"),
            PeriodIn(3, T(14, 0), T(14, 45), "pm"),
        ],
    )
    actions.set_bell_schedule(admin, world.a.term, 5, [PeriodIn(1, T(8, 30), T(9, 10), "am", "早读")])
    actions.add_exception(admin, world.a.school, "workday", "国庆调休", sat, follows_weekday=5)
    assert queries.is_school_day(world.a.school, sat)
    assert [p.number for p in queries.periods(world.a.school, sat)] == [1]
    assert queries.periods(world.a.school, sat)[0].name == "早读"
    assert queries.periods(world.a.school, sat) == queries.periods(world.a.school, fri)
    assert sat in queries.school_days(world.a.school, fri, sat + datetime.timedelta(days=1))


def test_periods_of_a_day(world):
    admin = world.user("a_admin")
    mon = weekday_in_term(world, 1)
    actions.set_bell_schedule(
        admin,
        world.a.term,
        0,
        [
            PeriodIn(2, T(8, 55), T(9, 40), "am"),
            PeriodIn(1, T(8, 0), T(8, 45), "am", "第一节"),
            PeriodIn(5, T(14, 0), T(14, 45), "pm"),
        ],
    )
    ps = queries.periods(world.a.school, mon)
    assert [(p.number, p.start, p.half) for p in ps] == [
        (1, T(8, 0), "am"),
        (2, T(8, 55), "am"),
        (5, T(14), "pm"),
    ]
    assert ps[0].name == "第一节"
    # replacing the schedule replaces the rows
    actions.set_bell_schedule(admin, world.a.term, 0, [PeriodIn(1, T(7, 50), T(8, 30), "am")])
    assert [p.start for p in queries.periods(world.a.school, mon)] == [T(7, 50)]


def test_school_days_over_a_range_with_custom_week(world, django_assert_max_num_queries):
    admin = world.user("a_admin")
    mon = weekday_in_term(world, 1)
    actions.set_week_pattern(admin, world.a.term, [1, 2, 3, 4, 5, 6])
    actions.add_exception(
        admin,
        world.a.school,
        "holiday",
        "运动会",
        mon + datetime.timedelta(days=2),
        mon + datetime.timedelta(days=3),
    )
    with django_assert_max_num_queries(3):
        days = queries.school_days(world.a.school, mon, mon + datetime.timedelta(days=6))
    assert [d.isoweekday() for d in days] == [1, 2, 5, 6]


def test_bad_bell_schedule_names_the_row_and_writes_nothing(world):
    admin = world.user("a_admin")
    with pytest.raises(InvalidInput) as exc:
        actions.set_bell_schedule(
            admin,
            world.a.term,
            0,
            [
                PeriodIn(1, T(8, 0), T(8, 45), "am"),
                PeriodIn(2, T(8, 30), T(9, 10), "am"),
                PeriodIn(3, T(10, 0), T(9, 0), "am"),
                PeriodIn(1, T(11, 0), T(11, 40), "xx"),
            ],
        )
    errors = exc.value.message_dict
    assert "periods.1.start" in errors  # overlaps period 1
    assert "periods.2.end" in errors
    assert "periods.3.number" in errors and "periods.3.half" in errors
    assert not BellPeriod.objects.exists()


@pytest.mark.parametrize("username", ["a_head", "a_teacher", "a_parent", "b_admin"])
def test_only_managers_of_the_school_change_the_calendar(world, username):
    user = world.user(username)
    with pytest.raises(NotFound):
        actions.add_exception(user, world.a.school, "holiday", "x", weekday_in_term(world, 2))
    with pytest.raises(NotFound):
        actions.set_week_pattern(user, world.a.term, [1, 2])
    assert not CalendarException.objects.exists()


def test_bad_exception_input(world):
    with pytest.raises(InvalidInput) as exc:
        d = weekday_in_term(world, 2)
        actions.add_exception(
            world.user("a_admin"), world.a.school, "party", "", d, d - datetime.timedelta(days=1)
        )
    assert set(exc.value.message_dict) == {"kind", "name", "end_date"}


def test_management_page(world):
    admin = world.user("a_admin")
    client = verified_client(admin)
    r = client.get("/calendar/")
    assert r.status_code == 302
    page = r["Location"]
    assert client.get(page).status_code == 200
    tue = weekday_in_term(world, 2)
    r = client.post(
        f"{page}exceptions/",
        {"kind": "holiday", "name": "校庆日", "start_date": tue.isoformat(), "term": world.a.term.pk},
    )
    assert r.status_code == 302
    assert not queries.is_school_day(world.a.school, tue)
    assert "校庆日" in client.get(page).content.decode()
    # a field-level error, nothing saved
    r = client.post(f"{page}exceptions/", {"kind": "holiday", "name": "", "start_date": tue.isoformat()})
    assert r.status_code == 400 and "errorlist" in r.content.decode()
    # bell schedule: row 2 ends before it starts
    data = {
        "term": world.a.term.pk,
        "weekday": 0,
        "p-TOTAL_FORMS": 3,
        "p-INITIAL_FORMS": 0,
        "p-0-number": 1,
        "p-0-start": "08:00",
        "p-0-end": "08:45",
        "p-0-half": "am",
        "p-1-number": 2,
        "p-1-start": "09:00",
        "p-1-end": "08:50",
        "p-1-half": "am",
    }
    r = client.post(f"{page}bells/", data)
    assert r.status_code == 400 and not BellPeriod.objects.exists()
    data["p-1-end"] = "09:45"
    assert client.post(f"{page}bells/", data).status_code == 302
    assert [p.number for p in queries.periods(world.a.school, tue + datetime.timedelta(days=1))] == [1, 2]
    r = client.post(f"{page}week/", {"term": world.a.term.pk, "weekdays": ["1", "2", "3"]})
    assert r.status_code == 302
    assert not queries.is_school_day(world.a.school, tue + datetime.timedelta(days=2))


def test_teacher_cannot_open_the_page(world):
    client = verified_client(world.user("a_teacher"))
    assert client.get("/calendar/").status_code == 404
    assert client.get(f"/calendar/school/{world.a.school.pk}/").status_code == 404
