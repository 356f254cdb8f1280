import io
import sqlite3

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from schoolbridge.core.models import Guardian, Staff, Student
from schoolbridge.imports import tasks
from schoolbridge.imports.models import ImportBatch, ImportSource
from schoolbridge.notify.models import Notification
from schoolbridge.testing.auth import login_verified

from .helpers import ROWS, office_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, world):
    login_verified(client, world.user("a_admin"))
    return client


def url(name, school, *args):
    return reverse(f"imports:{name}", args=[school.pk, *args])


def upload(client, school, data, name="学生名单.csv", target="students"):
    f = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(url("upload", school), {"target": target, "file": f, "header_row": 1})


def test_gbk_csv_through_map_check_preview_commit_rollback(admin_client, world):
    school = world.a.school
    assert admin_client.get(url("index", school)).status_code == 200
    r = upload(admin_client, school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    assert r.status_code == 302 and r["Location"] == url("mapping", school, batch.pk)
    page = admin_client.get(r["Location"]).content.decode()
    assert '<option value="学号" selected>' in page and "gbk" in page
    form = {**batch.mapping, "save_as": "教务处名单"}
    r = admin_client.post(url("mapping", school, batch.pk), form)
    assert r.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "previewed" and batch.counts["create"] == 3
    assert ImportSource.objects.get(name="教务处名单").mapping == batch.mapping
    page = admin_client.get(url("batch", school, batch.pk)).content.decode()
    assert 'data-count="create">3<' in page and 'data-count="guardians_new">2<' in page
    r = admin_client.post(url("commit", school, batch.pk))
    assert r.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "committed"
    assert Student.objects.filter(student_number__in=["N001", "N002", "N003"]).count() == 3
    history = admin_client.get(url("index", school)).content.decode()
    assert "学生名单.csv" in history and "a_admin" in history
    r = admin_client.post(url("rollback", school, batch.pk))
    batch.refresh_from_db()
    assert batch.status == "rolled_back" and not Student.objects.filter(student_number="N001").exists()


def test_mapping_needs_the_required_columns(admin_client, world):
    school = world.a.school
    upload(admin_client, school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    r = admin_client.post(url("mapping", school, batch.pk), {"name": "姓名"})
    assert r.status_code == 400
    batch.refresh_from_db()
    assert batch.status == "staged"


def test_error_report_and_hold(admin_client, world):
    from openpyxl import load_workbook

    school = world.a.school
    rows = [ROWS[0], ["N009", "钱九", "男", "2013-02-30", "火星班", "", "", ""]]
    upload(admin_client, school, office_csv(rows))
    batch = ImportBatch.objects.get()
    admin_client.post(url("mapping", school, batch.pk), batch.mapping)
    page = admin_client.get(url("batch", school, batch.pk)).content.decode()
    assert "火星班" in page and 'data-count="error">1<' in page
    r = admin_client.get(url("errors", school, batch.pk))
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    lines = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=2)]
    assert lines[0][:3] == (3, "出生日期", "2013-02-30")
    assert lines[1][:3] == (3, "班级", "火星班") and "火星班" in lines[1][3]
    admin_client.post(url("hold", school, batch.pk))
    batch.refresh_from_db()
    assert batch.status == "held" and not Student.objects.filter(student_number="N001").exists()


def test_unreadable_file_is_a_failed_batch_with_a_located_reason(admin_client, world):
    data = office_csv(ROWS) + b"N9,\x81\x20,\n"
    r = upload(admin_client, world.a.school, data)
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and r["Location"] == url("batch", world.a.school, batch.pk)
    page = admin_client.get(r["Location"]).content.decode()
    assert "line 5" in page


def test_other_schools_and_other_roles_get_404(client, world):
    login_verified(client, world.user("b_admin"))
    upload(client, world.b.school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    login_verified(client, world.user("a_admin"))
    for name in ("batch", "mapping", "errors", "status"):
        assert client.get(url(name, world.a.school, batch.pk)).status_code == 404
        assert client.get(url(name, world.b.school, batch.pk)).status_code == 404
    assert client.post(url("commit", world.b.school, batch.pk)).status_code == 404
    for username in ("a_teacher", "a_head", "a_parent"):
        login_verified(client, world.user(username))
        assert client.get(url("index", world.a.school)).status_code == 404


def test_exports(admin_client, world):
    from openpyxl import load_workbook

    r = admin_client.get(url("export_students", world.a.school))
    ws = load_workbook(io.BytesIO(r.content)).active
    numbers = {row[0].value for row in ws.iter_rows(min_row=2)}
    assert numbers == {s.student_number for ss in world.a.students.values() for s in ss}
    r = admin_client.get(url("export_staff", world.a.school))
    ws = load_workbook(io.BytesIO(r.content)).active
    assert "T-head" in {row[0].value for row in ws.iter_rows(min_row=2)}
    assert Staff.objects.filter(school=world.b.school).exists()
    assert not {"T-head"} - {row[0].value for row in ws.iter_rows(min_row=2)}


def _sis(tmp_path, rows):
    path = tmp_path / "sis.db"
    con = sqlite3.connect(path)
    con.execute("create table if not exists pupils (xh text, xm text, bj text, jzdh text, jzxm text)")
    con.execute("delete from pupils")
    con.executemany("insert into pupils values (?,?,?,?,?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_sql_source_and_scheduled_sync(admin_client, world, tmp_path):
    school = world.a.school
    db = _sis(
        tmp_path,
        [
            ("Q1", "孙小一", "初一(1)班", "13600000001", "孙大"),
            ("Q2", "孙小二", "初一(2)班", "13600000001", "孙大"),
        ],
    )
    r = admin_client.post(
        reverse("imports:source_new", args=[school.pk]),
        {"name": "学籍系统", "kind": "sql", "target": "students", "url": db, "pagination": "none",
         "query": "SELECT xh AS 学号, xm AS 姓名, bj AS 班级, jzdh AS 家长电话, jzxm AS 家长姓名 FROM pupils", "schedule": "daily"},
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    source = ImportSource.objects.get(name="学籍系统")
    assert tasks.sync_sources() == {str(source.pk): "committed"}
    assert Student.objects.get(student_number="Q2").current_class == world.a.g7c2
    assert Guardian.objects.filter(person__phone="13600000001").count() == 1
    assert tasks.sync_sources() == {}  # not due again today
    # Next day: an ambiguous row. The sync holds the batch and tells the source's owner.
    ImportSource.objects.filter(pk=source.pk).update(last_synced_at=None)
    _sis(
        tmp_path,
        [("Q1", "孙小一", "初一(1)班", "13600000001", "孙大"), ("Q9", "孙小二", "初一(2)班", "", "")],
    )
    assert tasks.sync_sources() == {str(source.pk): "held"}
    held = ImportBatch.objects.filter(source=source).order_by("-pk").first()
    assert held is not None and held.counts["conflict"] == 1
    assert not Student.objects.filter(student_number="Q9").exists()
    assert Notification.objects.filter(
        user=world.user("a_admin"), kind="imports", link__contains=f"/b/{held.pk}/"
    ).exists()


def test_sql_and_api_sources_are_checked(admin_client, world, settings):
    school = world.a.school
    base = {"name": "x", "target": "students", "pagination": "none", "schedule": ""}
    r = admin_client.post(reverse("imports:source_new", args=[school.pk]),
                          {**base, "kind": "sql", "url": "sqlite:///x.db", "query": "DELETE FROM pupils"})  # fmt: skip
    assert r.status_code == 400 and "SELECT" in r.content.decode()
    r = admin_client.post(reverse("imports:source_new", args=[school.pk]),
                          {**base, "kind": "api", "url": "http://127.0.0.1:9/records"})  # fmt: skip
    assert r.status_code == 400 and not ImportSource.objects.exists()
    settings.IMPORTS_ALLOW_PRIVATE_HOSTS = True
    r = admin_client.post(reverse("imports:source_new", args=[school.pk]),
                          {**base, "kind": "api", "url": "http://127.0.0.1:9/records", "auth_header": "Authorization: Bearer x"})  # fmt: skip
    assert r.status_code == 302
    page = admin_client.get(url("index", school)).content.decode()
    assert "Bearer x" not in page


def test_list_pages_offer_the_excel_export(admin_client, world):
    school = world.a.school
    students = admin_client.get(reverse("manage:students", args=[school.pk])).content.decode()
    staff = admin_client.get(reverse("manage:staff", args=[school.pk])).content.decode()
    assert url("export_students", school) in students and url("export_staff", school) in staff


def test_progress_fragment_polls_while_running_and_refreshes_when_done(admin_client, world):
    school = world.a.school
    upload(admin_client, school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(status="validating", progress_done=1)
    r = admin_client.get(url("status", school, batch.pk))
    body = r.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="33"' in body and "1 / 3" in body
    ImportBatch.objects.filter(pk=batch.pk).update(status="previewed", progress_done=3)
    r = admin_client.get(url("status", school, batch.pk) + "?was=running")
    assert r["HX-Refresh"] == "true" and "hx-trigger" not in r.content.decode()


def test_commit_progress_comes_from_the_cache(admin_client, world):
    from schoolbridge.imports import actions

    school = world.a.school
    upload(admin_client, school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(status="committing")
    actions.commit_progress(batch.pk, 50, 200)
    body = admin_client.get(url("status", school, batch.pk)).content.decode()
    assert "50 / 200" in body and 'value="25"' in body


def test_classes_batch_page(admin_client, world):
    school = world.a.school
    data = office_csv(
        [["七年级3班", "初一", "T-teacher"], ["初一(2)班", "七年级", "李老师"]],
        header=["班级", "年级", "班主任"],
    )
    upload(admin_client, school, data, name="班级.csv", target="classes")
    batch = ImportBatch.objects.get()
    admin_client.post(url("mapping", school, batch.pk), batch.mapping)
    page = admin_client.get(url("batch", school, batch.pk)).content.decode()
    assert 'data-count="create">1<' in page and 'data-count="update">1<' in page
    assert "七年级3班 · 初一 · T-teacher" in page and "→" in page


def test_district_admin_without_records_cannot_open_a_students_batch(admin_client, client, world):
    upload(admin_client, world.a.school, office_csv(ROWS))
    batch = ImportBatch.objects.get()
    login_verified(client, world.user("district_admin"))
    assert client.get(url("index", world.a.school)).status_code == 200
    for name in ("batch", "mapping", "errors"):
        assert client.get(url(name, world.a.school, batch.pk)).status_code == 404


def test_a_saved_mapping_is_used_on_the_next_upload(admin_client, world):
    school = world.a.school
    header = ["编号", "称呼", "班"]
    data = office_csv([["N001", "王小明", "七年级1班"]], header=header)
    upload(admin_client, school, data)
    first = ImportBatch.objects.get()
    assert "student_number" not in first.mapping  # 编号 / 称呼 are not headers we know
    admin_client.post(url("mapping", school, first.pk),
                      {"student_number": "编号", "name": "称呼", "klass": "班", "save_as": "德育处导出"})  # fmt: skip
    source = ImportSource.objects.get(name="德育处导出")
    f = SimpleUploadedFile("again.csv", data, content_type="text/csv")
    admin_client.post(
        url("upload", school), {"target": "students", "file": f, "header_row": 1, "source": source.pk}
    )
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    assert second.mapping == {"student_number": "编号", "name": "称呼", "klass": "班"}


def test_fetch_a_sql_source_now_and_delete_it(admin_client, world, tmp_path):
    school = world.a.school
    db = _sis(tmp_path, [("Q1", "孙小一", "初一(1)班", "13600000001", "孙大")])
    admin_client.post(
        reverse("imports:source_new", args=[school.pk]),
        {"name": "学籍系统", "kind": "sql", "target": "students", "url": db, "pagination": "none",
         "query": "SELECT xh AS 学号, xm AS 姓名, bj AS 班级, jzdh AS 家长电话, jzxm AS 家长姓名 FROM pupils"},
    )  # fmt: skip
    source = ImportSource.objects.get()
    r = admin_client.post(reverse("imports:source_run", args=[school.pk, source.pk]))
    batch = ImportBatch.objects.get(source=source)
    assert r["Location"] == url("batch", school, batch.pk)
    assert batch.status == "previewed" and batch.counts["create"] == 1
    assert not Student.objects.filter(student_number="Q1").exists()  # fetched and checked, not committed
    admin_client.post(reverse("imports:source_delete", args=[school.pk, source.pk]))
    assert not ImportSource.objects.exists() and ImportBatch.objects.filter(pk=batch.pk).exists()


def test_excel_upload_with_a_title_row_on_a_chosen_sheet(admin_client, world):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("名单")
    ws.append(["2025学年七年级新生名单"])
    ws.append(["学号", "姓名", "性别", "出生日期", "班级"])
    ws.append(["X001", "赵小一", "女", 41706, "初一(1)班"])  # an Excel serial date: 2014-03-08
    out = io.BytesIO()
    wb.save(out)
    f = SimpleUploadedFile("名单.xlsx", out.getvalue(), content_type="application/octet-stream")
    school = world.a.school
    admin_client.post(
        url("upload", school), {"target": "students", "file": f, "sheet": "名单", "header_row": 2}
    )
    batch = ImportBatch.objects.get()
    assert batch.details["sheet"] == "名单" and batch.headers == ["学号", "姓名", "性别", "出生日期", "班级"]
    admin_client.post(url("mapping", school, batch.pk), batch.mapping)
    admin_client.post(url("commit", school, batch.pk))
    student = Student.objects.get(student_number="X001")
    assert str(student.person.birth_date) == "2014-03-08" and student.current_class == world.a.g7c1
