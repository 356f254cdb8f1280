"""The API rate limit: off unless configured; over it, 429 rate_limited with Retry-After."""

from __future__ import annotations

import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.api_support.throttle import parse_rate


@pytest.fixture
def locmem_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api"}
    }
    from django.core.cache import cache

    cache.clear()


def test_parse_rate():
    assert parse_rate("") is None
    assert parse_rate("600/m") == (600, 60)
    assert parse_rate("5/h") == (5, 3600)
    for bad in ("600", "x/m", "0/m", "5/week"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_no_limit_by_default(client, world, locmem_cache):
    api = ApiClient(client, token_for(world.user("a_head")))
    assert all(api.get("/me").status_code == 200 for _ in range(12))


def test_over_the_limit_is_429_per_user(client, world, settings, locmem_cache):
    settings.SCHOOLBRIDGE_API_RATE = "3/h"
    head = ApiClient(client, token_for(world.user("a_head")))
    assert [head.get("/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    r = head.get("/me", **{"Accept-Language": "en"})
    assert r.data["error"]["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= 3600
    # Another caller has their own budget.
    assert ApiClient(client, token_for(world.user("a_teacher"))).get("/me").status_code == 200
