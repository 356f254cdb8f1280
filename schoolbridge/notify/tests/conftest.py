"""Fixtures for the notification tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture
def memory_layer(settings: Any) -> None:
    """A private in-memory channel layer (never shared with other test processes)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def redis_layer(settings: Any) -> str:
    """The Redis channel layer with a prefix of its own, so parallel runs never see each other."""
    from schoolbridge.testing.services import redis_url_or_skip

    url = redis_url_or_skip()
    prefix = f"sbtest-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": prefix},
        }
    }
    return prefix


@pytest.fixture(params=["memory", "redis"])
def any_layer(request: Any, settings: Any) -> str:
    """Run a test once on the in-memory layer and once on Redis (skipped/failed per services policy)."""
    request.getfixturevalue(f"{request.param}_layer")
    return str(request.param)
