"""In a real browser on a phone: the school office opens a draft class timetable, tries to put a lesson
where its teacher already teaches (the clash shown as soon as it is chosen, the move refused with the
reason), then picks one of the legal slots."""

from __future__ import annotations

import pytest
from django_otp.oath import totp

from schoolbridge.timetable.models import Lesson
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, in_thread, log_in

from .ttworld import build

pytestmark = pytest.mark.browser


def test_move_a_lesson_and_see_a_clash_refused(live_world, live_server_url, phone_page):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    tt = build(live_world)
    tt.place("g8c1_maths", 0, 1, 3)  # 李老师 teaches 八年级1班 on Monday period 3
    chinese = tt.lessons("g7c1_chinese")[0]
    page = phone_page
    page.context.add_cookies([{"name": "sb_lang", "value": "en", "url": live_server_url}])
    device = TOTPDevice.objects.create(user=tt.admin, name="phone", confirmed=True)
    log_in(page, live_server_url, "a_admin")
    page.fill("main input[name=token]", f"{totp(device.bin_key):06d}")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    klass = live_world.a.g7c1
    page.goto(f"{live_server_url}/timetable/class/{klass.pk}/?version={tt.version.pk}")
    assert "Lessons not yet placed" in page.inner_text("main")
    assert_fits_phone(page)
    assert_accessible(page, "the timetable editor")

    page.locator(".tt-place", has_text="语文").first.click()
    page.wait_for_selector("#lesson-panel")
    assert "Free slots without a clash" in page.inner_text("#lesson-panel")
    # Monday period 3 is not among the legal slots …
    assert page.locator(".tt-option[data-day='1'][data-period='3']").count() == 0
    assert page.locator(".tt-option[data-day='1'][data-period='2']").count() == 1
    # … choosing it shows the clash at once …
    page.select_option("#move-day", "1")
    page.select_option("#move-period", "3")
    page.wait_for_selector(".tt-check-problem")
    assert page.inner_text(".tt-check-problem") == "李老师 already teaches 八年级1班 on Monday period 3"
    page.select_option("#move-period", "4")
    page.wait_for_selector(".tt-check-ok")
    page.select_option("#move-period", "3")
    page.wait_for_selector(".tt-check-problem")
    # … and submitting it anyway is refused with the reason, nothing moved.
    page.click("#move-submit")
    page.wait_for_selector(".tt-error")
    assert page.inner_text(".tt-error") == "李老师 already teaches 八年级1班 on Monday period 3"
    assert_accessible(page, "the refused move")
    chinese.refresh_from_db()
    assert chinese.day is None

    # A legal slot: the page reloads with the lesson in its cell.
    with page.expect_navigation():
        page.click(".tt-option[data-day='1'][data-period='2']")
    chinese.refresh_from_db()
    assert (chinese.day, chinese.period) == (1, 2)
    assert "语文" in page.inner_text("td[data-day='1'][data-period='2']")
    assert Lesson.objects.filter(version=tt.version, day__isnull=True).count() == 4


def test_family_and_office_pages_on_a_phone(live_world, live_server_url, phone_page, browser):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from schoolbridge.timetable import actions

    def setup():
        tt = build(live_world)
        tt.place("g7c1_maths", 0, 1, 1)
        tt.place("g7c1_chinese", 0, 2, 2)
        actions.publish(tt.admin, tt.version)  # notifies: outside Playwright's event loop
        draft = actions.create_version(
            tt.admin, live_world.a.school.pk, live_world.a.term.pk, "第二版", copy_from=tt.version.pk
        )
        return tt, draft

    tt, draft = in_thread(setup)
    page = phone_page
    log_in(page, live_server_url, "a_parent")
    child = live_world.a.students["g7c1"][0]
    page.click(f"a[href='/timetable/student/{child.pk}/']")  # from the guardian's home
    assert "数学" in page.inner_text("main table")
    assert_fits_phone(page)
    assert_accessible(page, "a child's timetable")
    with page.expect_navigation():
        page.click("main form button[type=submit]")  # get a calendar link
    assert page.locator(".feed-url").input_value().endswith(".ics")
    assert_fits_phone(page)
    assert_accessible(page, "the calendar links")

    office = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    device = TOTPDevice.objects.create(user=tt.admin, name="phone", confirmed=True)
    log_in(office, live_server_url, "a_admin")
    office.fill("main input[name=token]", f"{totp(device.bin_key):06d}")
    with office.expect_navigation():
        office.click("main form button[type=submit]")
    for url, what in (
        (f"/timetable/school/{live_world.a.school.pk}/", "the versions"),
        (f"/timetable/v/{draft.pk}/", "a draft version"),
        (f"/timetable/teacher/{tt.teacher.pk}/?version={draft.pk}", "a teacher's draft timetable"),
        (f"/timetable/cover/{live_world.a.school.pk}/", "the cover page"),
    ):
        office.goto(live_server_url + url)
        assert_fits_phone(office)
        assert_accessible(office, what)
