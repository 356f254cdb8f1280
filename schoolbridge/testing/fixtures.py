"""pytest fixtures for the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .services import CHROMIUM_ARGS, chromium_or_skip
from .world import World, build_world


@pytest.fixture(autouse=True)
def fast_and_isolated(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SCHOOLBRIDGE_SMS_DIR = tmp_path / "sms"
    settings.LANGUAGE_CODE = "zh-hans"
    from schoolbridge.celery import app

    app.conf.task_always_eager = True


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture
def live_world(transactional_db: Any) -> World:
    """The fixture world, committed, for tests that talk to a live server from another thread."""
    return build_world()


@pytest.fixture
def live_server_url(transactional_db: Any) -> Iterator[str]:
    from .server import LiveServer

    server = LiveServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def browser(monkeypatch: Any) -> Iterator[Any]:
    """Headless Chromium for one test.

    Playwright's sync API runs an event loop in the test thread while it is open. It is closed after
    each test, so that later tests (async_to_sync, channel layers) do not find a loop running; during
    the test, the ORM calls the test itself makes are allowed beside that loop.
    """
    path = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A page in a phone-sized viewport, Chinese locale."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def end_stray_db_sessions(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Live-server worker threads keep thread-local connections that outlive the server; on PostgreSQL
    they would keep the test database from being dropped at the end of the run."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
