"""In a real browser on a phone: a guardian applies for leave, the head teacher approves it, the guardian sees it,
and the class register shows it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from schoolbridge.attendance.tests.conftest import ensure_school_day
from schoolbridge.leave.models import LeaveRequest, Status
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.7\n" + b"x" * 200


def test_guardian_applies_head_teacher_approves(live_world, live_server_url, phone_page, browser):
    child = live_world.a.students["g7c1"][0]
    # Leave for today, so that the register of today can show it (today made a school day if it is a weekend).
    day = ensure_school_day(live_world.a.school, timezone.localdate())
    page = phone_page

    log_in(page, live_server_url, "a_parent")
    page.goto(f"{live_server_url}/leave/new/?student={child.pk}")
    assert child.person.full_name in page.inner_text("main")
    assert_fits_phone(page)
    assert_accessible(page, "the leave form")
    # Periods are hidden until "specific periods" is chosen.
    assert not page.locator("input[name=periods]").first.is_visible()
    page.check("input[name=kind][value=half_days]")
    assert page.locator("select[name=start_half]").is_visible()
    page.fill("input[name=start_date]", day.isoformat())
    page.fill("input[name=end_date]", day.isoformat())
    page.select_option("select[name=start_half]", "am")
    page.select_option("select[name=end_half]", "pm")
    page.select_option("select[name=reason]", "sick")
    page.fill("textarea[name=reason_text]", "发烧，在家休息")
    page.set_input_files(
        "input[name=attachment]",
        files=[{"name": "诊断证明.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    leave = LeaveRequest.objects.get()
    assert page.url == f"{live_server_url}/leave/{leave.pk}/"
    assert "诊断证明.pdf" in page.inner_text("main")
    assert leave.status == Status.PENDING and leave.attachments.count() == 1

    head = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    try:
        log_in(head, live_server_url, "a_head")
        head.goto(f"{live_server_url}/leave/waiting/")
        head.click(f"a[href='/leave/{leave.pk}/']")
        assert "发烧" in head.inner_text("main")
        assert_fits_phone(head)
        assert_accessible(head, "the decision page")
        head.fill("textarea[name=comment]", "注意休息")
        with head.expect_navigation():
            head.click("button[name=outcome][value=approve]")
        assert f"/leave/{leave.pk}/" not in head.inner_text("main")
        # The register of the day shows the child on approved leave.
        head.goto(f"{live_server_url}/attendance/class/{child.current_class_id}/{day.isoformat()}/")
        assert head.locator(f"#row-{child.pk} .leave-tag").count() == 1
        classmate = live_world.a.students["g7c1"][2]
        assert head.locator(f"#row-{classmate.pk}").count() == 1
        assert head.locator(f"#row-{classmate.pk} .leave-tag").count() == 0
        assert_accessible(head, "the register with a child on leave")
    finally:
        head.context.close()

    leave.refresh_from_db()
    assert leave.status == Status.APPROVED
    page.goto(f"{live_server_url}/leave/")
    row = page.locator(".leave-item", has_text=child.person.full_name)
    assert "已批准" in row.inner_text() or "approved" in row.inner_text()
    page.click(f"a[href='/leave/{leave.pk}/']")
    assert "注意休息" in page.inner_text("main")
    assert page.locator(".leave-status-approved").count() >= 1
    assert_accessible(page, "the approved request")
