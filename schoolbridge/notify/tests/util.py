"""Helpers for tests that mix sync Django code with async consumers and channel layers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connections


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run fn in a fresh thread and return its result.

    A session-wide Playwright browser keeps an event loop running in the test thread, where
    async_to_sync (and so channel-layer sends) cannot run. The thread's database connections are
    closed afterwards, so that no session outlives the test database.
    """

    def target() -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(target).result(timeout=120)


def run(coro_fn: Any, *args: Any) -> Any:
    """Run an async test scenario to completion (in its own thread, see in_thread)."""
    return in_thread(async_to_sync(coro_fn), *args)
