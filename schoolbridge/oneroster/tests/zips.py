"""Test helper: change one CSV file inside a OneRoster zip."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable

from schoolbridge.oneroster.export import read_zip_files

Table = list[list[str]]


def edit(data: bytes, name: str, change: Callable[[Table], None]) -> bytes:
    """The zip with ``name``'s rows (header included) passed through ``change``, every other member as it was."""
    files = read_zip_files(data)
    table = list(csv.reader(io.StringIO(files[name].decode())))
    change(table)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    files[name] = out.getvalue().encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return buf.getvalue()
