"""Everything a school holds, in one download: an Excel workbook with a sheet per kind of record, and the
OneRoster 1.2 CSV zip beside it (when the OneRoster app can write one).

The workbook is written row by row (openpyxl's write-only mode, querysets iterated in chunks) into a
temporary file, and the OneRoster zip is streamed into another (oneroster.export.write_zip), so a large
school's records do not sit in memory at once; the view sends the archive with a FileResponse. National
ID numbers and health notes are left out: they are read one at a time through `read_sensitive`, which
logs each read, and a bulk export must not bypass that. The caller (the management view) checks that the user manages the school and writes the audit
row.
"""

from __future__ import annotations

import datetime
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from schoolbridge.attendance.models import Mark
from schoolbridge.core.models import Class, Guardianship, School, Staff, Student, TeachingAssignment
from schoolbridge.grades.models import Score

CHUNK = 2000
Sheet = tuple[str, list[str], Callable[[School], Iterable[Iterable[Any]]]]


def _students(school: School) -> Iterator[list[Any]]:
    rows = (
        Student.objects.filter(school=school)
        .select_related("person", "current_class")
        .order_by("student_number", "pk")
    )
    for s in rows.iterator(chunk_size=CHUNK):
        p = s.person
        yield [
            s.student_number,
            p.full_name,
            p.get_gender_display(),
            p.birth_date,
            s.current_class.name if s.current_class else "",
            s.get_status_display(),
            s.enrolled_on,
            s.left_on,
        ]


def _guardians(school: School) -> Iterator[list[Any]]:
    rows = (
        Guardianship.objects.filter(school=school)
        .select_related("guardian__person", "student__person")
        .order_by("student__student_number", "pk")
    )
    for g in rows.iterator(chunk_size=CHUNK):
        gp = g.guardian.person
        yield [
            g.student.student_number,
            g.student.person.full_name,
            gp.full_name,
            g.get_relationship_display(),
            gp.phone,
            gp.email,
            g.is_primary,
            g.may_pickup,
            g.receives_notices,
        ]


def _staff(school: School) -> Iterator[list[Any]]:
    rows = Staff.objects.filter(school=school).select_related("person").order_by("staff_number", "pk")
    for s in rows.iterator(chunk_size=CHUNK):
        yield [s.staff_number, s.person.full_name, s.title, s.person.phone, s.person.email, s.active]


def _classes(school: School) -> Iterator[list[Any]]:
    rows = (
        Class.objects.filter(school=school)
        .select_related("year", "grade", "head_teacher__person", "room")
        .order_by("year__start_date", "grade__order", "name")
    )
    for c in rows.iterator(chunk_size=CHUNK):
        head = c.head_teacher.person.full_name if c.head_teacher else ""
        yield [c.year.name, c.grade.name, c.name, head, c.room.name if c.room else ""]


def _teaching(school: School) -> Iterator[list[Any]]:
    rows = (
        TeachingAssignment.objects.filter(school=school)
        .select_related("term", "klass", "subject", "teacher__person")
        .order_by("term__start_date", "klass__name", "subject__name")
    )
    for t in rows.iterator(chunk_size=CHUNK):
        yield [t.term.name, t.klass.name, t.subject.name, t.teacher.staff_number, t.teacher.person.full_name]


def _attendance(school: School) -> Iterator[list[Any]]:
    rows = (
        Mark.objects.filter(school=school)
        .select_related("student__person", "register__klass")
        .order_by("date", "register__period", "student__student_number")
    )
    for m in rows.iterator(chunk_size=CHUNK):
        yield [
            m.date,
            m.register.period,
            m.register.klass.name,
            m.student.student_number,
            m.student.person.full_name,
            m.get_status_display(),
            m.note,
            m.get_source_display(),
        ]


def _scores(school: School) -> Iterator[list[Any]]:
    rows = (
        Score.objects.filter(school=school)
        .select_related(
            "assessment_subject__assessment", "assessment_subject__subject", "klass", "student__person"
        )
        .order_by("assessment_subject__assessment__date", "assessment_subject__assessment_id", "student_id")
    )
    for s in rows.iterator(chunk_size=CHUNK):
        a = s.assessment_subject.assessment
        yield [
            a.name,
            a.date,
            s.assessment_subject.subject.name,
            s.klass.name,
            s.student.student_number,
            s.student.person.full_name,
            s.value,
            s.get_marker_display(),
            a.get_status_display(),
        ]


def sheets() -> list[Sheet]:
    """(sheet title, column headers, rows) for every kind of record, in the user's language."""
    return [
        (
            _("Students"),
            [
                _("Student number"),
                _("Name"),
                _("Gender"),
                _("Birth date"),
                _("Class"),
                _("Status"),
                _("Enrolled on"),
                _("Left on"),
            ],
            _students,
        ),
        (
            _("Guardians"),
            [
                _("Student number"),
                _("Student"),
                _("Guardian"),
                _("Relationship"),
                _("Phone"),
                _("Email"),
                _("Primary contact"),
                _("May pick up"),
                _("Receives notices"),
            ],
            _guardians,
        ),
        (_("Staff"), [_("Staff number"), _("Name"), _("Title"), _("Phone"), _("Email"), _("Active")], _staff),
        (_("Classes"), [_("School year"), _("Grade"), _("Class"), _("Head teacher"), _("Room")], _classes),
        (_("Teaching"), [_("Term"), _("Class"), _("Subject"), _("Staff number"), _("Teacher")], _teaching),
        (
            _("Attendance"),
            [
                _("Date"),
                _("Period"),
                _("Class"),
                _("Student number"),
                _("Name"),
                _("Status"),
                _("Note"),
                _("Source"),
            ],
            _attendance,
        ),
        (
            _("Scores"),
            [
                _("Assessment"),
                _("Date"),
                _("Subject"),
                _("Class"),
                _("Student number"),
                _("Name"),
                _("Score"),
                _("Marker"),
                _("Published"),
            ],
            _scores,
        ),
    ]


def _cell(ws: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return ""
    return value


def write_workbook(school: School, out: IO[bytes]) -> dict[str, int]:
    """Write the school's workbook to a binary file; returns the number of rows per sheet."""
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    bold = Font(bold=True)
    for title, headers, rows in sheets():
        ws = wb.create_sheet(title=title[:31])
        header_cells = []
        for h in headers:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            header_cells.append(c)
        ws.append(header_cells)
        n = 0
        for row in rows(school):
            ws.append([_cell(ws, v) for v in row])
            n += 1
        counts[str(title)] = n
    wb.save(out)
    return counts


def write_oneroster(school: School, out: IO[bytes]) -> bool:
    """Write the school's OneRoster 1.2 CSV zip (streamed by the OneRoster app) to a binary file;
    False when the OneRoster app cannot write one."""
    try:
        from schoolbridge.oneroster import export as oneroster_export
    except ImportError:
        return False
    write_zip = getattr(oneroster_export, "write_zip", None)
    if not callable(write_zip):
        return False
    write_zip(school.district, school, out)
    return True


def _copy(source: IO[bytes], member: IO[bytes]) -> None:
    while chunk := source.read(1 << 20):
        member.write(chunk)


def write_archive(school: School, directory: Path) -> tuple[Path, dict[str, int]]:
    """Build `<school code>-<date>.zip` (data.xlsx, plus oneroster.zip when available) in ``directory``.

    Both parts are first written to temporary files in ``directory`` and then copied into the archive a
    megabyte at a time, so neither the workbook nor the OneRoster zip is ever held in memory whole."""
    stamp = datetime.date.today().isoformat()
    archive = directory / f"{school.code or school.pk}-{stamp}.zip"
    with tempfile.TemporaryFile(dir=directory) as xlsx, tempfile.TemporaryFile(dir=directory) as roster:
        counts = write_workbook(school, xlsx)
        xlsx.seek(0)
        has_roster = write_oneroster(school, roster)
        roster.seek(0)
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with z.open("data.xlsx", "w", force_zip64=True) as member:
                _copy(xlsx, member)
            if has_roster:
                # Already deflated: stored as it is.
                info = zipfile.ZipInfo("oneroster.zip", date_time=time.localtime()[:6])
                info.compress_type = zipfile.ZIP_STORED
                with z.open(info, "w", force_zip64=True) as member:
                    _copy(roster, member)
    return archive, counts
