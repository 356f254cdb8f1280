"""The score template (.xlsx listing the class's students) and reading a filled-in one back.

Columns: A student number, B name, C score. Row 1 is the heading; errors name the sheet row.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from .actions import ScoreRow

MAX_UPLOAD = 2 * 1024 * 1024
MAX_ROWS = 2000


class BadSpreadsheet(ValueError):
    pass


def template(assessment: Any, klass: Any, subject_row: Any, grid: Sequence[Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "scores"
    ws.append(
        [
            _("Student number"),
            _("Name"),
            f"{subject_row.subject.name} ({_('full marks')} {subject_row.full_marks:g})",
        ]
    )
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for line in grid:
        ws.append([line.student.student_number, line.student.person.full_name, line.value or None])
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 22
    ws.freeze_panes = "A2"
    meta = wb.create_sheet("about")
    meta.append([_("Assessment"), assessment.name])
    meta.append([_("Class"), klass.name])
    meta.append([_("Subject"), subject_row.subject.name])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_scores(upload: Any) -> list[ScoreRow]:
    """The rows of the first sheet below the heading row: student number in column A, score in column C
    (or in column B when the heading has only two columns)."""
    try:
        data = upload.read()
        if len(data) > MAX_UPLOAD:
            raise BadSpreadsheet(_("The file is too large (at most 2 MB)."))
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        if isinstance(exc, BadSpreadsheet):
            raise
        raise BadSpreadsheet(_("This file could not be read as an Excel workbook (.xlsx).")) from None
    try:
        ws = wb.worksheets[0]
        raw = list(ws.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=3, values_only=True))
    finally:
        wb.close()
    if len(raw) > MAX_ROWS:
        raise BadSpreadsheet(_("Too many rows (at most 2000)."))
    heading = [c for c in (raw[0] if raw else ()) if c is not None and str(c).strip()]
    score_col = 2 if len(heading) >= 3 else 1
    rows: list[ScoreRow] = []
    for index, r in enumerate(raw[1:], start=2):
        cells = list(r) + [None] * (3 - len(r))
        number, value = cells[0], cells[score_col]
        if (number is None or not str(number).strip()) and (value is None or not str(value).strip()):
            continue  # an empty row
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        rows.append(ScoreRow(index, "" if number is None else str(number).strip(), value))
    return rows
