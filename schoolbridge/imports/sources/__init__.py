"""Readers for import sources. Pure Python (no Django): each yields `Row`s, dicts keyed by header with the
row number the user sees in their own file (the header row is row 1 in a CSV or on an Excel sheet)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class SourceError(Exception):
    """The source cannot be read at all: wrong encoding, no header, bad sheet, unreachable server...

    `where` locates the problem when it can be located (a line, a byte offset, a sheet or a URL)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{message} ({where})" if where else message)
        self.message = message
        self.where = where


@dataclass
class Row:
    number: int
    values: dict[str, Any]


@dataclass
class Table:
    """What a reader found: the headers in order and the data rows."""

    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def clean_headers(raw: list[Any], where: str = "") -> list[str]:
    """Header texts stripped; blanks named "column N"; a repeated header is an error (which one is meant?)."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(raw, start=1):
        text = "" if value is None else " ".join(str(value).replace("\ufeff", "").split())
        if not text:
            text = f"column {i}"
        if text in seen:
            raise SourceError(f"The header {text!r} appears twice (columns {seen[text]} and {i})", where)
        seen[text] = i
        headers.append(text)
    if not any(not h.startswith("column ") for h in headers):
        raise SourceError("The first row has no column headers", where)
    return headers


def is_blank(values: dict[str, Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values())
