"""Guards for tests that need a real PostgreSQL, Redis or Chromium.

Locally such tests skip with a clear reason when the service is absent. CI sets
SCHOOLBRIDGE_REQUIRE_SERVICES, which turns such skips into failures: "1"/"all" for every kind, or a
comma-separated list of kinds ("browser", "redis", "postgres").
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


KINDS = ("browser", "redis", "postgres")


def services_required(kind: str | None = None) -> bool:
    value = os.environ.get("SCHOOLBRIDGE_REQUIRE_SERVICES", "").strip().lower()
    if value in {"1", "true", "yes", "all"}:
        return True
    wanted = {v.strip() for v in value.split(",") if v.strip()}
    return bool(wanted) if kind is None else kind in wanted


def absent(reason: str, kind: str | None = None) -> None:
    """Skip locally, fail where CI requires this kind of service."""
    if services_required(kind):
        pytest.fail(f"required service absent: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_url_or_skip() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        absent("REDIS_URL is not set; Redis tests need a real Redis server", "redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        absent(f"Redis at {url} is not reachable: {exc}", "redis")
    return url


def chromium_or_skip() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        absent(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)", "browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        absent("python playwright is not installed", "browser")
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))


def postgres_or_skip() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        absent(f"this test needs PostgreSQL (DATABASE_URL); the suite runs on {connection.vendor}", "postgres")
