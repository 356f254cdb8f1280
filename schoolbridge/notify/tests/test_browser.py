"""live.js in a real browser: the bell and the inbox follow new notifications, also across a drop."""

from __future__ import annotations

from typing import Any

import pytest

from schoolbridge.notify import actions
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

from .util import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_inbox(page: Any, base: str) -> None:
    log_in(page, base, "a_parent")
    page.goto(f"{base}/notifications/")
    # live.js has connected once the server's first catch-up set the bell.
    page.wait_for_function(
        "() => window.SchoolBridgeLive && window.SchoolBridgeLive.socket "
        "&& window.SchoolBridgeLive.socket.readyState === 1"
    )


def test_inbox_catches_up_after_a_dropped_socket(
    memory_layer: None, live_world: Any, live_server_url: str, phone_page: Any
) -> None:
    parent = live_world.user("a_parent")
    in_thread(actions.notify, [parent], "notice", "Already there", channels=())
    _open_inbox(phone_page, live_server_url)
    assert phone_page.locator("#inbox-list li").count() == 1
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "the inbox")
    old_socket = phone_page.evaluate_handle("() => window.SchoolBridgeLive.socket")
    # Made while this browser's socket is down: not pushed, only caught up.
    phone_page.evaluate("() => window.SchoolBridgeLive.socket.close()")
    in_thread(actions.notify, [parent], "notice", "Missed while offline", body="Come at 3pm", channels=())
    in_thread(actions.notify, [live_world.user("b_parent")], "notice", "Someone else's", channels=())
    phone_page.wait_for_selector("#inbox-list li:first-child >> text=Missed while offline", timeout=15000)
    assert phone_page.evaluate("(old) => window.SchoolBridgeLive.socket !== old", old_socket)
    assert phone_page.locator("#inbox-list li").count() == 2
    assert "Someone else" not in phone_page.content()
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '2'")
    # announced for screen readers a moment later (the region is emptied first, so the text is read out)
    phone_page.wait_for_function(
        "() => document.getElementById('notify-live').textContent.includes('Missed while offline')"
    )
    # The new item's own "mark as read" works (HTMX swaps the item for its read version).
    phone_page.click("#inbox-list li:first-child button")
    phone_page.wait_for_function(
        "() => !document.querySelector('#inbox-list li:first-child').classList.contains('unread')"
    )
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '1'")
    # A reload shows no duplicate of what the socket added.
    phone_page.reload()
    assert phone_page.locator("#inbox-list li").count() == 2


def test_live_push_updates_bell_and_list(
    redis_layer: str, live_world: Any, live_server_url: str, phone_page: Any
) -> None:
    parent = live_world.user("a_parent")
    _open_inbox(phone_page, live_server_url)
    in_thread(actions.notify, [parent], "notice", "Pushed now", link="/notifications/")
    phone_page.wait_for_selector("#inbox-list li:first-child >> text=Pushed now", timeout=15000)
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '1'")
    label = phone_page.get_attribute("#bell", "aria-label") or ""
    assert "1" in label
    phone_page.goto(f"{live_server_url}/")
    in_thread(actions.notify, [parent], "notice", "Second one")
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '2'")
