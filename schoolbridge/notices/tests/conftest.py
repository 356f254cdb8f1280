"""Notice tests: uploaded files go to a scratch media directory; the progress pushes use a private layer."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return root


@pytest.fixture(autouse=True)
def fresh_broker_pools() -> None:
    """Start from fresh broker connection pools: a test that switched brokers earlier in this process may
    have closed kombu's process-wide pool, and an eager send would then fail (Acquire on closed pool)."""
    import kombu.pools

    from schoolbridge.celery import app

    kombu.pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.__dict__["amqp"]._producer_pool = None
