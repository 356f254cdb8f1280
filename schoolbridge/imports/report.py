"""Excel files: the error report of a batch, and list exports."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _


def message(entry: dict[str, Any]) -> str:
    """An error stored as msgid + params, in the current language."""
    text = _(entry.get("message", ""))
    params = entry.get("params") or {}
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return text


def workbook(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    bold = []
    for h in header:
        from openpyxl.cell import WriteOnlyCell

        c = WriteOnlyCell(ws, value=h)
        c.font = Font(bold=True)
        bold.append(c)
    ws.append(bold)
    for r in rows:
        ws.append([_safe(v) for v in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _safe(value: Any) -> Any:
    # A cell starting with = + - @ would be run as a formula by Excel: keep it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not value.lstrip("+-").isdigit():
        return "'" + value
    return value


def error_report(batch: Any, rows: Iterable[Any]) -> bytes:
    header = [_("Row"), _("Column"), _("Value"), _("Problem")]

    def lines() -> Iterable[list[Any]]:
        for e in batch.errors:
            yield ["", e.get("where", ""), "", message(e)]
        for r in rows:
            for e in r.errors:
                yield [r.number, e.get("column", ""), e.get("value", ""), message(e)]

    return workbook(_("Errors"), header, lines())
