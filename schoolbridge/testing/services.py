"""Guards for tests that need a real PostgreSQL, Redis or Chromium.

Locally such tests skip with a clear reason when the service is absent. CI sets
SCHOOLBRIDGE_REQUIRE_SERVICES=1, which turns every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("SCHOOLBRIDGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def services_required() -> bool:
    return os.environ.get("SCHOOLBRIDGE_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def absent(reason: str) -> None:
    """Skip locally, fail on CI."""
    if services_required():
        pytest.fail(f"required service absent: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_url_or_skip() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        absent("REDIS_URL is not set; Redis tests need a real Redis server")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        absent(f"Redis at {url} is not reachable: {exc}")
    return url


def chromium_or_skip() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        absent(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        absent("python playwright is not installed")
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
