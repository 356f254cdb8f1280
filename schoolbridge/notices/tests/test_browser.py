"""In real browsers: a head teacher sends a confirmation-required notice to a class through the compose
page; two guardians (two browser contexts) receive it live; one confirms; the sender's progress page
follows without a reload; the reminder sweep then reminds only the other guardian."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from schoolbridge.notices import sweep
from schoolbridge.notices.models import Notice, Receipt
from schoolbridge.notify.models import Notification
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, in_thread, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "春游回执 Spring outing"


def _phone(browser: Any) -> Any:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2
    )
    return context, context.new_page()


def _open_inbox(page: Any, base: str, username: str) -> None:
    log_in(page, base, username)
    page.goto(f"{base}/notifications/")
    page.wait_for_function(
        "() => window.SchoolBridgeLive && window.SchoolBridgeLive.socket "
        "&& window.SchoolBridgeLive.socket.readyState === 1"
    )


def _text(page: Any, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_notice_sent_read_confirmed_and_reminded_live(
    live_world: Any, live_server_url: str, browser: Any
) -> None:
    base = live_server_url
    contexts = []
    try:
        head_ctx, head = _phone(browser)
        one_ctx, one = _phone(browser)
        two_ctx, two = _phone(browser)
        contexts = [head_ctx, one_ctx, two_ctx]
        _open_inbox(one, base, "a_parent")
        _open_inbox(two, base, "a_parent_norec")

        # The head teacher composes on a phone: only their own class is offered.
        log_in(head, base, "a_head")
        head.goto(f"{base}/notices/new/")
        klass = live_world.a.g7c1
        assert head.locator(f"input[value='class:{live_world.a.g7c2.pk}']").count() == 0
        head.fill("#id_title", TITLE)
        # The body is written in the rich-text editor: the toolbar's first button makes the next words bold.
        editor = head.locator("[data-testid=richtext]")
        editor.click()
        head.keyboard.type("周五春游，")
        head.locator(".rt-bar button").first.click()
        head.keyboard.type("请确认")
        head.locator(".rt-bar button").first.click()
        head.keyboard.type("。 https://example.org/trip")
        head.check(f"input[value='class:{klass.pk}']")
        head.check("#id_confirmation_required")
        assert_fits_phone(head)
        assert_accessible(head, "the compose page")
        with head.expect_navigation():
            head.click("#send-button")
        notice = Notice.objects.get(title=TITLE)
        assert head.url == f"{base}/notices/{notice.pk}/progress/"
        head.wait_for_function(
            "() => window.SchoolBridgeProgress && window.SchoolBridgeProgress.socket "
            "&& window.SchoolBridgeProgress.socket.readyState === 1"
        )
        head.evaluate("() => { window.__notReloaded = true; }")
        assert _text(head, "#count-confirmed") == "0"
        assert_fits_phone(head)
        assert_accessible(head, "the progress page")

        # Both guardians receive it live, in their open inboxes.
        for page in (one, two):
            page.wait_for_selector(f"#inbox-list li >> text={TITLE}", timeout=15000)
            page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '1'")

        # The first guardian opens it (read receipt) and confirms.
        with one.expect_navigation():
            one.click(f"#inbox-list li a >> text={TITLE}")
        assert one.url == f"{base}/notices/{notice.pk}/"
        assert one.locator("a[href='https://example.org/trip']").count() == 1
        assert one.inner_text(":is(.notice-body b, .notice-body strong)") == "请确认"
        assert_fits_phone(one)
        assert_accessible(one, "the guardian's notice page")
        head.wait_for_function(
            "() => document.getElementById('count-read').textContent.trim() === '1'", timeout=15000
        )
        with one.expect_navigation():
            one.click("#confirm-button")
        one.wait_for_selector("#confirmed")

        # The sender's page follows without a reload.
        head.wait_for_function(
            "() => document.getElementById('count-confirmed').textContent.trim() === '1'", timeout=15000
        )
        assert head.evaluate("() => window.__notReloaded === true")
        assert _text(head, "#count-reached") == "1/2"
        assert head.locator("#unread-list li").count() == 1
        norec = live_world.user("a_parent_norec")
        assert head.get_attribute("#unread-list li", "data-user") == str(norec.pk)

        # Hours later the sweep reminds only the guardian who has not read.
        Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now() - datetime.timedelta(hours=5))
        result = in_thread(sweep.run_sweep)
        assert result["reminded"] == 1
        reminded = list(Notification.objects.filter(kind="notice.reminder").values_list("user_id", flat=True))
        assert reminded == [live_world.user("a_parent_norec").pk]
        assert Receipt.objects.get(notice=notice, user=live_world.user("a_parent")).reminded_count == 0
        two.goto(f"{base}/notifications/")
        assert two.locator("#inbox-list li").count() == 2
        one.goto(f"{base}/notifications/")
        assert one.locator("#inbox-list li").count() == 1
    finally:
        for context in contexts:
            context.close()


def test_groups_page_on_a_phone_creates_a_group_that_compose_offers(
    live_world: Any, live_server_url: str, browser: Any
) -> None:
    from schoolbridge.notices.models import NoticeGroup

    base = live_server_url
    context, page = _phone(browser)
    try:
        log_in(page, base, "a_head")
        page.goto(f"{base}/notices/groups/")
        assert_fits_phone(page)
        assert_accessible(page, "the notice groups page")
        # A nameless group is refused with the error on the field, and nothing is saved.
        first = live_world.a.students["g7c1"][0]
        page.check(f"input[name='students'][value='{first.pk}']")
        with page.expect_navigation():
            page.click("button:text-is('保存分组'), button:text-is('Save group')")
        assert page.locator(".errorlist").count() >= 1
        assert NoticeGroup.objects.count() == 0
        page.fill("#id_name", "合唱团 Choir")
        page.check(f"input[name='students'][value='{first.pk}']")
        with page.expect_navigation():
            page.click("button:text-is('保存分组'), button:text-is('Save group')")
        group = NoticeGroup.objects.get()
        assert group.name == "合唱团 Choir" and list(group.students.values_list("pk", flat=True)) == [
            first.pk
        ]
        assert page.locator(".notice-list li >> text=合唱团 Choir").count() == 1
        page.goto(f"{base}/notices/new/")
        assert page.locator(f"input[value='group:{group.pk}']").count() == 1
    finally:
        context.close()
