"""The home pages' shortcuts keep their figures right: the bell count read with the notifications,
the school overview counted within the school only, a fixed and small number of queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.core.models import Guardian, Guardianship, Person
from schoolbridge.notify.models import Notification

from .helpers import english_client, verified_client

pytestmark = pytest.mark.django_db

BELL = re.compile(r'<span id="bell-count" class="bell-count" data-count="(\d+)">')


def _bell(html: str) -> int:
    match = BELL.search(html)
    assert match, "no bell on the page"
    return int(match.group(1))


def _home(client: Any) -> tuple[str, int]:
    client.get("/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/")
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def test_guardian_bell_counts_unread_only_and_is_zero_without_notifications(world):
    parent = world.user("a_parent")
    client = english_client(parent)
    html, _ = _home(client)
    assert _bell(html) == 0
    now = timezone.now()
    Notification.objects.create(user=parent, school=world.a.school, kind="notice", title="Read", read_at=now)
    html, _ = _home(client)
    assert _bell(html) == 0
    assert "Read" in html
    for i in range(3):
        Notification.objects.create(user=parent, school=world.a.school, kind="notice", title=f"New {i}")
    Notification.objects.create(user=world.user("a_parent_norec"), kind="notice", title="Someone else's")
    html, _ = _home(client)
    assert _bell(html) == 3


def test_home_pages_query_counts(world):
    # session, user, grants, children, notifications with the unread count
    _, guardian = _home(english_client(world.user("a_parent")))
    assert guardian <= 8  # five for the page, three for today's attendance of all children together
    # session, user, grants, subjects, classes, unread count
    _, teacher = _home(english_client(world.user("a_teacher")))
    assert teacher <= 6
    # session, user, TOTP device, grants, four overview queries, unread count
    _, admin = _home(verified_client(world.user("a_admin")))
    assert admin <= 9


def test_school_overview_counts_only_this_schools_guardians(world):
    admin = world.user("a_admin")
    client = verified_client(admin)
    html, _ = _home(client)
    before = re.search(
        r'<span class="num">(\d+)</span><span class="label">Students with no bound guardian', html
    )
    assert before and before.group(1) == "7"
    # A guardian with an account for a student of the other school changes nothing here.
    other = world.b.students["g7c1"][0]
    account = get_user_model().objects.create_user("outside_parent", password="Long-enough-pass-1")
    person = Person.objects.create(district=world.district, family_name="林", given_name="外校", user=account)
    guardian = Guardian.objects.create(district=world.district, person=person)
    Guardianship.objects.create(
        district=world.district, school=other.school, guardian=guardian, student=other, relationship="father"
    )
    html, _ = _home(client)
    assert '<span class="num">7</span><span class="label">Students with no bound guardian' in html
    # The same guardian for a student of this school without one: one fewer, one more bound guardian.
    here = world.a.students["g8c1"][0]
    Guardianship.objects.create(
        district=world.district, school=here.school, guardian=guardian, student=here, relationship="father"
    )
    html, _ = _home(client)
    assert '<span class="num">6</span><span class="label">Students with no bound guardian' in html
    assert '<span class="num">3</span><span class="label">Guardians with an account' in html


def test_guardian_home_shows_todays_register_mark_without_more_queries(world):
    from django.utils import timezone

    from schoolbridge.attendance.actions import take_register
    from schoolbridge.attendance.tests.conftest import ensure_school_day

    today = ensure_school_day(world.a.school, timezone.localdate())
    client = english_client(world.user("a_parent"))
    html, before = _home(client)
    assert "No arrival recorded yet" in html
    child = world.a.students["g7c1"][0]
    take_register(
        world.user("a_head"), world.a.g7c1, today, exceptions={child.pk: ("absent", "")}, reason="family phoned"
    )
    html, after = _home(client)
    assert "today-absent" in html and "No arrival recorded yet" not in html
    assert after == before


def test_district_management_link_only_for_roles_that_manage(world):
    from schoolbridge.testing.auth import login_verified

    officer = english_client(world.user("district_officer"))
    assert "District management" not in officer.get("/").content.decode()
    admin = english_client(world.user("district_admin"))
    login_verified(admin, world.user("district_admin"))
    assert "District management" in admin.get("/").content.decode()
