"""Pagination bounds, stable paging, and a query count that does not grow with the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.notify.actions import notify


@pytest.fixture
def admin(client, world):
    return ApiClient(client, token_for(world.user("district_records")))


def test_defaults_and_bounds(admin):
    r = admin.get("/students")
    assert (r.data["count"], r.data["limit"], r.data["offset"], len(r.data["items"])) == (18, 50, 0, 18)
    assert admin.get("/students", {"limit": 500}).status_code == 200
    assert admin.get("/students", {"limit": 501}).status_code == 422
    assert admin.get("/students", {"limit": 0}).status_code == 422
    r = admin.get("/students", {"offset": 100})
    assert r.status_code == 200 and r.data["items"] == [] and r.data["count"] == 18


def test_pages_cover_everything_once(admin):
    seen: list[int] = []
    for offset in range(0, 18, 5):
        r = admin.get("/students", {"limit": 5, "offset": offset})
        assert len(r.data["items"]) == min(5, 18 - offset)
        seen += [s["id"] for s in r.data["items"]]
    assert len(seen) == len(set(seen)) == 18


def _queries(api, path, limit):
    with CaptureQueriesContext(connection) as ctx:
        r = api.get(path, {"limit": limit})
    assert r.status_code == 200
    assert len(r.data["items"]) == min(limit, r.data["count"])
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/students", "/classes", "/schools", "/notifications", "CLASS_STUDENTS"])
def test_query_count_does_not_grow_with_page_size(client, world, path):
    user = world.user("district_records")
    notify([user], "test", "one")
    notify([user], "test", "two")
    # Head teachers on every class, so that the class list's head-teacher names are exercised.
    for sw in (world.a, world.b):
        for klass in (sw.g7c2, sw.g8c1):
            klass.head_teacher = sw.g7c1.head_teacher
            klass.save(update_fields=["head_teacher"])
    if path == "CLASS_STUDENTS":
        path = f"/classes/{world.a.g7c1.pk}/students"
    small = _queries(ApiClient(client, token_for(user)), path, 1)
    large = _queries(ApiClient(client, token_for(user)), path, 500)
    assert small == large, (path, small, large)
    assert large <= 12, (path, large)
