"""Excel .xlsx: the user chooses the sheet and the header row. Read-only mode, so a large file streams."""

from __future__ import annotations

import datetime
import io
import zipfile
from typing import Any

from . import Row, SourceError, Table, clean_headers, is_blank


def _cell(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def sheet_names(data: bytes) -> list[str]:
    wb = _open(data)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _open(data: bytes) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError(f"This is not an Excel .xlsx file ({type(exc).__name__})") from None


def read_excel(data: bytes, sheet: str | None = None, header_row: int = 1) -> Table:
    if header_row < 1:
        raise SourceError("The header row must be 1 or more")
    wb = _open(data)
    try:
        if sheet:
            if sheet not in wb.sheetnames:
                raise SourceError(
                    f"There is no sheet named {sheet!r}; the sheets are: {', '.join(wb.sheetnames)}"
                )
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        rows = ws.iter_rows(min_row=header_row, values_only=True)
        try:
            raw = list(next(rows))
        except StopIteration:
            raise SourceError("The sheet has no rows", f"sheet {ws.title}, row {header_row}") from None
        while raw and (raw[-1] is None or str(raw[-1]).strip() == ""):
            raw.pop()
        headers = clean_headers(raw, f"sheet {ws.title}, row {header_row}")
        table = Table(headers=headers, sheet=ws.title)
        for offset, cells in enumerate(rows, start=1):
            values = {h: _cell(cells[i]) if i < len(cells) else None for i, h in enumerate(headers)}
            values = {k: ("" if v is None else v) for k, v in values.items()}
            if not is_blank(values):
                table.rows.append(Row(header_row + offset, values))
        return table
    finally:
        wb.close()
