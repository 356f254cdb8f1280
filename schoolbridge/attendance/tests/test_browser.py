from django.utils import timezone

from schoolbridge.attendance.models import AttendanceSettings, Mark
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

from .conftest import ensure_school_day


def test_teacher_takes_todays_register_on_a_phone(live_world, live_server_url, phone_page):
    w = live_world
    today = ensure_school_day(w.a.school, timezone.localdate())
    AttendanceSettings.objects.create(district=w.district, school=w.a.school, cutoff_days=1)
    s1, s2, s3 = w.a.students["g7c1"]
    page = phone_page
    log_in(page, live_server_url, "a_teacher")
    page.goto(f"{live_server_url}/attendance/")
    link = page.locator(f'a[href="/attendance/class/{w.a.g7c1.pk}/{today.isoformat()}/"]')
    with page.expect_navigation():
        link.click()
    assert page.locator(f"#s-{s1.pk}-present").is_checked()
    assert_accessible(page, "the register page")
    assert_fits_phone(page)
    page.click(f'label[for="s-{s1.pk}-absent"]')
    page.click(f'label[for="s-{s2.pk}-late"]')
    assert page.inner_text("#exception-count") == "2"
    page.locator(f"#row-{s1.pk} summary").click()
    page.fill(f"#n-{s1.pk}", "发烧")
    with page.expect_navigation():
        page.click("#save-register")
    page.wait_for_selector(".reg-summary")
    assert page.locator(f"#s-{s1.pk}-absent").is_checked()
    assert page.locator(f"#s-{s2.pk}-late").is_checked()
    assert page.locator(f"#s-{s3.pk}-present").is_checked()
    assert page.input_value(f"#n-{s1.pk}") == "发烧"
    assert page.locator("ul.messages").count() == 1
    marks = {m.student_id: m.status for m in Mark.objects.filter(register__klass=w.a.g7c1)}
    assert marks == {s1.pk: "absent", s2.pk: "late", s3.pk: "present"}
    # The flash message list of the base template (ul role=status) is checked where that template is
    # tested; the saved register itself is checked after a reload.
    page.reload()
    assert page.locator(f"#s-{s1.pk}-absent").is_checked()
    assert_accessible(page, "the saved register")
