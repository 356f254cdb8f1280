import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from schoolbridge.attendance import actions
from schoolbridge.attendance.models import Mark, Register
from schoolbridge.web.tests.helpers import english_client, verified_client

from .conftest import past_weekday
from .test_actions import approved_leave


def reg_url(world, day, klass=None):
    return f"/attendance/class/{(klass or world.a.g7c1).pk}/{day.isoformat()}/"


def test_teacher_home_lists_todays_registers(world, today):
    client = english_client(world.user("a_teacher"))
    r = client.get("/attendance/")
    body = r.content.decode()
    assert r.status_code == 200
    assert world.a.g7c1.name in body and world.a.g8c1.name in body and world.a.g7c2.name not in body
    assert reg_url(world, today) in body


def test_register_page_defaults_and_saves_exceptions(world, today):
    s1, s2, s3 = world.a.students["g7c1"]
    approved_leave(world, s3, today)
    client = english_client(world.user("a_teacher"))
    r = client.get(reg_url(world, today))
    body = r.content.decode()
    assert r.status_code == 200
    assert f'id="s-{s1.pk}-present" name="s-{s1.pk}" value="present" checked' in body
    assert f'id="s-{s3.pk}-excused" name="s-{s3.pk}" value="excused" checked' in body
    assert "On approved leave" in body
    r = client.post(
        reg_url(world, today),
        {f"s-{s1.pk}": "absent", f"n-{s1.pk}": "fever", f"s-{s2.pk}": "late", f"s-{s3.pk}": "excused"},
    )
    assert r.status_code == 302
    marks = {m.student_id: (m.status, m.note) for m in Mark.objects.all()}
    assert marks == {s1.pk: ("absent", "fever"), s2.pk: ("late", ""), s3.pk: ("excused", "")}
    assert Mark.objects.get(student=s3).leave_id is not None
    body = client.get(reg_url(world, today)).content.decode()
    assert 'value="absent" checked' in body and "Saved at" in body


def test_htmx_save_redirects_client(world, today):
    client = english_client(world.user("a_head"))
    r = client.post(reg_url(world, today), {}, headers={"HX-Request": "true"})
    assert r.status_code == 204 and r["HX-Redirect"] == reg_url(world, today)
    assert Register.objects.get().taken_at is not None


def test_bad_status_gives_row_error_and_saves_nothing(world, today):
    s1 = world.a.students["g7c1"][0]
    client = english_client(world.user("a_teacher"))
    r = client.post(reg_url(world, today), {f"s-{s1.pk}": "asleep"})
    assert r.status_code == 400
    assert "Choose one of the statuses offered." in r.content.decode()
    assert not Register.objects.exists()


def test_after_cutoff_teacher_sees_read_only_and_head_needs_reason(world):
    day = past_weekday(3)
    s1 = world.a.students["g7c1"][0]
    teacher = english_client(world.user("a_teacher"))
    body = teacher.get(reg_url(world, day)).content.decode()
    assert "deadline for this register has passed" in body and "<fieldset disabled>" in body
    r = teacher.post(reg_url(world, day), {f"s-{s1.pk}": "absent"})
    assert r.status_code == 400 and not Register.objects.exists()
    head = english_client(world.user("a_head"))
    r = head.post(reg_url(world, day), {f"s-{s1.pk}": "absent"})
    assert r.status_code == 400 and "Give a reason" in r.content.decode()
    assert not Register.objects.exists()
    r = head.post(reg_url(world, day), {f"s-{s1.pk}": "absent", "reason": "补登"})
    assert r.status_code == 302 and Mark.objects.get(student=s1).status == "absent"


@pytest.mark.parametrize("username", ["a_parent", "b_head", "a_principal"])
def test_register_out_of_scope_is_404(world, today, username):
    client = verified_client(world.user(username))
    assert client.get(reg_url(world, today)).status_code == 404
    assert client.post(reg_url(world, today), {}).status_code == 404
    assert not Register.objects.exists()


def test_period_url_in_daily_school_is_404(world, today):
    client = english_client(world.user("a_teacher"))
    assert client.get(reg_url(world, today) + "1/").status_code == 404


def test_student_summary_guardian_sees_own_child_only(world, today):
    s1, s2, _ = world.a.students["g7c1"]
    actions.take_register(world.user("a_head"), world.a.g7c1, today, exceptions={s1.pk: ("sick", "cold")})
    parent = english_client(world.user("a_parent"))
    r = parent.get(f"/attendance/student/{s1.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "0%" in body and "cold" in body
    assert parent.get(f"/attendance/student/{s2.pk}/").status_code == 404
    assert (
        english_client(world.user("a_parent_norec")).get(f"/attendance/student/{s2.pk}/").status_code == 404
    )
    head = english_client(world.user("a_head"))
    assert "100%" in head.get(f"/attendance/student/{s2.pk}/").content.decode()


def test_class_and_school_day_summaries(world, today, django_assert_max_num_queries):
    s1 = world.a.students["g7c1"][0]
    actions.take_register(world.user("a_head"), world.a.g7c1, today, exceptions={s1.pk: ("absent", "")})
    head = english_client(world.user("a_head"))
    body = head.get(f"/attendance/class/{world.a.g7c1.pk}/{today.isoformat()}/summary/").content.decode()
    assert "1 of 1 registers taken" in body and "67%" in body
    admin = verified_client(world.user("a_admin"))
    with django_assert_max_num_queries(20):
        r = admin.get(f"/attendance/school/{world.a.school.pk}/{today.isoformat()}/")
    body = r.content.decode()
    assert r.status_code == 200 and world.a.g8c1.name in body and "1/1" in body
    assert head.get(f"/attendance/school/{world.a.school.pk}/{today.isoformat()}/").status_code == 404
    parent = english_client(world.user("a_parent"))
    assert parent.get(f"/attendance/class/{world.a.g7c2.pk}/{today.isoformat()}/summary/").status_code == 404


def test_excel_export_for_head_and_admin_only(world, today):
    s1 = world.a.students["g7c1"][0]
    actions.take_register(world.user("a_head"), world.a.g7c1, today, exceptions={s1.pk: ("absent", "")})
    month = today.strftime("%Y-%m")
    url = f"/attendance/class/{world.a.g7c1.pk}/month/{month}.xlsx"
    for user in ("a_teacher", "a_parent", "b_admin"):
        assert verified_client(world.user(user)).get(url).status_code == 404
    r = english_client(world.user("a_head")).get(url)
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[1]
    assert header[0] == "Student number" and today.strftime("%m-%d") in header
    col = header.index(today.strftime("%m-%d"))
    by_number = {row[0]: row for row in rows[2:] if row and row[0]}
    assert by_number[s1.student_number][col] == "A"
    assert by_number[world.a.students["g7c1"][1].student_number][col] == "✓"
    assert verified_client(world.user("a_admin")).get(url).status_code == 200


def test_not_a_school_day_shows_note(world):
    day = timezone.localdate()
    while day.isoweekday() < 6:
        day -= datetime.timedelta(days=1)
    client = english_client(world.user("a_head"))
    body = client.get(reg_url(world, day)).content.decode()
    assert "not a school day" in body and "save-register" not in body
