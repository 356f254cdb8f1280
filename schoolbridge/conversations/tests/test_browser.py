"""Conversations in a real browser on a phone: Q&A round trip, a thread with a live reply, axe."""

from __future__ import annotations

import pytest

from schoolbridge.conversations.models import Question, Thread
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

pytestmark = pytest.mark.browser


def _phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2
    )
    return context, context.new_page()


def test_guardian_asks_teacher_answers_guardian_sees(live_world, live_server_url, browser):
    base = live_server_url
    klass = live_world.a.g7c1
    parent_ctx, parent = _phone(browser)
    teacher_ctx, teacher = _phone(browser)
    try:
        log_in(parent, base, "a_parent")
        parent.goto(f"{base}/messages/qa/{klass.pk}/")
        assert_fits_phone(parent)
        assert_accessible(parent, "the class Q&A page (guardian)")
        parent.fill("#id_text", "春游需要带午饭吗？")
        with parent.expect_navigation():
            parent.click("#ask-form button[type=submit]")
        question = Question.objects.get()
        assert parent.locator(f"#question-{question.pk}").is_visible()

        log_in(teacher, base, "a_teacher")
        teacher.goto(f"{base}/messages/qa/open/")
        teacher.click(f"a[href='/messages/qa/{klass.pk}/#question-{question.pk}']")
        teacher.fill(f"#answer-{question.pk}", "需要，学校不提供午饭。")
        assert_accessible(teacher, "the class Q&A page (teacher)")
        with teacher.expect_navigation():
            teacher.click(f"#question-{question.pk} .cv-answer-form button[type=submit]")
        question.refresh_from_db()
        assert question.status == "answered" and question.first_response_at is not None

        parent.reload()
        item = parent.locator(f"#question-{question.pk}")
        assert "需要，学校不提供午饭。" in item.inner_text()
        # The suggestion appears while another guardian-style question is typed.
        parent.fill("#id_text", "春游要带午饭吗")
        parent.wait_for_selector("#suggestions .cv-suggest", timeout=10000)
        assert "学校不提供午饭" in parent.inner_text("#suggestions")
    finally:
        parent_ctx.close()
        teacher_ctx.close()


def test_thread_page_live_reply_and_accessibility(live_world, live_server_url, browser):
    base = live_server_url
    parent_ctx, parent = _phone(browser)
    teacher_ctx, teacher = _phone(browser)
    try:
        log_in(parent, base, "a_parent")
        parent.goto(f"{base}/messages/new/")
        assert_accessible(parent, "the new-message form")
        child = live_world.a.students["g7c1"][0]
        parent.select_option("#id_contact", f"{child.pk}:{live_world.user('a_head').pk}")
        parent.fill("#id_subject", "明天请假")
        parent.fill("#id_text", "孩子明天看病，请假一天。")
        with parent.expect_navigation():
            parent.click("main form button[type=submit]")
        thread = Thread.objects.get()
        assert parent.url.endswith(f"/messages/{thread.pk}/")
        assert_fits_phone(parent)
        assert_accessible(parent, "the thread page")

        log_in(teacher, base, "a_head")
        teacher.goto(f"{base}/messages/{thread.pk}/")
        teacher.fill("#id_text", "收到，祝早日康复。")
        with teacher.expect_navigation():
            teacher.click("#reply-form button[type=submit]")
        # The guardian's open page shows the reply without a reload (socket push, or the poll).
        parent.wait_for_selector("#thread-messages li.cv-msg:has-text('收到，祝早日康复。')", timeout=30000)
        # And the guardian's first message now shows it was read.
        parent.wait_for_function(
            "() => (document.querySelector('.cv-mine .cv-receipts') || {}).textContent.includes('王老师')",
            timeout=30000,
        )
    finally:
        parent_ctx.close()
        teacher_ctx.close()
