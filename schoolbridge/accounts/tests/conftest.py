import uuid

import pytest


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Rate-limit counters live in the cache: give every test its own, so tests cannot see each other's."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
