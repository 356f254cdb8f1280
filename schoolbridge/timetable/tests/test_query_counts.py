"""Timetable pages and feeds cost a constant number of queries, whatever the number of lessons."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from schoolbridge.testing.auth import login_verified
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import FeedToken

from .ttworld import build

pytestmark = pytest.mark.django_db


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_constant_queries(world):
    tt = build(world)
    sw = world.a
    parent = Client()
    login_verified(parent, world.user("a_parent"))
    admin = Client()
    login_verified(admin, tt.admin)
    tt.place("g7c1_maths", 0, 1, 1)
    editor = f"/timetable/class/{sw.g7c1.pk}/?version={tt.version.pk}"
    draft_cost = count(admin, editor)
    actions.publish(tt.admin, tt.version)
    v2 = actions.create_version(tt.admin, sw.school.pk, sw.term.pk, "二", copy_from=tt.version.pk)
    token = actions.issue_feed(world.user("a_parent"), FeedToken.Kind.CLASS, sw.g7c1.pk)
    page, feed = f"/timetable/class/{sw.g7c1.pk}/", f"/timetable/feeds/{token.token}.ics"
    before = (count(parent, page), count(Client(), feed))
    # Many more lessons, teachers and rooms in the class.
    for subject in (sw.maths, sw.chinese):
        for teacher in (tt.head, tt.teacher, tt.tp):
            actions.add_requirement(tt.admin, v2, sw.g7c1.pk, subject.pk, [teacher.pk], 2, 1, tt.rooms[1].pk)
    lessons = list(v2.lessons.filter(day__isnull=True).order_by("pk"))
    slots = [(d, p) for d in range(1, 6) for p in range(2, 9)]
    for lesson, (d, p) in zip(lessons, slots, strict=False):
        actions.move_lesson(tt.admin, lesson.pk, d, p)
    assert count(admin, f"/timetable/class/{sw.g7c1.pk}/?version={v2.pk}") == draft_cost
    actions.publish(tt.admin, v2)
    after = (count(parent, page), count(Client(), feed))
    assert after == before
