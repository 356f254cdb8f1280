"""The CSV export is streamed: rows go through an external sort (sorted runs spilled to temporary files,
merged while the zip member is written) and the zip is written to a file, never built in memory."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from typing import Any

import pytest

from schoolbridge.core.models import Enrollment
from schoolbridge.oneroster import spec
from schoolbridge.oneroster.export import SortedRows, export_zip, read_zip_files, write_zip
from schoolbridge.oneroster.models import SourcedId
from schoolbridge.oneroster.tests.test_roundtrip import add_gradebook

pytestmark = pytest.mark.django_db


def test_sorted_rows_spill_merge_and_keep_the_first_of_a_sourced_id() -> None:
    rows = SortedRows(run=3)
    data = [["c", "1"], ["a", "2"], ["b", "3"], ["a", "4"], ["d", "5"], ["b", "6"], ["e", "7"], ["a", "8"]]
    for row in data:
        rows.add(row)
    assert len(rows.spilled) == 2  # eight rows, runs of three: two runs on disk, two rows in memory
    assert list(rows) == [["a", "2"], ["b", "3"], ["c", "1"], ["d", "5"], ["e", "7"]]
    assert rows.count == 5
    with pytest.raises(ValueError):
        SortedRows(run=0)


def test_small_runs_give_the_same_bytes_as_one_run(world: Any) -> None:
    add_gradebook(world)
    with tempfile.TemporaryFile() as big, tempfile.TemporaryFile() as small:
        counts = write_zip(world.district, None, big)
        assert write_zip(world.district, None, small, run=2) == counts
        big.seek(0)
        small.seek(0)
        assert big.read() == small.read()
    assert counts["enrollments"] > 2 and counts["users"] > 2 and counts["roles"] >= counts["users"]


def test_the_zip_is_whole_sorted_and_counts_match(world: Any) -> None:
    add_gradebook(world)
    with tempfile.TemporaryFile() as handle:
        counts = write_zip(world.district, world.a.school, handle)
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert names[0] == "manifest.csv" and names[1:] == sorted(names[1:])
            for name, n in counts.items():
                rows = list(csv.reader(io.StringIO(archive.read(f"{name}.csv").decode())))
                assert rows[0] == spec.HEADERS[name]
                assert len(rows) - 1 == n
                ids = [r[0] for r in rows[1:]]
                assert ids == sorted(set(ids)), name
    # School A only: its enrolments, no one of school B.
    assert counts["enrollments"] >= Enrollment.objects.filter(school=world.a.school).count()
    b_numbers = {s.student_number for s in world.b.students["g7c1"]}
    users = read_zip_files(export_zip(world.district, world.a.school))["users.csv"].decode()
    assert not any(f",{number}," in users for number in b_numbers)


def test_new_sourced_ids_are_saved_once_and_reused(world: Any) -> None:
    assert not SourcedId.objects.filter(kind="enrollment").exists()
    first = export_zip(world.district)
    saved = SourcedId.objects.filter(kind="enrollment").count()
    assert saved == Enrollment.objects.filter(district=world.district).count()
    assert export_zip(world.district) == first
    assert SourcedId.objects.filter(kind="enrollment").count() == saved
