"""The published timetable over the JSON API (answers checked against the OpenAPI document)."""

from __future__ import annotations

import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.timetable import actions

from .ttworld import build

pytestmark = pytest.mark.django_db


def test_timetables_over_the_api(client, world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    tt.place("g7c1_chinese", 0, 2, 3)
    tt.place("g8c1_maths", 0, 4, 7)
    sw = world.a
    parent = ApiClient(client, token_for(world.user("a_parent")))
    child = sw.students["g7c1"][0]
    assert parent.get(f"/timetable/classes/{sw.g7c1.pk}").status_code == 404  # nothing published yet
    actions.publish(tt.admin, tt.version)
    r = parent.get(f"/timetable/students/{child.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "第一版"
    lessons = sorted((x["day"], x["period"], x["subject"], x["start"], x["room"]) for x in body["lessons"])
    assert lessons == [(1, 1, "数学", "08:00:00", None), (2, 3, "语文", "10:00:00", "A 101")]
    assert parent.get(f"/timetable/classes/{sw.g7c1.pk}").json()["lessons"][0]["teachers"] in (
        ["王老师"],
        ["李老师"],
    )
    # Out of reach: the same 404.
    assert parent.get(f"/timetable/classes/{sw.g8c1.pk}").status_code == 404
    assert parent.get(f"/timetable/teachers/{tt.teacher.pk}").status_code == 404
    other = ApiClient(client, token_for(world.user("b_parent")))
    assert other.get(f"/timetable/students/{child.pk}").status_code == 404
    teacher = ApiClient(client, token_for(world.user("a_teacher")))
    mine = teacher.get(f"/timetable/teachers/{tt.teacher.pk}").json()["lessons"]
    assert sorted(x["class_name"] for x in mine) == ["七年级1班", "八年级1班"]
