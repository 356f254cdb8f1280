"""The portal in a real browser on a phone-sized screen: every role logs in through the login form."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.conf import settings
from django_otp.oath import totp

from schoolbridge.core.models import Student
from schoolbridge.testing.world import World

from .browser import assert_accessible, assert_fits_phone, in_thread, log_in

pytestmark = pytest.mark.browser


def _home(page, base: str, world: World, username: str) -> None:
    log_in(page, base, username)
    assert page.url == f"{base}/", page.url
    assert page.viewport_size["width"] == 390
    assert_fits_phone(page)


def test_login_page_is_accessible(live_world, live_server_url, phone_page):
    phone_page.goto(f"{live_server_url}/accounts/login/")
    assert phone_page.locator("main input[name=password]").is_visible()
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "the login page")


def test_guardian_home(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "a_parent")
    child: Student = live_world.a.students["g7c1"][0]
    card = phone_page.locator(".child-card")
    assert card.count() == 1
    assert child.person.full_name in card.inner_text()
    assert "七年级1班" in card.inner_text()
    assert phone_page.locator("html").get_attribute("lang") == "zh-CN"
    assert_accessible(phone_page, "the guardian home")
    phone_page.click(f"a[href='/children/{child.id}/']")
    assert child.student_number in phone_page.inner_text("main")
    # The sensitive value appears only after "show", and the read is logged.
    assert child.national_id not in phone_page.content()
    phone_page.click("#show-national_id")
    phone_page.wait_for_selector("#sensitive-national_id")
    assert child.national_id in phone_page.inner_text("#sensitive-national_id")
    from schoolbridge.audit.models import SensitiveRead

    assert SensitiveRead.objects.filter(student=child, field="national_id").count() == 1
    assert_accessible(phone_page, "the child page")


def test_teacher_home(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "a_teacher")
    cards = phone_page.locator(".class-card")
    assert cards.count() == 2
    text = phone_page.inner_text("main")
    assert "七年级1班" in text and "八年级1班" in text and "语文" in text
    assert_accessible(phone_page, "the teacher home")


def test_head_teacher_home(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "a_head")
    roster = phone_page.locator(".roster")
    assert roster.count() == 1
    for student in live_world.a.students["g7c1"]:
        assert student.person.full_name in roster.inner_text()
    phone = live_world.user("a_parent").phone
    assert phone_page.locator(f"a[href='tel:{phone}']").count() == 1
    assert_accessible(phone_page, "the head teacher home")


def test_school_admin_home_after_two_factor(live_world, live_server_url, phone_page):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = live_world.user("a_admin")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    log_in(phone_page, live_server_url, "a_admin")
    assert "/accounts/2fa/" in phone_page.url
    phone_page.fill("main input[name=token]", f"{totp(device.bin_key):06d}")
    with phone_page.expect_navigation():
        phone_page.click("main form button[type=submit]")
    assert phone_page.url == f"{live_server_url}/", phone_page.url
    assert_fits_phone(phone_page)
    stats = phone_page.inner_text(".stats")
    assert "9" in stats
    assert phone_page.locator("main a[href='/manage/']").count() == 1
    assert_accessible(phone_page, "the school admin home")


def test_district_officer_home(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "district_officer")
    rows = phone_page.locator("main table tbody tr")
    assert rows.count() == 2
    assert "第A中学" in rows.nth(0).inner_text() and "第B中学" in rows.nth(1).inner_text()
    assert live_world.a.students["g7c1"][0].person.full_name not in phone_page.content()
    assert_accessible(phone_page, "the district home")


def test_student_home(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "a_student")
    me = live_world.a.students["g7c1"][0]
    assert me.person.full_name in phone_page.inner_text("main")
    assert_accessible(phone_page, "the student home")


def test_role_switcher(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "teacher_parent")
    assert phone_page.locator(".class-card").count() == 1
    options = phone_page.locator("#role-select option")
    assert options.count() == 2
    phone_page.select_option("#role-select", index=1)
    with phone_page.expect_navigation():
        phone_page.click(".role-switch button[type=submit]")
    assert phone_page.locator(".child-card").count() == 1
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "the home with the role switcher")


def test_language_switch_shows_english(live_world, live_server_url, phone_page):
    _home(phone_page, live_server_url, live_world, "a_parent")
    assert phone_page.locator("html").get_attribute("lang") == "zh-CN"
    with phone_page.expect_navigation():
        phone_page.click(".lang-switch button[value=en]")
    assert phone_page.locator("html").get_attribute("lang") == "en"
    assert "My children" in phone_page.inner_text("h1")
    assert phone_page.locator(".lang-switch button[value=en]").get_attribute("aria-pressed") == "true"
    with phone_page.expect_navigation():
        phone_page.click(".lang-switch button[value=zh-hans]")
    assert phone_page.locator("html").get_attribute("lang") == "zh-CN"
    assert "My children" not in phone_page.inner_text("h1")


def test_bell_count_updates_live(live_world, live_server_url, phone_page):
    from schoolbridge.notify.actions import notify

    parent = live_world.user("a_parent")
    _home(phone_page, live_server_url, live_world, "a_parent")
    assert phone_page.inner_text("#bell-count") == "0"
    # Wait until the page's socket is open before sending.
    phone_page.wait_for_function(
        "() => window.SchoolBridgeLive && window.SchoolBridgeLive.socket && window.SchoolBridgeLive.socket.readyState === 1",
        timeout=10000,
    )
    time.sleep(0.3)  # the consumer joins the user's group right after accepting
    in_thread(notify, [parent], "notice", "运动会改期", school=live_world.a.school)
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '1'", timeout=10000)
    in_thread(notify, [parent], "notice", "家长会通知", school=live_world.a.school)
    phone_page.wait_for_function("() => document.getElementById('bell-count').textContent.trim() === '2'", timeout=10000)
    assert re.fullmatch(r"\d+", phone_page.inner_text("#bell-count"))


def test_screenshot_of_guardian_home(live_world, live_server_url, phone_page, tmp_path):
    """The guardian home as the README shows it. Set SCHOOLBRIDGE_UPDATE_SCREENSHOT=1 to rewrite
    docs/screenshot.png; otherwise the picture goes to a temporary directory."""
    from schoolbridge.core.models import Guardian, Guardianship
    from schoolbridge.notify.actions import notify

    parent = live_world.user("a_parent")
    first = live_world.a.students["g7c1"][0]
    second = live_world.a.students["g8c1"][0]
    for student, given in ((first, "小明"), (second, "小红")):
        student.person.family_name, student.person.given_name = "张", given
        student.person.save(update_fields=["family_name", "given_name"])
    guardian = Guardian.objects.get(person__user=parent)
    Guardianship.objects.create(
        district=live_world.district, school=live_world.a.school, guardian=guardian, student=second,
        relationship="mother", may_see_records=True,
    )
    in_thread(notify, [parent], "notice", "本周五下午举行运动会，请穿运动服", school=live_world.a.school)
    in_thread(notify, [parent], "homework", "数学作业：练习册第12页", school=live_world.a.school)
    _home(phone_page, live_server_url, live_world, "a_parent")
    assert phone_page.locator(".child-card").count() == 2
    if os.environ.get("SCHOOLBRIDGE_UPDATE_SCREENSHOT"):
        out = settings.PROJECT_DIR / "docs" / "screenshot.png"
        out.parent.mkdir(exist_ok=True)
    else:
        out = tmp_path / "screenshot.png"
    phone_page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 10_000
