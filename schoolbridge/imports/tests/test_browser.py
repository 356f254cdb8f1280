"""A school office takes its own GBK spreadsheet through map → check → preview → commit → rollback."""

import pytest
from django_otp.oath import totp

from schoolbridge.core.models import Student
from schoolbridge.imports.models import ImportBatch
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, in_thread, log_in

from .helpers import ROWS, office_csv


def _admin(page, base, world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=world.user("a_admin"), name="phone", confirmed=True)
    log_in(page, base, "a_admin")
    page.fill("main input[name=token]", f"{totp(device.bin_key):06d}")
    with page.expect_navigation():
        page.click("main form button[type=submit]")


@pytest.mark.django_db(transaction=True)
def test_office_spreadsheet_round_trip(live_world, live_server_url, phone_page, tmp_path):
    page, world = phone_page, live_world
    school = world.a.school
    rows = [*ROWS, ["N004", "李四", "男", "2013-01-01", "火星班", "", "", ""]]
    path = tmp_path / "学生名单.csv"
    path.write_bytes(office_csv(rows, encoding="gbk"))
    _admin(page, live_server_url, world)

    page.goto(f"{live_server_url}/manage/imports/s/{school.pk}/")
    assert page.locator("nav.manage-nav a[aria-current=page]").inner_text() in ("导入", "Import")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("main form[enctype] button[type=submit]")
    assert "/mapping/" in page.url
    assert page.locator("select[name=student_number]").input_value() == "学号"
    assert page.locator("select[name=guardian_phone]").input_value() == "家长电话"
    assert_fits_phone(page)
    assert_accessible(page, "the import mapping page")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    page.wait_for_selector("[data-count=create]")
    assert page.inner_text("[data-count=create]") == "3"
    assert page.inner_text("[data-count=error]") == "1"
    assert page.inner_text("[data-count=guardians_new]") == "2"
    assert "火星班" in page.inner_text("table.import-errors")
    with page.expect_download() as download:
        page.click("a[href$='errors.xlsx']")
    assert download.value.suggested_filename.endswith("errors.xlsx")
    assert_fits_phone(page)
    assert_accessible(page, "the import preview")

    with page.expect_navigation():
        page.click("#commit")
    page.wait_for_selector("#rollback")
    batch = in_thread(lambda: ImportBatch.objects.get())
    assert batch.status == "committed"
    assert in_thread(lambda: Student.objects.filter(student_number__in=["N001", "N002", "N003"]).count()) == 3
    assert in_thread(lambda: Student.objects.filter(student_number="N004").count()) == 0

    with page.expect_navigation():
        page.click("#rollback")
    assert in_thread(lambda: ImportBatch.objects.get().status) == "rolled_back"
    assert in_thread(lambda: Student.objects.filter(student_number__in=["N001", "N002", "N003"]).count()) == 0
    assert page.locator("#rollback").count() == 0
