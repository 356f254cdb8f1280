"""Export a district (or one school) as a OneRoster 1.2 CSV bulk zip, streamed to a file.

Rows are sorted by sourcedId in every file and status / dateLastModified are left blank (bulk mode),
so exporting twice — or exporting, importing elsewhere and exporting again — gives the same bytes.

Nothing is built whole in memory: every file is read through the same database segments as the REST
binding (queries.Tenant), CHUNK rows at a time with a server-side cursor where the database has one;
the rows of a chunk go to an external sort (sorted runs of RUN rows spilled to temporary files, then
merged while the zip member is written), and the sourcedIds generated for a chunk are saved and
dropped before the next one. Memory stays at about one run whatever the size of the district.
"""

from __future__ import annotations

import csv
import heapq
import io
import itertools
import pickle
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db import transaction

from schoolbridge.core.models import District, School

from . import mapping as m
from . import spec
from .queries import CHUNK, ListSegment, Segment, Tenant
from .records import Record

# A fixed timestamp for the zip members, so identical content gives identical bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
# Rows sorted in memory at once before a run is spilled to a temporary file.
RUN = 20_000
# Kinds with one sourcedId per row of a big table: forgotten after each chunk.
LARGE_KINDS = (
    m.KIND_PERSON,
    m.KIND_ROLE,
    m.KIND_ENROLLMENT,
    m.KIND_HEAD,
    m.KIND_ASSIGNMENT,
    m.KIND_SECTION_STUDENT,
    m.KIND_SECTION,
    m.KIND_CLASS,
    m.KIND_LINEITEM,
    m.KIND_RESULT,
)

# file → the collections whose records it holds.
SOURCES = {
    "orgs": ["orgs"],
    "academicSessions": ["academicSessions"],
    "courses": ["courses"],
    "classes": ["classes"],
    "users": ["users"],
    "demographics": ["demographics"],
    "enrollments": ["enrollments"],
    "categories": ["categories"],
    "lineItems": ["lineItems"],
    "results": ["results"],
}
FILES = sorted([*SOURCES, "roles"])


class SortedRows:
    """Rows kept in sourcedId order with bounded memory: sorted runs spilled to temporary files and
    merged on reading. The first row of a sourcedId wins (as in a dict.setdefault)."""

    def __init__(self, run: int = RUN) -> None:
        if run < 1:
            raise ValueError("run must be 1 or more")
        self.run = run
        self.buffer: list[tuple[str, int, list[str]]] = []
        self.spilled: list[IO[bytes]] = []
        self.seq = 0
        self.count = 0

    def add(self, row: list[str]) -> None:
        self.buffer.append((row[0], self.seq, row))
        self.seq += 1
        if len(self.buffer) >= self.run:
            self._spill()

    def _spill(self) -> None:
        self.buffer.sort(key=lambda item: (item[0], item[1]))
        handle = tempfile.TemporaryFile()  # noqa: SIM115 — closed once the merge has read it
        pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
        for item in self.buffer:
            pickler.dump(item)  # one Pickler per run: its memo matches the Unpickler's
        handle.seek(0)
        self.spilled.append(handle)
        self.buffer = []

    @staticmethod
    def _read(handle: IO[bytes]) -> Iterator[tuple[str, int, list[str]]]:
        unpickler = pickle.Unpickler(handle)
        while True:
            try:
                yield unpickler.load()
            except EOFError:
                handle.close()
                return

    def __iter__(self) -> Iterator[list[str]]:
        self.buffer.sort(key=lambda item: (item[0], item[1]))
        runs: list[Iterable[tuple[str, int, list[str]]]] = [self._read(h) for h in self.spilled]
        runs.append(self.buffer)
        last = None
        for sid, _, row in heapq.merge(*runs, key=lambda item: (item[0], item[1])):
            if sid != last:
                last = sid
                self.count += 1
                yield row


def _batches(seg: Segment | ListSegment) -> Iterator[list[Record]]:
    if isinstance(seg, ListSegment):
        yield seg.records
        return
    rows = seg.rows().iterator(chunk_size=CHUNK)
    while batch := list(itertools.islice(rows, CHUNK)):
        yield seg.build(batch)


def _forget(tenant: Tenant) -> None:
    ids = tenant.rec.ids
    ids.save()
    for kind in LARGE_KINDS:
        ids.forget(kind)


def _collect(tenant: Tenant, file: str, run: int) -> dict[str, SortedRows]:
    """One file's rows (users.csv brings roles.csv with it), read in chunks, kept sorted."""
    out = {file: SortedRows(run)} | ({"roles": SortedRows(run)} if file == "users" else {})
    header = spec.HEADERS[file]
    for name in SOURCES[file]:
        for seg in tenant.segments(name):
            for records in _batches(seg):
                for r in records:
                    out[file].add([r.get(col, "") for col in header])
                    for role in r.get("roles", []) if file == "users" else []:
                        out["roles"].add([role.get(col, "") for col in spec.HEADERS["roles"]])
                _forget(tenant)
    return out


def iter_files(
    district: District, school: School | None = None, run: int = RUN
) -> Iterator[tuple[str, SortedRows]]:
    """(file, its rows in sourcedId order) for every file in name order, one or two files in memory
    at a time. New sourcedIds are saved as they are made."""
    tenant = Tenant(district, school)
    held: dict[str, SortedRows] = {}
    for name in FILES:
        if name not in held:
            held |= _collect(tenant, "users" if name == "roles" else name, run)
        yield name, held.pop(name)
    tenant.rec.ids.save()


def build_files(district: District, school: School | None = None) -> dict[str, list[list[str]]]:
    """Every file's rows as lists (for tests and small districts; `write_zip` streams instead)."""
    with transaction.atomic():
        return {name: list(rows) for name, rows in iter_files(district, school)}


def write_zip(district: District, school: School | None, out: IO[bytes], run: int = RUN) -> dict[str, int]:
    """Write the zip to a binary file (a temporary file, say); returns the number of rows per file.
    `run` is the number of rows sorted in memory at once (smaller: less memory, more spilled runs)."""
    counts: dict[str, int] = {}
    with transaction.atomic(), zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write(archive, "manifest.csv", [spec.manifest_bytes(set(FILES))])
        for name, rows in iter_files(district, school, run):
            _write(archive, f"{name}.csv", _csv_chunks(spec.HEADERS[name], rows))
            counts[name] = rows.count
    return counts


def _csv_chunks(header: list[str], rows: Iterable[list[str]]) -> Iterator[bytes]:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 5000 == 0:
            yield text.getvalue().encode("utf-8")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8")


def _write(archive: zipfile.ZipFile, name: str, chunks: Iterable[bytes]) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        for chunk in chunks:
            member.write(chunk)


def export_zip(district: District, school: School | None = None) -> bytes:
    """The zip as bytes (built in a temporary file; for callers that need bytes, such as tests)."""
    with tempfile.TemporaryFile() as handle:
        write_zip(district, school, handle)
        handle.seek(0)
        return handle.read()


def read_zip_files(data: bytes) -> dict[str, bytes]:
    """The members of a zip as name → bytes (for comparing exports in tests)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())}


__all__: list[Any] = ["export_zip", "write_zip", "build_files", "read_zip_files"]
