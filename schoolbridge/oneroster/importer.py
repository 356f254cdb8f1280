"""Import a OneRoster 1.2 CSV bulk zip into one district.

Streaming: every file is read with the csv module straight from its zip member, row by row, and
written in batches of `BATCH` rows; only sourcedId → primary key maps (a few small entries per user,
student or class) are kept in memory, never a whole file. Memory therefore grows with the number of
users, not with the number of enrollments or results. Roles wait for their users in a compact index
(a 64-bit digest per user and shared (role, org, begin, end) tuples, dropped as the users are read);
roles.csv is read a second time for the roles' own sourcedIds.

All or nothing: the whole import is one database transaction (the "batch"). Every problem is a
located error (file, line, column, value); after each file, if there were errors, the transaction
rolls back and nothing from the batch is committed. One audit row is written per import batch, not
per record — the batch's counts are in it.

Re-import: each row's fingerprint is kept in SourcedId.row_hash; an unchanged row is skipped, so
re-importing a zip writes only what changed. When every file is byte for byte the one last imported
into the district (a digest per file), the rows are not even read; when enrollments.csv and every
file its rows depend on are unchanged, and the users' primary keys are the same, enrollments.csv is
not read (see enrollments_as_before), so a changed users.csv costs little more than reading users.csv.
Either way, rows that did not change in the files are not re-applied, even if the database was edited
since (the files win only where they changed); an enrollment whose student or row was re-created since
is written again.

Big tables (people, enrollments, sourcedIds) are written with plain executemany (fastsql.Inserter),
the rest through the ORM.

See mapping.py for what each OneRoster entity becomes.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import hashlib
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolbridge.audit.log import record
from schoolbridge.core.models import (
    Class,
    District,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)
from schoolbridge.grades.models import Assessment, AssessmentSubject, Score

from . import mapping as m
from . import spec
from .fastsql import Inserter, in_list, select
from .models import SourcedId
from .spec import Collector, OneRosterFileError

BATCH = 5000
ANALYZE_AFTER = 20_000  # rows written to a table after which its planner statistics are refreshed
PERSON_COLUMNS = ["family_name", "given_name", "email", "phone", "gender", "birth_date"]

Row = dict[str, str]


def digest_int(values: list[str]) -> int:
    """A 64-bit fingerprint of a row's raw values, as an int (compact to keep per user)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(values).encode(), digest_size=8).digest(), "little")


def mix(a: int, b: int) -> int:
    """Two fingerprints in one, order counting (a user's role rows in file order)."""
    return (a * 0x100000001B3 ^ b) & 0xFFFFFFFFFFFFFFFF


def fingerprint(*parts: list[str] | tuple[str, ...] | None) -> str:
    if len(parts) == 1 and parts[0]:  # one row: one call (the same digest as below)
        return hashlib.blake2b(("\x1f".join(parts[0]) + "\x1e").encode(), digest_size=8).hexdigest()
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        if part:
            h.update("\x1f".join(part).encode())
        h.update(b"\x1e")
    return h.hexdigest()


@dataclass
class Report:
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per step, for benchmarks and logs

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "warnings": self.warnings[:50],
        }


@contextlib.contextmanager
def bulk_settings() -> Iterator[None]:
    """The cyclic garbage collector runs a hundred times less often for the length of an import: it
    allocates millions of short-lived row objects and keeps large maps, and with the default threshold
    (a pass every 700 allocations) the passes cost about a tenth of an import's time. The import makes
    no reference cycles. (A bigger SQLite page cache was tried: no faster, and more memory.)"""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 70_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _chunks(it: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in it:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Importer:
    def __init__(
        self, district: District | None, actor: Any = None, batch: int = BATCH, trust_digests: bool = True
    ) -> None:
        self.trust_digests = trust_digests
        # None: the district is created (or found by its code) from the zip's district org.
        self.district: District = district  # type: ignore[assignment]
        self.actor = actor
        self.batch = batch
        self.errors = Collector()
        self.sql = Inserter()
        self.report = Report()
        self.files: set[str] = set()
        # sourcedId → our keys, filled as files are read.
        self.schools: dict[str, int] = {}  # org sid → School pk
        self.district_sids: set[str] = set()
        self.years: dict[str, dict[int, int]] = {}  # sid → school → SchoolYear pk
        self.terms: dict[str, dict[int, int]] = {}  # sid → school → Term pk
        self.grades: dict[str, dict[int, int]] = {}  # course sid → school → GradeLevel pk
        self.subjects: dict[str, dict[int, int]] = {}  # course sid → school → Subject pk
        self.homerooms: dict[str, tuple[int, int]] = {}  # class sid → (Class pk, school pk)
        self.sections: dict[str, tuple[int, int, int]] = {}  # class sid → (subject, term, school)
        self.section_home: dict[str, int] = {}  # class sid → homeroom Class pk
        self.people: dict[str, int] = {}  # user sid → Person pk
        self.student_of: dict[int, tuple[int, int]] = {}  # person → (Student pk, school)
        self.staff_of: dict[tuple[int, int], int] = {}  # (person, school) → Staff pk
        self.guardian_of: dict[int, int] = {}  # person → Guardian pk
        self.relationship: dict[int, str] = {}  # guardian's person → Guardianship.relationship
        self.homeroom_of: dict[int, int] = {}  # Student pk → open homeroom Class pk
        self.changed_users: set[str] = set()  # new and changed users (not kept on a first import: all are)
        self.present: dict[str, bool] = {}  # kind → had sourcedIds in the district when the import began
        self.categories: dict[str, str] = {}
        self.line_items: dict[str, tuple[int, int]] = {}  # sid → (AssessmentSubject, Class)
        self.same_files: set[str] = set()  # files byte for byte those of the last import
        self.skip_enrollments = False

    # ------------------------------------------------------------------ reading

    def rows(
        self, file: str, keep: Callable[[list[str]], bool] | None = None
    ) -> Iterator[tuple[int, Row, list[str]]]:
        """Clean, active rows of a bulk file: (line, row as dict, raw values). `keep` picks rows by their
        raw values before they are checked (a pass that handles some rows leaves the others unchecked)."""
        if file not in self.files:
            return
        header = spec.HEADERS[file]
        for line, values in spec.iter_rows(self.archive, file, self.errors):
            if keep is not None and not keep(values):
                continue
            row = dict(zip(header, values, strict=True))
            if not spec.check_row(file, line, row, self.errors):
                continue
            if row["status"] == "tobedeleted":
                continue
            yield line, row, values

    def dangling(self, file: str, line: int, column: str, value: str, what: str) -> None:
        self.errors.add(file, line, column, value, f"refers to no {what} in this zip (dangling sourcedId)")

    def existing(self, kind: str, sids: list[str]) -> dict[str, tuple[str, str]]:
        """sid → (key, row_hash) of the sids already stored for this kind (one query)."""
        out: dict[str, tuple[str, str]] = {}
        if kind not in self.present:  # a first import into the district: nothing to look up, ever
            self.present[kind] = SourcedId.objects.filter(district=self.district, kind=kind).exists()
        if not self.present[kind]:
            return out
        table = SourcedId._meta.db_table
        for i in range(0, len(sids), 2000):
            part = sids[i : i + 2000]
            among, params = in_list(part)
            for sid, key, h in select(
                f'SELECT "sourced_id", "key", "row_hash" FROM "{table}" '
                f'WHERE "district_id" = %s AND "kind" = %s AND "sourced_id" {among}',
                [self.district.pk, kind, *params],
            ):
                out[sid] = (key, h)
        return out

    def all_existing(self, kind: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for sid, key in SourcedId.objects.filter(district=self.district, kind=kind).values_list(
            "sourced_id", "key"
        ):
            out[sid].append(key)
        return out

    def remember(self, kind: str, pairs: list[tuple[str, str, str]], unique: bool = False) -> None:
        """Store (key, sid, hash) rows: insert new keys, update the hash of known ones. `unique`: the
        caller never gives a key twice in one import, so when the district had no sourcedId of this kind
        at the start (a first import) the rows are plainly inserted (on PostgreSQL: COPY, no upsert)."""
        if not pairs:
            return
        district = self.district.pk
        rows = [(district, kind, k, s, h) for k, s, h in pairs]
        columns = ["district_id", "kind", "key", "sourced_id", "row_hash"]
        if unique and self.present.get(kind) is False:
            self.sql.insert(SourcedId, columns, rows)
            return
        self.sql.insert(
            SourcedId,
            columns,
            rows,
            'ON CONFLICT ("district_id", "kind", "key") DO UPDATE SET "sourced_id" = excluded."sourced_id", '
            '"row_hash" = excluded."row_hash"',
        )

    # ------------------------------------------------------------------ entry point

    def run(self, source: bytes | str | Path | IO[bytes]) -> Report:
        if isinstance(source, bytes):
            import io

            source = io.BytesIO(source)
        try:
            archive = zipfile.ZipFile(source)
        except zipfile.BadZipFile:
            raise OneRosterFileError(
                [spec.CsvError("manifest", 0, "", "", "the upload is not a zip file")]
            ) from None
        with archive:
            self.archive = archive
            props = spec.read_manifest(archive, self.errors)
            self.files = spec.bulk_files(props) & set(spec.HEADERS)
            try:
                with bulk_settings(), transaction.atomic():
                    self._run()
                    self.errors.raise_if_any()
                    started = time.perf_counter()
                    if self.sql.analyze(ANALYZE_AFTER):
                        self.report.seconds["analyze"] = round(time.perf_counter() - started, 3)
                    record(self.actor, "oneroster.import", self.district, after=self.report.as_dict())
            except IntegrityError as exc:
                raise OneRosterFileError(
                    [
                        spec.CsvError(
                            "manifest", 0, "", "", f"the files conflict with data already stored: {exc}"
                        )
                    ]
                ) from None
        return self.report

    def digests(self) -> dict[str, str]:
        """A fingerprint of every bulk member's bytes (and of the manifest)."""
        out = {}
        for name in sorted(self.files) + ["manifest"]:
            h = hashlib.blake2b(digest_size=8)
            with self.archive.open(f"{name}.csv") as member:
                for block in iter(lambda: member.read(1 << 20), b""):  # noqa: B023
                    h.update(block)
            out[name] = h.hexdigest()
        return out

    def last_digests(self) -> dict[str, str]:
        """The file digests of this district's last import (empty before the first one)."""
        return dict(
            SourcedId.objects.filter(district=self.district, kind=m.KIND_FILE).values_list("key", "row_hash")
        )

    def _run(self) -> None:
        digests = self.digests()
        self.orgs()
        self.errors.raise_if_any()
        last = self.last_digests()
        if self.trust_digests and last == digests:
            # Exactly the files of the last import, byte for byte: rows that have not changed are not
            # re-applied anyway (row fingerprints); this skips reading them at all.
            self.report.unchanged["file"] = len(digests)
            return
        if self.trust_digests:
            self.same_files = {name for name, h in digests.items() if last.get(name) == h}
        SourcedId.objects.filter(district=self.district, kind=m.KIND_FILE).delete()
        steps = [
            self.structure,
            self.users,
            self.agents,
            self.homeroom_enrollments,
            self.scheduled_enrollments,
            self.categories_,
            self.line_items_,
            self.results,
        ]
        for step in steps:
            started = time.perf_counter()
            step()
            self.report.seconds[step.__name__.strip("_")] = round(time.perf_counter() - started, 3)
            self.errors.raise_if_any()
        self.remember(m.KIND_FILE, [(name, name, h) for name, h in digests.items()])

    def enrollments_as_before(self) -> bool:
        """Whether enrollments.csv can be skipped: it and every file its rows are checked against (orgs,
        sessions, courses, classes, roles) are byte for byte those of the last import, and this import
        has created no record so far, so every sourcedId still means the same primary key. users.csv may
        have changed, but not who is a student or teacher where (roles.csv), and no user the last import
        knew can be missing (its roles would have been refused as dangling). Every enrollment row would
        be unchanged. Not when line items come too: they need each scheduled class's homeroom, which
        the enrollment pass finds."""
        if "enrollments" not in self.files or "lineItems" in self.files:
            return False
        inputs = {"orgs", "academicSessions", "courses", "classes", "roles", "enrollments"} & self.files
        if not inputs <= self.same_files:
            return False
        return not any(self.report.created.values())

    # ------------------------------------------------------------------ orgs

    def orgs(self) -> None:
        rows = list(self.rows("orgs"))
        if self.district is None:
            found = [row for _, row, _ in rows if row["type"] == "district"]
            if len(found) != 1:
                self.errors.add(
                    "orgs", 1, "type", "", "exactly one district org is needed to import into a new district"
                )
                self.errors.raise_if_any()
            code = (found[0]["identifier"] or found[0]["sourcedId"])[:40]
            self.district, made = District.objects.get_or_create(
                code=code, defaults={"name": found[0]["name"][:200]}
            )
            self.report.created["district"] += int(made)
        known = self.all_existing(m.KIND_SCHOOL)
        by_code = {s.code: s for s in School.objects.filter(district=self.district)}
        for _line, row, _ in rows:
            if row["type"] == "district":
                self.district_sids.add(row["sourcedId"])
                self.remember(m.KIND_DISTRICT, [(str(self.district.pk), row["sourcedId"], "")])
        if len(self.district_sids) > 1:
            self.errors.add(
                "orgs",
                rows[0][0],
                "type",
                "district",
                "more than one district org: import one district at a time",
            )
        for line, row, _values in rows:
            if row["type"] != "school":
                if row["type"] != "district":
                    self.report.warnings.append(f"orgs.csv line {line}: org type {row['type']} is not stored")
                continue
            parent = row["parentSourcedId"]
            if parent and parent not in self.district_sids:
                self.dangling("orgs", line, "parentSourcedId", parent, "district org")
                continue
            code = (row["identifier"] or row["sourcedId"])[:40]
            pk = int(known[row["sourcedId"]][0]) if row["sourcedId"] in known else None
            school = School.objects.filter(pk=pk).first() if pk else by_code.get(code)
            if school is None:
                school = School.objects.create(district=self.district, name=row["name"][:200], code=code)
                self.report.created["school"] += 1
            elif (school.name, school.code) != (row["name"][:200], code):
                school.name, school.code = row["name"][:200], code
                school.save(update_fields=["name", "code"])
                self.report.updated["school"] += 1
            self.schools[row["sourcedId"]] = school.pk
            self.remember(m.KIND_SCHOOL, [(str(school.pk), row["sourcedId"], "")])

    def org(self, file: str, line: int, column: str, sid: str) -> int | None:
        if sid in self.schools:
            return self.schools[sid]
        if sid in self.district_sids:
            return None
        self.dangling(file, line, column, sid, "org")
        return None

    # ------------------------------------------------------------------ sessions, courses, classes

    def structure(self) -> None:
        sessions = {row["sourcedId"]: (line, row) for line, row, _ in self.rows("academicSessions")}
        courses = {row["sourcedId"]: (line, row) for line, row, _ in self.rows("courses")}
        classes = [(line, row) for line, row, _ in self.rows("classes")]
        self.errors.raise_if_any()
        only_school = next(iter(self.schools.values())) if len(self.schools) == 1 else None

        # Which schools use each session and course, and as what.
        session_schools: dict[str, set[int]] = defaultdict(set)
        course_use: dict[str, set[str]] = defaultdict(set)
        course_schools: dict[str, set[int]] = defaultdict(set)
        for line, row in classes:
            school = self.org("classes", line, "schoolSourcedId", row["schoolSourcedId"])
            if school is None:
                if row["schoolSourcedId"] in self.district_sids:
                    self.errors.add(
                        "classes",
                        line,
                        "schoolSourcedId",
                        row["schoolSourcedId"],
                        "a class belongs to a school, not to the district",
                    )
                continue
            if row["courseSourcedId"] not in courses:
                self.dangling("classes", line, "courseSourcedId", row["courseSourcedId"], "course")
            course_use[row["courseSourcedId"]].add(row["classType"])
            course_schools[row["courseSourcedId"]].add(school)
            for term in spec.split_list(row["termSourcedIds"]):
                if term not in sessions:
                    self.dangling("classes", line, "termSourcedIds", term, "academic session")
                    continue
                session_schools[term].add(school)
        for sid, (line, row) in courses.items():
            school = self.org("courses", line, "orgSourcedId", row["orgSourcedId"])
            if school is not None:
                course_schools[sid].add(school)
            year = row["schoolYearSourcedId"]
            if year and year not in sessions:
                self.dangling("courses", line, "schoolYearSourcedId", year, "academic session")
            elif year:
                session_schools[year] |= course_schools[sid]
            if course_use[sid] == {"homeroom", "scheduled"}:
                self.errors.add(
                    "courses",
                    line,
                    "sourcedId",
                    sid,
                    "is used by homeroom and scheduled classes; a course is either a grade (homeroom) or a subject",
                )
        for sid, (line, row) in sessions.items():
            parent = row["parentSourcedId"]
            if parent and parent not in sessions:
                self.dangling("academicSessions", line, "parentSourcedId", parent, "academic session")
            elif parent:
                session_schools[parent] |= session_schools[sid]
            if row["startDate"] and row["endDate"] and row["endDate"] <= row["startDate"]:
                self.errors.add(
                    "academicSessions", line, "endDate", row["endDate"], "must be after startDate"
                )
        self.errors.raise_if_any()

        # School years first, then terms (a term or semester needs its school year).
        known_years = self.all_existing(m.KIND_YEAR)
        for sid, (line, row) in sessions.items():
            if row["type"] != "schoolYear":
                continue
            schools = session_schools[sid] or ({only_school} if only_school else set())
            if not schools:
                self.report.warnings.append(
                    f"academicSessions.csv line {line}: school year {sid} is used by no school; skipped"
                )
            self.years[sid] = {}
            for school in sorted(schools):
                year_obj = self._year(school, row, known_years.get(sid, []))
                self.years[sid][school] = year_obj.pk
                self.remember(m.KIND_YEAR, [(str(year_obj.pk), sid, "")])
        known_terms = self.all_existing(m.KIND_TERM)
        for sid, (line, row) in sessions.items():
            if row["type"] in ("schoolYear", "gradingPeriod"):
                continue
            parent = row["parentSourcedId"]
            if not parent or parent not in self.years:
                self.errors.add(
                    "academicSessions",
                    line,
                    "parentSourcedId",
                    parent,
                    f"a {row['type']} needs a parent schoolYear session",
                )
                continue
            self.terms[sid] = {}
            schools = session_schools[sid] or set(self.years[parent])
            for school in sorted(schools):
                year_pk = self.years[parent].get(school)
                if year_pk is None:
                    continue
                term_obj = self._term(school, year_pk, row, known_terms.get(sid, []))
                self.terms[sid][school] = term_obj.pk
                self.remember(m.KIND_TERM, [(str(term_obj.pk), sid, "")])
        self.errors.raise_if_any()

        known_grades = self.all_existing(m.KIND_GRADE)
        known_subjects = self.all_existing(m.KIND_SUBJECT)
        for n, (sid, (line, row)) in enumerate(courses.items()):
            schools = course_schools[sid] or ({only_school} if only_school else set())
            if "homeroom" in course_use[sid]:
                self.grades[sid] = {}
                for school in sorted(schools):
                    grade = self._grade(school, row, known_grades.get(sid, []), n)
                    self.grades[sid][school] = grade.pk
                    self.remember(m.KIND_GRADE, [(str(grade.pk), sid, "")])
            else:
                self.subjects[sid] = {}
                for school in sorted(schools):
                    subject = self._subject(school, row, known_subjects.get(sid, []))
                    if subject is None:
                        self.errors.add(
                            "courses",
                            line,
                            "courseCode",
                            row["courseCode"],
                            "another course of this school has the same code",
                        )
                        continue
                    self.subjects[sid][school] = subject.pk
                    self.remember(m.KIND_SUBJECT, [(str(subject.pk), sid, "")])
        self.errors.raise_if_any()

        known_classes = self.all_existing(m.KIND_CLASS)
        term_pks = {pk for schools in self.terms.values() for pk in schools.values()}
        year_of_term = dict(Term.objects.filter(pk__in=term_pks).values_list("pk", "year_id"))
        for line, row in classes:
            sid = row["sourcedId"]
            school = self.schools[row["schoolSourcedId"]]
            terms = spec.split_list(row["termSourcedIds"])
            term_sid = terms[0]
            if term_sid in self.years:
                year_pk = self.years[term_sid].get(school)
                term_pk = None
            elif term_sid in self.terms and school in self.terms[term_sid]:
                term_pk = self.terms[term_sid][school]
                year_pk = year_of_term.get(term_pk)
            else:
                self.errors.add(
                    "classes",
                    line,
                    "termSourcedIds",
                    term_sid,
                    "is not a term or school year of this class's school",
                )
                continue
            if row["classType"] == "homeroom":
                grade_pk = self.grades.get(row["courseSourcedId"], {}).get(school)
                if grade_pk is None or year_pk is None:
                    self.errors.add(
                        "classes",
                        line,
                        "courseSourcedId",
                        row["courseSourcedId"],
                        "no grade course for this school",
                    )
                    continue
                klass = self._class(school, year_pk, grade_pk, row, known_classes.get(sid, []))
                self.homerooms[sid] = (klass.pk, school)
                self.remember(m.KIND_CLASS, [(str(klass.pk), sid, "")])
            else:
                subject_pk = self.subjects.get(row["courseSourcedId"], {}).get(school)
                if subject_pk is None or term_pk is None:
                    self.errors.add(
                        "classes",
                        line,
                        "termSourcedIds",
                        term_sid,
                        "a scheduled class needs a subject course and a term of its school",
                    )
                    continue
                self.sections[sid] = (subject_pk, term_pk, school)

    def _year(self, school: int, row: Row, keys: list[str]) -> SchoolYear:
        start, end = spec.parse_date(row["startDate"]), spec.parse_date(row["endDate"])
        year = SchoolYear.objects.filter(pk__in=[int(k) for k in keys], school_id=school).first()
        year = year or SchoolYear.objects.filter(school_id=school, name=row["title"][:60]).first()
        if year is None:
            self.report.created["schoolYear"] += 1
            return SchoolYear.objects.create(
                district=self.district,
                school_id=school,
                name=row["title"][:60],
                start_date=start,
                end_date=end,
            )
        if (year.name, year.start_date, year.end_date) != (row["title"][:60], start, end):
            year.name, year.start_date, year.end_date = row["title"][:60], start, end
            year.save()
            self.report.updated["schoolYear"] += 1
        return year

    def _term(self, school: int, year_pk: int, row: Row, keys: list[str]) -> Term:
        start, end = spec.parse_date(row["startDate"]), spec.parse_date(row["endDate"])
        term = Term.objects.filter(pk__in=[int(k) for k in keys], school_id=school).first()
        term = term or Term.objects.filter(year_id=year_pk, name=row["title"][:60]).first()
        if term is None:
            self.report.created["term"] += 1
            return Term.objects.create(
                district=self.district,
                school_id=school,
                year_id=year_pk,
                name=row["title"][:60],
                start_date=start,
                end_date=end,
            )
        if (term.name, term.start_date, term.end_date, term.year_id) != (
            row["title"][:60],
            start,
            end,
            year_pk,
        ):
            term.name, term.start_date, term.end_date, term.year_id = row["title"][:60], start, end, year_pk
            term.save()
            self.report.updated["term"] += 1
        return term

    def _grade(self, school: int, row: Row, keys: list[str], n: int) -> GradeLevel:
        codes = spec.split_list(row["grades"])
        order = m.grade_order(codes[0], 100 + n) if codes else 100 + n
        grade = GradeLevel.objects.filter(pk__in=[int(k) for k in keys], school_id=school).first()
        grade = grade or GradeLevel.objects.filter(school_id=school, name=row["title"][:60]).first()
        if grade is None:
            self.report.created["gradeLevel"] += 1
            return GradeLevel.objects.create(
                district=self.district, school_id=school, name=row["title"][:60], order=order
            )
        if (grade.name, grade.order) != (row["title"][:60], order):
            grade.name, grade.order = row["title"][:60], order
            grade.save()
            self.report.updated["gradeLevel"] += 1
        return grade

    def _subject(self, school: int, row: Row, keys: list[str]) -> Subject | None:
        code = (row["courseCode"] or row["sourcedId"])[:20]
        subject = Subject.objects.filter(pk__in=[int(k) for k in keys], school_id=school).first()
        subject = subject or Subject.objects.filter(school_id=school, code=code).first()
        if subject is None:
            self.report.created["subject"] += 1
            return Subject.objects.create(
                district=self.district, school_id=school, name=row["title"][:80], code=code
            )
        if (subject.name, subject.code) != (row["title"][:80], code):
            if Subject.objects.filter(school_id=school, code=code).exclude(pk=subject.pk).exists():
                return None
            subject.name, subject.code = row["title"][:80], code
            subject.save()
            self.report.updated["subject"] += 1
        return subject

    def _class(self, school: int, year: int, grade: int, row: Row, keys: list[str]) -> Class:
        name = row["title"][:60]
        klass = Class.objects.filter(pk__in=[int(k) for k in keys], school_id=school).first()
        klass = klass or Class.objects.filter(year_id=year, name=name).first()
        if klass is None:
            self.report.created["class"] += 1
            return Class.objects.create(
                district=self.district, school_id=school, year_id=year, grade_id=grade, name=name
            )
        if (klass.name, klass.year_id, klass.grade_id) != (name, year, grade):
            klass.name, klass.year_id, klass.grade_id = name, year, grade
            klass.save()
            self.report.updated["class"] += 1
        return klass

    # ------------------------------------------------------------------ users

    def users(self) -> None:
        """People, students, staff and guardians from users.csv, with their roles and demographics.

        roles.csv is read twice so that nothing of it waits whole in memory: first into a compact index
        (per user: one 64-bit digest of their role rows and shared (role, org, begin, end) tuples), then,
        once the users are written, again to record the roles' sourcedIds and locate roles of unknown
        users. Index entries are dropped as their users are read."""
        if "users" not in self.files:
            return
        shared: dict[Any, Any] = {}  # one object for each distinct role tuple, sex and birth date
        roles: dict[str, tuple[Any, ...]] = {}  # user sid → (digest, (role, org, begin, end), …)
        for line, row, values in self.rows("roles"):
            org = row["orgSourcedId"]
            if org not in self.schools and org not in self.district_sids:
                self.dangling("roles", line, "orgSourcedId", org, "org")
                continue
            if row["role"] == "student" and org not in self.schools:
                self.errors.add("roles", line, "orgSourcedId", org, "a student's role belongs to a school")
                continue
            entry = (row["role"], org, row["beginDate"], row["endDate"])
            entry = shared.setdefault(entry, entry)
            user = row["userSourcedId"]
            before = roles.get(user)
            if before is None:
                roles[user] = (digest_int(values), entry)
            else:
                roles[user] = (mix(before[0], digest_int(values)), *before[1:], entry)
        demographics: dict[str, tuple[int, str, str]] = {}  # sid → (digest, sex, birth date)
        for _line, row, values in self.rows("demographics"):
            sex, birth = row["sex"], row["birthDate"]
            demographics[row["sourcedId"]] = (
                digest_int(values),
                shared.setdefault(sex, sex),
                shared.setdefault(birth, birth),
            )
        self.errors.raise_if_any()
        seen_numbers: dict[str, int] = {}
        for chunk in _chunks(self.rows("users"), self.batch):
            self._users_batch(chunk, roles, demographics, seen_numbers)
        self.errors.raise_if_any()  # a failed batch wrote no people: every role would look dangling
        del roles, demographics, shared
        self._role_ids()

    def _role_ids(self) -> None:
        """Second pass over roles.csv: the sourcedIds of the roles of new and changed users, and a located
        error for each role whose user is not in users.csv. Rows were checked by the first pass."""
        header = spec.HEADERS["roles"]
        at_sid, at_user, at_role, at_org, at_status = (
            header.index(c) for c in ("sourcedId", "userSourcedId", "role", "orgSourcedId", "status")
        )
        pairs: list[tuple[str, str, str]] = []
        for line, values in spec.iter_rows(self.archive, "roles", self.errors):
            if values[at_status] == "tobedeleted":
                continue
            user = values[at_user]
            person_id = self.people.get(user)
            if person_id is None:
                self.dangling("roles", line, "userSourcedId", user, "user")
                continue
            if not self.user_changed(user):
                continue
            role, school = values[at_role], self.schools.get(values[at_org])
            if role == "student" and person_id in self.student_of:
                pairs.append((f"student:{self.student_of[person_id][0]}", values[at_sid], ""))
            elif school is not None and (person_id, school) in self.staff_of and role not in m.GUARDIAN_ROLES:
                pairs.append((f"staff:{self.staff_of[(person_id, school)]}", values[at_sid], ""))
            elif role in m.GUARDIAN_ROLES and person_id in self.guardian_of:
                pairs.append((f"guardian:{self.guardian_of[person_id]}", values[at_sid], ""))
            if len(pairs) >= self.batch and not self.errors:
                self.remember(m.KIND_ROLE, pairs)
                pairs = []
        if not self.errors:
            self.remember(m.KIND_ROLE, pairs)

    def _users_batch(
        self,
        chunk: list[tuple[int, Row, list[str]]],
        roles: dict[str, tuple[Any, ...]],
        demographics: dict[str, tuple[int, str, str]],
        seen_numbers: dict[str, int],
    ) -> None:
        district_id = self.district.pk
        sids = [row["sourcedId"] for _, row, _ in chunk]
        known = self.existing(m.KIND_PERSON, sids)
        hashes: dict[str, str] = {}
        new_people: list[tuple[str, tuple[Any, ...]]] = []
        changed_people: list[tuple[Any, ...]] = []
        # (row, Person pk if unchanged, its roles, gender)
        todo: list[tuple[Row, int | None, tuple[Any, ...], str]] = []
        existing_people = self._existing_pks(Person, [int(k) for k, _ in known.values()])
        for line, row, values in chunk:
            sid = row["sourcedId"]
            if sid in self.people or sid in hashes:
                self.errors.add("users", line, "sourcedId", sid, "appears twice in users.csv")
                continue
            demo = demographics.pop(sid, None)
            user_roles = roles.pop(sid, None)
            h = fingerprint(
                values,
                [format(user_roles[0], "x")] if user_roles else None,
                [format(demo[0], "x")] if demo else None,
            )
            hashes[sid] = h
            if not user_roles:
                self.errors.add("users", line, "sourcedId", sid, "has no role in roles.csv")
                continue
            gender = m.GENDER_OF_SEX.get(demo[1], "X") if demo else "X"
            birth = spec.parse_date(demo[2]) if demo and demo[2] else None
            fields = (
                row["familyName"][:60],
                row["givenName"][:60],
                row["email"][:254],
                (row["phone"] or row["sms"])[:20],
                gender,
                birth,
            )
            for r in user_roles[1:]:
                if r[0] == "student" and not row["identifier"]:
                    self.errors.add(
                        "users", line, "identifier", "", "a student needs an identifier (the student number)"
                    )
                if r[0] == "student":
                    first = seen_numbers.setdefault(row["identifier"], line)
                    if first != line:
                        self.errors.add(
                            "users",
                            line,
                            "identifier",
                            row["identifier"],
                            f"student number already used on line {first}",
                        )
            if sid in known and int(known[sid][0]) not in existing_people:
                known.pop(sid)
            if sid in known:
                pk = int(known[sid][0])
                self.people[sid] = pk
                if known[sid][1] == h:
                    self.report.unchanged["user"] += 1
                    todo.append((row, pk, user_roles, gender))
                    continue
                changed_people.append((*fields, pk))
            else:
                new_people.append((sid, fields))
            if not self.first_users:
                self.changed_users.add(sid)
            todo.append((row, None, user_roles, gender))
        if self.errors:
            return
        if new_people:
            ids = self.sql.ids(Person, len(new_people))
            self.sql.insert(
                Person,
                ["id", "district_id", *PERSON_COLUMNS],
                [(pk, district_id, *f) for pk, (_sid, f) in zip(ids, new_people, strict=True)],
            )
            for pk, (sid, _f) in zip(ids, new_people, strict=True):
                self.people[sid] = pk
            self.report.created["user"] += len(new_people)
        if changed_people:
            self.sql.update(Person, PERSON_COLUMNS, changed_people)
            self.report.updated["user"] += len(changed_people)
        # Students, staff and guardians can exist only for people that existed before this import.
        known_ids = [
            pk for pk in (self.people[row["sourcedId"]] for row, *_ in todo) if pk in existing_people
        ]
        if known_ids:
            among, params = in_list(known_ids)
            for pk, person_id, school in select(
                f'SELECT "id", "person_id", "school_id" FROM "{Student._meta.db_table}" WHERE "person_id" {among}',
                params,
            ):
                self.student_of[person_id] = (pk, school)
            for pk, person_id, school in select(
                f'SELECT "id", "person_id", "school_id" FROM "{Staff._meta.db_table}" WHERE "person_id" {among}',
                params,
            ):
                self.staff_of[(person_id, school)] = pk
            for pk, person_id in select(
                f'SELECT "id", "person_id" FROM "{Guardian._meta.db_table}" WHERE "person_id" {among}', params
            ):
                self.guardian_of[person_id] = pk

        new_students: list[tuple[Any, ...]] = []  # (school, person, number, status, begin, end)
        new_staff: list[tuple[Any, ...]] = []  # (school, person, number, active)
        new_guardians: list[int] = []  # person
        changed_students: list[tuple[Any, ...]] = []
        for row, unchanged, user_roles, gender in todo:
            sid = row["sourcedId"]
            person_id = self.people[sid]
            enabled = row["enabledUser"] == "true"
            for role, org, begin_s, end_s in user_roles[1:]:
                if role == "student":
                    school = self.schools[org]
                    begin = spec.parse_date(begin_s) if begin_s else None
                    end = spec.parse_date(end_s) if end_s else None
                    status = Student.Status.ENROLLED if enabled else Student.Status.WITHDRAWN
                    current = self.student_of.get(person_id)
                    if current is None:
                        self.student_of[person_id] = (-1, school)
                        new_students.append((school, person_id, row["identifier"][:40], status, begin, end))
                    elif unchanged is None:
                        changed_students.append(
                            (school, row["identifier"][:40], status, begin, end, current[0])
                        )
                elif role in m.STAFF_ROLES or role.startswith("ext:"):
                    if org not in self.schools:
                        self.report.warnings.append(
                            f"roles.csv: a district-level staff role of user {sid} is not stored"
                        )
                        continue
                    school = self.schools[org]
                    if (person_id, school) not in self.staff_of:
                        self.staff_of[(person_id, school)] = -1
                        new_staff.append((school, person_id, (row["identifier"] or sid)[:40], enabled))
                elif role in m.GUARDIAN_ROLES:
                    if person_id not in self.guardian_of:
                        self.guardian_of[person_id] = -1
                        new_guardians.append(person_id)
                    self.relationship[person_id] = m.relationship_of(role, gender)
        if new_students:
            ids = self.sql.ids(Student, len(new_students))
            self.sql.insert(
                Student,
                [
                    "id",
                    "district_id",
                    "school_id",
                    "person_id",
                    "student_number",
                    "status",
                    "enrolled_on",
                    "left_on",
                    "national_student_id",
                    "national_id",
                    "health_notes",
                ],
                [(pk, district_id, *st, "", "", "") for pk, st in zip(ids, new_students, strict=True)],
            )
            for pk, st in zip(ids, new_students, strict=True):
                self.student_of[st[1]] = (pk, st[0])
            self.report.created["student"] += len(new_students)
        if changed_students:
            self.sql.update(
                Student, ["school_id", "student_number", "status", "enrolled_on", "left_on"], changed_students
            )
        if new_staff:
            ids = self.sql.ids(Staff, len(new_staff))
            self.sql.insert(
                Staff,
                ["id", "district_id", "school_id", "person_id", "staff_number", "active", "title"],
                [(pk, district_id, *sf, "") for pk, sf in zip(ids, new_staff, strict=True)],
            )
            for pk, sf in zip(ids, new_staff, strict=True):
                self.staff_of[(sf[1], sf[0])] = pk
            self.report.created["staff"] += len(new_staff)
        if new_guardians:
            ids = self.sql.ids(Guardian, len(new_guardians))
            self.sql.insert(
                Guardian,
                ["id", "district_id", "person_id"],
                [(pk, district_id, person) for pk, person in zip(ids, new_guardians, strict=True)],
            )
            for pk, person in zip(ids, new_guardians, strict=True):
                self.guardian_of[person] = pk
            self.report.created["guardian"] += len(new_guardians)
        self.remember(
            m.KIND_PERSON,
            [
                (str(self.people[row["sourcedId"]]), row["sourcedId"], hashes[row["sourcedId"]])
                for row, u, _, _ in todo
                if u is None
            ],
            unique=True,
        )

    @property
    def first_users(self) -> bool:
        """Whether the district had no users before this import (then every user is new)."""
        return self.present.get(m.KIND_PERSON) is False

    def user_changed(self, sid: str) -> bool:
        """Whether this import writes the user (a user of the zip: new or changed)."""
        return self.first_users or sid in self.changed_users

    def _existing_pks(self, model: type[Any], pks: list[int]) -> set[int]:
        """Which of these primary keys still exist (one query per 2000; none when there are none)."""
        out: set[int] = set()
        for i in range(0, len(pks), 2000):
            among, params = in_list(pks[i : i + 2000])
            out.update(
                pk
                for (pk,) in select(f'SELECT "id" FROM "{model._meta.db_table}" WHERE "id" {among}', params)
            )
        return out

    def agents(self) -> None:
        """Guardianships from agentSourcedIds (either side may list the other)."""
        if not self.first_users and not self.changed_users:
            return
        before = Guardianship.objects.filter(district=self.district).count()
        header = spec.HEADERS["users"]
        at_sid, at_agents = header.index("sourcedId"), header.index("agentSourcedIds")
        # Only rows of changed users with agents are checked and turned into dicts (the users pass has
        # checked every row already).
        rows = self.rows("users", lambda v: bool(v[at_agents]) and self.user_changed(v[at_sid]))
        for chunk in _chunks(rows, self.batch):
            pairs: list[tuple[int, int, int]] = []  # (line, student person, guardian person)
            for line, row, _ in chunk:
                me = self.people[row["sourcedId"]]
                for agent in spec.split_list(row["agentSourcedIds"]):
                    other = self.people.get(agent)
                    if other is None:
                        self.dangling("users", line, "agentSourcedIds", agent, "user")
                    elif me in self.student_of and other in self.guardian_of:
                        pairs.append((line, me, other))
                    elif me in self.guardian_of and other in self.student_of:
                        pairs.append((line, other, me))
                    else:
                        self.errors.add(
                            "users",
                            line,
                            "agentSourcedIds",
                            agent,
                            "an agent links a student with a parent, guardian or relative",
                        )
            if not pairs or self.errors:
                continue
            district_id = self.district.pk
            links = [
                (
                    district_id,
                    self.student_of[s][1],
                    self.student_of[s][0],
                    self.guardian_of[g],
                    self.relationship.get(g) or m.relationship_of("guardian", "X"),
                    False,
                    True,
                    True,
                    True,
                )
                for _, s, g in pairs
            ]
            self.sql.insert(
                Guardianship,
                [
                    "district_id",
                    "school_id",
                    "student_id",
                    "guardian_id",
                    "relationship",
                    "is_primary",
                    "may_pickup",
                    "may_see_records",
                    "receives_notices",
                ],
                links,
                "ON CONFLICT DO NOTHING",
            )
        after = Guardianship.objects.filter(district=self.district).count()
        self.report.created["guardianship"] += after - before

    # ------------------------------------------------------------------ enrollments

    def _enrollment_rows(self, homeroom: bool) -> Iterator[tuple[int, Row, list[str]]]:
        """The homeroom pass checks homeroom rows and rows of unknown classes; the scheduled pass the rest."""
        at = spec.HEADERS["enrollments"].index("classSourcedId")
        if homeroom:
            rows = self.rows("enrollments", lambda v: v[at] in self.homerooms or v[at] not in self.sections)
        else:
            rows = self.rows("enrollments", lambda v: v[at] in self.sections)
        for line, row, values in rows:
            klass = row["classSourcedId"]
            if klass in self.homerooms:
                if homeroom:
                    yield line, row, values
            elif klass in self.sections:
                if not homeroom:
                    yield line, row, values
            elif homeroom:
                self.dangling("enrollments", line, "classSourcedId", klass, "class")

    def _teacher(self, line: int, row: Row, person: int, school: int) -> int | None:
        """The staff record of an enrollment's teacher in the class's school, or a located error (None)."""
        staff = self.staff_of.get((person, school))
        if staff is None:
            self.errors.add(
                "enrollments",
                line,
                "userSourcedId",
                row["userSourcedId"],
                "is not a teacher of this class's school in roles.csv",
            )
        return staff

    def _check_refs(self, line: int, row: Row, school: int) -> int | None:
        if row["schoolSourcedId"] not in self.schools:
            self.dangling("enrollments", line, "schoolSourcedId", row["schoolSourcedId"], "school")
            return None
        if self.schools[row["schoolSourcedId"]] != school:
            self.errors.add(
                "enrollments", line, "schoolSourcedId", row["schoolSourcedId"], "is not the class's school"
            )
            return None
        person = self.people.get(row["userSourcedId"])
        if person is None:
            self.dangling("enrollments", line, "userSourcedId", row["userSourcedId"], "user")
        return person

    def homeroom_enrollments(self) -> None:
        district_id = self.district.pk
        self.skip_enrollments = self.enrollments_as_before()
        if self.skip_enrollments:
            self.report.unchanged["file"] += 1
            return
        heads: dict[int, tuple[int, str]] = {}
        open_seen: dict[int, int] = {}
        for chunk in _chunks(self._enrollment_rows(homeroom=True), self.batch):
            known = self.existing(m.KIND_ENROLLMENT, [row["sourcedId"] for _, row, _ in chunk])
            new: list[tuple[str, str, tuple[Any, ...], int]] = []
            changed: list[tuple[str, str, tuple[Any, ...], int]] = []
            for line, row, values in chunk:
                klass, school = self.homerooms[row["classSourcedId"]]
                person = self._check_refs(line, row, school)
                if person is None:
                    continue
                if row["role"] == "teacher":
                    staff = self._teacher(line, row, person, school)
                    if staff is not None and klass in heads and heads[klass][0] != staff:
                        self.errors.add(
                            "enrollments",
                            line,
                            "classSourcedId",
                            row["classSourcedId"],
                            "a homeroom class has one head teacher",
                        )
                    elif staff is not None:
                        heads[klass] = (staff, row["sourcedId"])
                    continue
                if row["role"] != "student":
                    self.report.warnings.append(
                        f"enrollments.csv line {line}: role {row['role']} is not stored"
                    )
                    continue
                student = self.student_of.get(person)
                if student is None or student[1] != school:
                    self.errors.add(
                        "enrollments",
                        line,
                        "userSourcedId",
                        row["userSourcedId"],
                        "is not a student of this class's school in roles.csv",
                    )
                    continue
                end = spec.parse_date(row["endDate"]) if row["endDate"] else None
                if end is None:
                    if student[0] in open_seen:
                        self.errors.add(
                            "enrollments",
                            line,
                            "endDate",
                            "",
                            f"the student already has an open homeroom enrollment on line {open_seen[student[0]]}",
                        )
                        continue
                    open_seen[student[0]] = line
                    self.homeroom_of[student[0]] = klass
                # The row and what it refers to now (a student re-created since has a new key).
                h = fingerprint(values, (str(student[0]), str(klass)))
                sid = row["sourcedId"]
                if sid in known and known[sid][1] == h:
                    self.report.unchanged["enrollment"] += 1
                    continue
                begin = spec.parse_date(row["beginDate"]) if row["beginDate"] else timezone.localdate()
                e = (school, student[0], klass, begin, end)
                if sid in known:
                    changed.append((sid, h, e, int(known[sid][0])))
                else:
                    new.append((sid, h, e, 0))
            if self.errors:
                return
            if changed:  # an enrollment deleted since is written again, under its sourcedId
                still = self._existing_pks(Enrollment, [pk for *_, pk in changed])
                gone = [str(pk) for *_, pk in changed if pk not in still]
                if gone:
                    SourcedId.objects.filter(
                        district=self.district, kind=m.KIND_ENROLLMENT, key__in=gone
                    ).delete()
                    new += [(sid, h, e, 0) for sid, h, e, pk in changed if pk not in still]
                    changed = [c for c in changed if c[3] in still]
            if changed:
                self.sql.update(
                    Enrollment,
                    ["school_id", "student_id", "klass_id", "start_date", "end_date"],
                    [(*e, pk) for _, _, e, pk in changed],
                )
                self.report.updated["enrollment"] += len(changed)
            if new:
                ids = self.sql.ids(Enrollment, len(new))
                new = [(sid, h, e, pk) for (sid, h, e, _), pk in zip(new, ids, strict=True)]
                self.sql.insert(
                    Enrollment,
                    ["id", "district_id", "school_id", "student_id", "klass_id", "start_date", "end_date"],
                    [(pk, district_id, *e) for _, _, e, pk in new],
                )
                self.report.created["enrollment"] += len(new)
            touched = new + changed
            self.remember(m.KIND_ENROLLMENT, [(str(pk), sid, h) for sid, h, _, pk in touched], unique=True)
            self.sql.update(
                Student, ["current_class_id"], [(e[2], e[1]) for _, _, e, _ in touched if e[4] is None]
            )
        changed_heads = []
        for klass, (staff, _sid) in heads.items():
            changed_heads.append(Class(pk=klass, head_teacher_id=staff))
        if changed_heads:
            current_heads = dict(
                Class.objects.filter(pk__in=list(heads)).values_list("pk", "head_teacher_id")
            )
            changed_heads = [c for c in changed_heads if current_heads.get(c.pk) != c.head_teacher_id]
            Class.objects.bulk_update(changed_heads, ["head_teacher_id"])
            self.report.updated["headTeacher"] += len(changed_heads)
        self.remember(m.KIND_HEAD, [(str(k), sid, "") for k, (_s, sid) in heads.items()])

    def scheduled_enrollments(self) -> None:
        if self.skip_enrollments:
            return
        teachers: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # section → (line, staff, sid)
        first_line: dict[str, int] = {}
        for chunk in _chunks(self._enrollment_rows(homeroom=False), self.batch):
            known = self.existing(m.KIND_SECTION_STUDENT, [row["sourcedId"] for _, row, _ in chunk])
            pairs: list[tuple[str, str, str]] = []
            for line, row, values in chunk:
                section = row["classSourcedId"]
                subject, term, school = self.sections[section]
                person = self._check_refs(line, row, school)
                if person is None:
                    continue
                if row["role"] == "teacher":
                    staff = self._teacher(line, row, person, school)
                    if staff is not None:
                        teachers[section].append((line, staff, row["sourcedId"]))
                    continue
                if row["role"] != "student":
                    self.report.warnings.append(
                        f"enrollments.csv line {line}: role {row['role']} is not stored"
                    )
                    continue
                student = self.student_of.get(person)
                home = self.homeroom_of.get(student[0]) if student else None
                if home is None:
                    self.errors.add(
                        "enrollments",
                        line,
                        "userSourcedId",
                        row["userSourcedId"],
                        "a student in a scheduled class needs an open homeroom enrollment",
                    )
                    continue
                expected = self.section_home.setdefault(section, home)
                first_line.setdefault(section, line)
                if expected != home:
                    self.errors.add(
                        "enrollments",
                        line,
                        "classSourcedId",
                        section,
                        f"the students of a scheduled class must share one homeroom (see line {first_line[section]}): we keep no per-section rosters",
                    )
                    continue
                h = fingerprint(values)
                assert student is not None
                key = f"{home}:{subject}:{term}:{student[0]}"
                if known.get(row["sourcedId"]) == (key, h):
                    self.report.unchanged["enrollment"] += 1
                    continue
                pairs.append((key, row["sourcedId"], h))
            if self.errors:
                return
            self.remember(m.KIND_SECTION_STUDENT, pairs)
            self.report.created["sectionEnrollment"] += len(pairs)
        self._assignments(teachers)

    def _assignments(self, teachers: dict[str, list[tuple[int, int, str]]]) -> None:
        """One TeachingAssignment per teacher of each scheduled class: the district's assignments are
        read in one query, new ones inserted together, moved ones updated together."""
        known_ta = self.all_existing(m.KIND_ASSIGNMENT)
        current: dict[int, tuple[int, int, int, int]] = {}  # pk → (teacher, class, subject, term)
        for pk, *fields in TeachingAssignment.objects.filter(district=self.district).values_list(
            "pk", "teacher_id", "klass_id", "subject_id", "term_id"
        ):
            current[pk] = (fields[0], fields[1], fields[2], fields[3])
        by_fields = {fields: pk for pk, fields in current.items()}
        section_sids: list[tuple[str, str, str]] = []
        wanted: list[tuple[tuple[int, int, int, int], str]] = []  # (fields, assignment sid)
        new: dict[tuple[int, int, int, int], int] = {}  # fields → school
        moved: list[tuple[int, int, int, int, int]] = []  # (teacher, class, subject, term, pk)
        for section, (subject, term, school) in self.sections.items():
            home = self.section_home.get(section)
            if home is None:
                self.report.warnings.append(
                    f"classes.csv: scheduled class {section} has no students, so no homeroom; skipped"
                )
                continue
            section_sids.append((f"{home}:{subject}:{term}", section, ""))
            for _line, staff, sid in teachers.get(section, []):
                want = (staff, home, subject, term)
                wanted.append((want, sid))
                if want in by_fields or want in new:
                    continue
                pk = int(known_ta[sid][0]) if sid in known_ta else 0
                if pk in current and by_fields.get(current[pk]) == pk:  # the sid's assignment, moved
                    del by_fields[current[pk]]
                    by_fields[want] = pk
                    moved.append((*want, pk))
                else:
                    new[want] = school
            if not teachers.get(section):
                self.report.warnings.append(
                    f"classes.csv: scheduled class {section} has no teacher; its rows are kept but not shown"
                )
        self.sql.update(TeachingAssignment, ["teacher_id", "klass_id", "subject_id", "term_id"], moved)
        self.report.updated["teachingAssignment"] += len(moved)
        ids = self.sql.ids(TeachingAssignment, len(new))
        self.sql.insert(
            TeachingAssignment,
            ["id", "district_id", "school_id", "teacher_id", "klass_id", "subject_id", "term_id"],
            [(pk, self.district.pk, school, *f) for pk, (f, school) in zip(ids, new.items(), strict=True)],
        )
        by_fields.update(zip(new, ids, strict=True))
        self.report.created["teachingAssignment"] += len(new)
        self.remember(m.KIND_SECTION, section_sids)
        self.remember(m.KIND_ASSIGNMENT, [(str(by_fields[want]), sid, "") for want, sid in wanted])

    # ------------------------------------------------------------------ gradebook

    def categories_(self) -> None:
        titles = {v.lower(): k for k, v in m.CATEGORY_TITLES.items()} | {k: k for k in m.CATEGORY_TITLES}
        pairs = []
        for line, row, _ in self.rows("categories"):
            kind = titles.get(row["title"].strip().lower())
            if kind is None:
                kind = "quiz"
                self.report.warnings.append(
                    f"categories.csv line {line}: “{row['title']}” is stored as a quiz"
                )
            self.categories[row["sourcedId"]] = kind
            pairs.append((kind, row["sourcedId"], ""))
        SourcedId.objects.bulk_create(
            [
                SourcedId(district=self.district, kind=m.KIND_CATEGORY, key=k, sourced_id=s)
                for k, s, _ in pairs
            ],
            ignore_conflicts=True,
        )

    def line_items_(self) -> None:
        known = self.all_existing(m.KIND_LINEITEM)
        terms_by_sid = {sid: schools for sid, schools in self.terms.items()}
        pairs = []
        for line, row, _ in self.rows("lineItems"):
            section = row["classSourcedId"]
            if section not in self.sections:
                if section in self.homerooms:
                    self.errors.add(
                        "lineItems",
                        line,
                        "classSourcedId",
                        section,
                        "line items belong to a scheduled (subject) class",
                    )
                else:
                    self.dangling("lineItems", line, "classSourcedId", section, "class")
                continue
            if row["categorySourcedId"] not in self.categories:
                self.dangling("lineItems", line, "categorySourcedId", row["categorySourcedId"], "category")
                continue
            subject, term, school = self.sections[section]
            period = row["gradingPeriodSourcedId"]
            if period:
                if period not in terms_by_sid and period not in self.years:
                    self.dangling("lineItems", line, "gradingPeriodSourcedId", period, "academic session")
                    continue
                term = terms_by_sid.get(period, {}).get(school, term)
            home = self.section_home.get(section)
            if home is None:
                self.errors.add(
                    "lineItems",
                    line,
                    "classSourcedId",
                    section,
                    "this scheduled class has no students, so no homeroom",
                )
                continue
            try:
                full = Decimal(row["resultValueMax"])
                Decimal(row["resultValueMin"])
            except InvalidOperation:
                self.errors.add("lineItems", line, "resultValueMax", row["resultValueMax"], "is not a number")
                continue
            if full <= 0:
                self.errors.add("lineItems", line, "resultValueMax", row["resultValueMax"], "must be above 0")
                continue
            grade = Class.objects.values_list("grade_id", flat=True).get(pk=home)
            name = (row["description"] or row["title"])[:120]
            assessment, made = Assessment.objects.get_or_create(
                term_id=term,
                grade_id=grade,
                name=name,
                defaults={
                    "district": self.district,
                    "school_id": school,
                    "kind": self.categories[row["categorySourcedId"]],
                    "date": spec.parse_date(row["assignDate"]),
                },
            )
            self.report.created["assessment"] += int(made)
            subj, made = AssessmentSubject.objects.get_or_create(
                assessment=assessment,
                subject_id=subject,
                defaults={"district": self.district, "school_id": school, "full_marks": full},
            )
            if not made and subj.full_marks != full:
                subj.full_marks = full
                subj.save()
            self.line_items[row["sourcedId"]] = (subj.pk, home)
            if row["sourcedId"] not in known:
                pairs.append((f"{subj.pk}:{home}", row["sourcedId"], ""))
        self.remember(m.KIND_LINEITEM, pairs)

    def results(self) -> None:
        pairs = []
        for line, row, _ in self.rows("results"):
            item = self.line_items.get(row["lineItemSourcedId"])
            if item is None:
                self.dangling("results", line, "lineItemSourcedId", row["lineItemSourcedId"], "line item")
                continue
            person = self.people.get(row["studentSourcedId"])
            student = self.student_of.get(person) if person is not None else None
            if student is None:
                self.dangling("results", line, "studentSourcedId", row["studentSourcedId"], "student")
                continue
            try:
                marker, value = parse_result(row["scoreStatus"], row["score"])
            except ValueError as exc:
                self.errors.add("results", line, "score", row["score"], str(exc))
                continue
            when = score_time(row["scoreDate"])
            score, _ = Score.objects.update_or_create(
                assessment_subject_id=item[0],
                student_id=student[0],
                defaults={
                    "district": self.district,
                    "school_id": student[1],
                    "klass_id": item[1],
                    "value": value,
                    "marker": marker,
                    "updated_at": when,
                },
            )
            self.report.created["result"] += 1
            pairs.append((str(score.pk), row["sourcedId"], ""))
        self.remember(m.KIND_RESULT, pairs)


def parse_result(status: str, score: str) -> tuple[str, Decimal | None]:
    """(Score.marker, value) for a scoreStatus and score. Scores above the maximum are kept."""
    marker = m.MARKER_OF_STATUS[status]
    if marker != "none":
        return marker, None
    if not score:
        raise ValueError(f"a score is required when scoreStatus is {status}")
    try:
        value = Decimal(score)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("is not a score of 0 or more")
    if value != value.quantize(Decimal("0.01")) or value >= 10000:
        raise ValueError("has more than two decimal places or is too large")
    return marker, value.quantize(Decimal("0.01"))


def score_time(date: str) -> datetime.datetime:
    day = spec.parse_date(date) if date else timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def import_zip(
    district: District | None, source: Any, actor: Any = None, batch: int = BATCH, trust_digests: bool = True
) -> Report:
    return Importer(district, actor, batch, trust_digests).run(source)
