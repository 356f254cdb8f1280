"""Per-family read and response rates for dashboards (family_read_rates) and the administrator's table."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.core.models import Guardian, Guardianship, Person
from schoolbridge.notices import actions
from schoolbridge.notices.models import Notice, Receipt
from schoolbridge.notices.queries import family_read_rates
from schoolbridge.testing.world import World

pytestmark = pytest.mark.django_db


def _notice(world: World, title: str, sent_at: datetime.datetime) -> Notice:
    n = actions.send_notice(
        world.user("a_head"),
        world.a.school.pk,
        title=title,
        body="Text.",
        audience=[f"class:{world.a.g7c1.pk}"],
        confirmation_required=True,
    )
    Notice.objects.filter(pk=n.pk).update(sent_at=sent_at)
    return n


def _read(n: Notice, user: Any, after: datetime.timedelta, confirm: bool = False) -> None:
    sent = Notice.objects.get(pk=n.pk).sent_at
    assert sent is not None
    Receipt.objects.filter(notice=n, user=user).update(
        read_at=sent + after, confirmed_at=sent + after if confirm else None
    )


def test_family_read_rates_count_each_family_once_with_the_median_time_to_read(world: World) -> None:
    now = timezone.now()
    parent, norec = world.user("a_parent"), world.user("a_parent_norec")
    first, second = world.a.students["g7c1"][0], world.a.students["g7c1"][1]
    # A second guardian of the first child, who reads the second notice before the mother.
    u = type(parent).objects.create_user(username="a_father", password="x")
    g = Guardian.objects.create(
        district=world.district,
        person=Person.objects.create(district=world.district, family_name="刘", given_name="父", user=u),
    )
    Guardianship.objects.create(
        district=world.district, school=world.a.school, guardian=g, student=first, relationship="father"
    )

    n1 = _notice(world, "one", now - datetime.timedelta(days=3))
    n2 = _notice(world, "two", now - datetime.timedelta(days=2))
    old = _notice(world, "old", now - datetime.timedelta(days=40))
    gone = _notice(world, "gone", now - datetime.timedelta(days=1))
    actions.withdraw_notice(world.user("a_head"), gone.pk)
    _read(n1, parent, datetime.timedelta(minutes=10), confirm=True)
    _read(n1, norec, datetime.timedelta(minutes=30))
    _read(n2, parent, datetime.timedelta(minutes=50))
    _read(n2, u, datetime.timedelta(minutes=20), confirm=True)
    _read(old, parent, datetime.timedelta(minutes=1))

    since = now - datetime.timedelta(days=30)
    with CaptureQueriesContext(connection) as ctx:
        rates = {r.key: r for r in family_read_rates(world.a.school, since)}
    assert len(ctx.captured_queries) == 2
    assert set(rates) == {first.pk, second.pk}  # the third child has no guardian account
    a, b = rates[first.pk], rates[second.pk]
    assert (a.received, a.read, a.confirmed) == (2, 2, 2)
    assert a.median_read_seconds == 15 * 60  # 10 min and (the father's) 20 min
    assert a.name == first.person.full_name and a.class_name == world.a.g7c1.name
    assert (b.received, b.read, b.confirmed, b.median_read_seconds) == (2, 1, 0, 30 * 60)
    assert b.read_percent == 50
    # Lowest read rate first: the families that need attention.
    assert [r.key for r in family_read_rates(world.a.school, since)] == [second.pk, first.pk]

    accounts = {r.key: r for r in family_read_rates(world.a.school.pk, since, by="account")}
    assert (accounts[parent.pk].received, accounts[parent.pk].read, accounts[parent.pk].confirmed) == (
        2,
        2,
        1,
    )
    assert accounts[parent.pk].median_read_seconds == 30 * 60
    assert (accounts[u.pk].read, accounts[norec.pk].read) == (1, 1)
    assert world.user("a_head").pk not in accounts
    assert family_read_rates(world.b.school, since) == []


def test_the_administrators_notices_page_shows_the_table(world: World) -> None:
    from schoolbridge.web.tests.helpers import verified_client

    n = _notice(world, "one", timezone.now() - datetime.timedelta(days=1))
    _read(n, world.user("a_parent"), datetime.timedelta(minutes=90))
    page = verified_client(world.user("a_admin")).get("/notices/").content.decode()
    assert 'id="family-rates"' in page
    assert world.a.students["g7c1"][0].person.full_name in page and "1:30" in page
    from django.test import Client

    c = Client()
    c.force_login(world.user("a_head"))
    assert 'id="family-rates"' not in c.get("/notices/").content.decode()
