"""Export a district (or one school) as a OneRoster 1.2 CSV bulk zip.

Rows are sorted by sourcedId in every file and status / dateLastModified are left blank (bulk mode),
so exporting twice — or exporting, importing elsewhere and exporting again — gives the same bytes.
New sourcedIds generated on the way are saved before the zip is returned.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.db import transaction

from schoolbridge.core.models import District, School
from schoolbridge.grades.models import Score

from . import mapping as m
from . import spec
from .records import Record, Records

# A fixed timestamp for the zip members, so identical content gives identical bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _rows(file: str, records: list[Record]) -> list[list[str]]:
    header = spec.HEADERS[file]
    unique: dict[str, Record] = {}
    for r in records:
        unique.setdefault(r["sourcedId"], r)
    return [[unique[sid].get(col, "") for col in header] for sid in sorted(unique)]


def build_files(district: District, school: School | None = None) -> dict[str, list[list[str]]]:
    rec = Records(district, school)
    files: dict[str, list[Record]] = {}
    files["orgs"] = [rec.org_district()] + [rec.org_school(s) for s in rec.schools()]
    files["academicSessions"] = [rec.session_year(y) for y in rec.years().order_by("pk")] + [
        rec.session_term(t) for t in rec.terms().select_related("year").order_by("pk")
    ]
    files["courses"] = [rec.course_grade(g) for g in rec.grades().order_by("pk")] + [
        rec.course_subject(s) for s in rec.subjects().order_by("pk")
    ]
    files["classes"] = list(rec.iter_classes(rec.classes().order_by("pk")))
    people = rec.people()
    files["users"] = [rec.user(e) for e in people.values()]
    files["roles"] = [r for e in people.values() for r in rec.roles(e)]
    files["demographics"] = [rec.demographic(e["person"]) for e in people.values()]
    files["enrollments"] = list(rec.iter_enrollments())
    items = list(rec.line_items())
    kinds = sorted({k for k in m.CATEGORY_TITLES})
    files["categories"] = [rec.category(k) for k in kinds]
    files["lineItems"] = [r for r, _ in items]
    exported = {key for _, key in items}
    person_of_student = dict(rec.students().values_list("pk", "person_id"))
    scores = Score.objects.filter(district=district)
    if school is not None:
        scores = scores.filter(school=school)
    files["results"] = [
        rec.result(sc, person_of_student[sc.student_id])
        for sc in scores.order_by("pk").iterator(chunk_size=5000)
        if (sc.assessment_subject_id, sc.klass_id) in exported and sc.student_id in person_of_student
    ]
    with transaction.atomic():
        rec.ids.save()
    return {name: _rows(name, records) for name, records in files.items()}


def export_zip(district: District, school: School | None = None) -> bytes:
    files = build_files(district, school)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write(archive, "manifest.csv", spec.manifest_bytes(set(files)))
        for name in sorted(files):
            _write(archive, f"{name}.csv", spec.write_csv(files[name], spec.HEADERS[name]))
    return out.getvalue()


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def read_zip_files(data: bytes) -> dict[str, bytes]:
    """The members of a zip as name → bytes (for comparing exports in tests)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())}


__all__: list[Any] = ["export_zip", "build_files", "read_zip_files"]
