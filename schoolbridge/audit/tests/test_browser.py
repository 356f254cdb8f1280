"""The audit pages in a real browser on a phone-sized screen."""

from __future__ import annotations

import pytest
from django_otp.oath import totp

from schoolbridge.access.helpers import read_sensitive
from schoolbridge.audit.log import record, snapshot
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

pytestmark = pytest.mark.browser


def test_guardian_sees_who_viewed_their_child(live_world, live_server_url, phone_page):
    child = live_world.a.students["g7c1"][0]
    read_sensitive(live_world.user("a_head"), child, "national_id")
    read_sensitive(live_world.user("a_principal"), child, "health_notes", via="api")
    log_in(phone_page, live_server_url, "a_parent")
    phone_page.goto(f"{live_server_url}/audit/children/{child.pk}/views/")
    main = phone_page.inner_text("main")
    assert "王老师" in main and "钱校长" in main
    assert "a_head" not in phone_page.content()
    assert phone_page.locator("main ol > li").count() == 2
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "who viewed my child's record")
    # Another family's child: the same page as a missing one.
    other = live_world.a.students["g7c1"][1]
    assert phone_page.goto(f"{live_server_url}/audit/children/{other.pk}/views/").status == 404


def test_school_admin_reads_and_filters_the_log(live_world, live_server_url, phone_page):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = live_world.user("a_admin")
    student = live_world.a.students["g8c1"][0]
    for i in range(55):
        before = snapshot(student)
        student.student_number = f"A{i:03d}-NUMBER-THAT-MUST-WRAP-ON-A-PHONE"  # max_length 40
        student.save()
        record(admin, "student.update", student, before, snapshot(student))
    record(admin, "class.rename", live_world.a.g7c1, {"name": "七年级1班"}, {"name": "七年级一班"})
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    log_in(phone_page, live_server_url, "a_admin")
    phone_page.fill("main input[name=token]", f"{totp(device.bin_key):06d}")
    with phone_page.expect_navigation():
        phone_page.click("main form button[type=submit]")
    phone_page.goto(f"{live_server_url}/audit/log/")
    assert phone_page.locator("main ol > li").count() == 50
    assert "七年级一班" in phone_page.inner_text("main ol > li >> nth=0")
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "the audit log")
    # Filter with the keyboard only.
    phone_page.focus("#id_type")
    phone_page.select_option("#id_type", "core.class")
    with phone_page.expect_navigation():
        phone_page.keyboard.press("Tab")
        phone_page.keyboard.press("Enter")
    assert "type=core.class" in phone_page.url
    assert phone_page.locator("main ol > li").count() == 1
    assert_accessible(phone_page, "the filtered audit log")
