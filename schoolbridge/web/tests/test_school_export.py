"""A school's whole-data export: one zip with an Excel workbook and the OneRoster files, for its managers."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client
from openpyxl import load_workbook

from schoolbridge.attendance.models import Mark
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.models import Guardianship
from schoolbridge.testing.world import World
from schoolbridge.web.tests.helpers import verified_client

pytestmark = pytest.mark.django_db


def _download(c: Client, school_id: int) -> zipfile.ZipFile:
    r = c.post(f"/manage/s/{school_id}/export/")
    assert r.status_code == 200, r.status_code
    assert r["Content-Type"] == "application/zip" and "attachment" in r["Content-Disposition"]
    body = b"".join(r.streaming_content)  # type: ignore[attr-defined]
    assert int(r["Content-Length"]) == len(body)
    return zipfile.ZipFile(io.BytesIO(body))


def test_the_zip_holds_every_kind_of_record_of_this_school_only(world: World) -> None:
    admin = verified_client(world.user("a_admin"))
    page = admin.get(f"/manage/s/{world.a.school.pk}/export/")
    assert page.status_code == 200 and b'method="post"' in page.content
    archive = _download(admin, world.a.school.pk)
    assert "data.xlsx" in archive.namelist()
    wb = load_workbook(io.BytesIO(archive.read("data.xlsx")), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    assert len(sheets) == 7
    by_title = dict(
        zip(
            ["students", "guardians", "staff", "classes", "teaching", "attendance", "scores"],
            sheets.values(),
            strict=True,
        )
    )
    students = by_title["students"]
    a_numbers = {s.student_number for s in world.a.students["g7c1"]}
    assert a_numbers <= {row[0] for row in students[1:]}
    b_numbers = {s.student_number for s in world.b.students["g7c1"]} - a_numbers
    assert not b_numbers & {row[0] for row in students[1:]}
    assert len(students) - 1 == world.a.school.students.count()
    guardians = by_title["guardians"][1:]
    assert len(guardians) == Guardianship.objects.filter(school=world.a.school).count()
    parent = world.user("a_parent").person
    child = world.a.students["g7c1"][0]
    assert [child.student_number, child.person.full_name, parent.full_name] in [row[:3] for row in guardians]
    assert {row[1] for row in by_title["staff"][1:]} >= {"王老师", "李老师"}
    assert len(by_title["attendance"]) - 1 == Mark.objects.filter(school=world.a.school).count()
    roster = zipfile.ZipFile(io.BytesIO(archive.read("oneroster.zip")))
    assert "manifest.csv" in roster.namelist() and "users.csv" in roster.namelist()
    event = AuditEvent.objects.get(action="school.export")
    assert event.actor_id == world.user("a_admin").pk


def test_only_the_schools_managers_may_export(world: World) -> None:
    teacher = Client()
    teacher.force_login(world.user("a_head"))
    assert teacher.post(f"/manage/s/{world.a.school.pk}/export/").status_code == 404
    other = verified_client(world.user("b_admin"))
    assert other.post(f"/manage/s/{world.a.school.pk}/export/").status_code == 404
    assert not AuditEvent.objects.filter(action="school.export").exists()


def test_the_oneroster_part_is_the_streamed_export_of_this_school(world: World) -> None:
    from schoolbridge.oneroster.export import export_zip, read_zip_files

    admin = verified_client(world.user("a_admin"))
    archive = _download(admin, world.a.school.pk)
    info = archive.getinfo("oneroster.zip")
    assert info.compress_type == zipfile.ZIP_STORED  # already deflated inside
    inner = archive.read("oneroster.zip")
    assert read_zip_files(inner) == read_zip_files(export_zip(world.district, world.a.school))
    users = read_zip_files(inner)["users.csv"].decode()
    assert all(f",{s.student_number}," not in users for s in world.b.students["g7c1"])
    assert all(f",{s.student_number}," in users for s in world.a.students["g7c1"])
