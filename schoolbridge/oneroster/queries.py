"""Reads for the REST binding, scoped by the integration client's tenant keys.

A client is not a User, so it has no access-layer grants: its scope is its district and, when set,
its one school. Every collection is built through records.Records(district, school), whose
querysets all filter on those keys first; objects outside them are "not found" (the same 404 as a
missing one). People data is read here, never in views.py.

Paging happens in the database. A collection is a list of `Segment`s — one tenant-scoped queryset
each (a collection such as enrollments is the homeroom enrolments, then the head teachers, then the
teaching assignments, then the students of each scheduled class) with a stable order (the primary
key, or the first row of a group) and a function that turns one page of rows into records. A
request counts each segment (X-Total-Count is the sum of COUNTs) and reads only the rows of its page
(ORDER BY key LIMIT/OFFSET), so walking 2M enrollments a page at a time costs one page per request.

filter and sort are pushed into SQL where the field maps onto a column (`Col`), a value that is the
same for a whole segment (`Const`, e.g. an enrollment's role), or a sourcedId (`Sid`: looked up in
the registry and turned into a key condition). Pushed-down semantics equal the Python ones of
filtering.py: = and != compare text exactly, ~ is a case-insensitive "contains", and < <= > >= are
pushed only on date columns with a full YYYY-MM-DD value (an empty date is "less than" any date, as
an empty string is in Python). sort is pushed down only for a collection with one segment and a
text or date column (compared by code point: COLLATE "C"/BINARY, as Python compares strings).

When a clause or the sort cannot be pushed down (a computed field such as a user's `identifier`,
`roles` or a class's `title`; a number; a sort across segments), the request falls back to reading
the whole (already restricted) collection in chunks of CHUNK rows, filtering and sorting in Python
and slicing the page: the results are the same, only slower and bigger in memory. `pushable()`
tells which case a request is in (the tests check both give the same answer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Collate

from schoolbridge.core.models import (
    Class,
    District,
    Enrollment,
    Guardianship,
    Person,
    School,
    Staff,
    Student,
    TeachingAssignment,
)
from schoolbridge.grades.models import AssessmentSubject, Score

from . import mapping as m
from .filtering import Clause, Filter, apply_filter, matches, sort_key
from .jsonshape import DEMOGRAPHIC_FLAGS, json_fields, to_json
from .models import Client, SourcedId
from .records import Record, Records
from .spec import DATE_RE

CHUNK = 2000

# REST collection → the CSV file its records follow.
FILE_OF = {
    "orgs": "orgs",
    "schools": "orgs",
    "academicSessions": "academicSessions",
    "terms": "academicSessions",
    "gradingPeriods": "academicSessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "students": "users",
    "teachers": "users",
    "enrollments": "enrollments",
    "demographics": "demographics",
    "categories": "categories",
    "lineItems": "lineItems",
    "results": "results",
    "scoreScales": "scoreScales",
}


# --------------------------------------------------------------------------- how a JSON field maps


@dataclass(frozen=True)
class Col:
    """A text (or, with date=True, a date) column."""

    path: str
    date: bool = False


@dataclass(frozen=True)
class Const:
    """A value every record of the segment has (as filtering._text shows it)."""

    value: str


@dataclass(frozen=True)
class Sid:
    """The sourcedId of the object whose key is the column `path` (our key is str(path value))."""

    kind: str
    path: str = "pk"
    text_key: bool = False


@dataclass(frozen=True)
class SidQ:
    """A sourcedId whose key is composite ("class:subject:term"); `to_q` turns a key into a condition."""

    kind: str
    to_q: Callable[[str], Q]


Mapped = Col | Const | Sid | SidQ
ALL, NONE = Q(), Q(pk__in=[])


def _collation() -> str:
    return "C" if connection.vendor == "postgresql" else "BINARY"


@dataclass
class Segment:
    """One queryset of a collection: `base` (tenant-scoped rows), `shape` (grouping, if any, applied
    after the filters), the stable `order`, and `build` (rows of one page → records, same order)."""

    tag: str
    base: QuerySet[Any]
    order: Sequence[str]
    build: Callable[[list[Any]], list[Record]]
    fields: dict[str, Mapped]
    shape: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None
    where: Q = field(default_factory=Q)
    after: Q = field(default_factory=Q)
    # Whether pushed-down filters apply to the shaped rows (their paths then name its columns).
    filter_after: bool = False

    def restrict(self, where: Q | None = None, after: Q | None = None) -> Segment:
        return replace(
            self,
            where=self.where & where if where is not None else self.where,
            after=self.after & after if after is not None else self.after,
        )

    def rows(self, q: Q = ALL, order: Sequence[Any] | None = None) -> QuerySet[Any]:
        qs = self.base.filter(self.where)
        if not self.filter_after:
            qs = qs.filter(q)
        if self.shape is not None:
            qs = self.shape(qs)
        if self.filter_after:
            qs = qs.filter(q)
        return qs.filter(self.after).order_by(*(order or self.order))

    def count(self, q: Q = ALL) -> int:
        return int(self.rows(q).count())

    def page(self, offset: int, limit: int, q: Q = ALL, order: Sequence[Any] | None = None) -> list[Record]:
        return self.build(list(self.rows(q, order)[offset : offset + limit]))


@dataclass
class ListSegment:
    """A small collection kept as a list (the four categories); filtered in Python, always exactly."""

    tag: str
    records: list[Record]


AnySegment = Segment | ListSegment


@dataclass
class Page:
    records: list[dict[str, Any]]  # REST objects
    total: int
    pushed: bool


class Tenant:
    """Everything of one district (optionally one school) as segments: what an integration client
    may read, and what the CSV export writes."""

    def __init__(self, district: District, school: School | None = None) -> None:
        self.district = district
        self.school = school
        self.rec = Records(district, school)

    # ----------------------------------------------------------------- registry look-ups

    def keys(self, kind: str, sid: str) -> list[str]:
        return list(
            SourcedId.objects.filter(district=self.district, kind=kind, sourced_id=sid).values_list(
                "key", flat=True
            )
        )

    def int_keys(self, kind: str, sid: str) -> list[int]:
        return [int(k) for k in self.keys(kind, sid) if k.isdigit()]

    def person_id(self, sid: str) -> int | None:
        found = self.int_keys(m.KIND_PERSON, sid)
        return found[0] if found else None

    def _pre(self, kind: str, keys: list[Any]) -> None:
        self.rec.ids.prefetch(kind, keys)

    # ----------------------------------------------------------------- pushing a filter down

    def clause_q(self, mapped: Mapped | None, clause: Clause) -> Q | None:
        """The condition for one clause on one segment, or None when it cannot be pushed down."""
        op, value = clause.op, clause.value
        if mapped is None:
            return None
        if isinstance(mapped, Const):
            return ALL if matches(clause, {clause.field: mapped.value}) else NONE
        if isinstance(mapped, Col) and mapped.date:
            if not DATE_RE.match(value):
                return None
            path = mapped.path
            conditions = {
                "=": Q(**{path: value}),
                "!=": ~Q(**{path: value}),
                ">": Q(**{f"{path}__gt": value}),
                ">=": Q(**{f"{path}__gte": value}),
                "<": Q(**{f"{path}__lt": value}) | Q(**{f"{path}__isnull": True}),
                "<=": Q(**{f"{path}__lte": value}) | Q(**{f"{path}__isnull": True}),
            }
            return conditions.get(op)
        if isinstance(mapped, Col):
            path = mapped.path
            if op == "=":
                return Q(**{path: value})
            if op == "!=":
                return ~Q(**{path: value})
            if op == "~":
                return Q(**{f"{path}__icontains": value})
            return None
        if op not in ("=", "!="):
            return None
        if isinstance(mapped, Sid):
            keys: list[Any] = self.keys(mapped.kind, value)
            if not mapped.text_key:
                keys = [int(k) for k in keys if k.lstrip("-").isdigit()]
            q = Q(**{f"{mapped.path}__in": keys}) if keys else NONE
        else:
            q = NONE
            for key in self.keys(mapped.kind, value):
                try:
                    q |= mapped.to_q(key)
                except (ValueError, IndexError):
                    continue
        return q if op == "=" else ~q

    def filter_q(self, segment: Segment, flt: Filter | None) -> Q | None:
        """The whole filter (OR of ANDs) on one segment, or None when a clause cannot be pushed down."""
        if not flt:
            return ALL
        groups: list[Q] = []
        for group in flt:
            conditions: list[Q] = []
            never = False
            for clause in group:
                q = self.clause_q(segment.fields.get(clause.field), clause)
                if q is None:
                    return None
                if q is NONE:
                    never = True
                elif q is not ALL:
                    conditions.append(q)
            if never:
                continue
            if not conditions:
                return ALL  # this group holds for every row
            groups.append(Q(*conditions))
        return Q(*groups, _connector=Q.OR) if groups else NONE

    def sort_expr(self, segments: list[AnySegment], sort: str | None, desc: bool) -> list[Any] | None:
        """The ORDER BY for a pushed-down sort, [] when there is no sort, None when it cannot be pushed."""
        if not sort:
            return []
        if len(segments) != 1 or not isinstance(segments[0], Segment):
            return None
        mapped = segments[0].fields.get(sort)
        if not isinstance(mapped, Col):
            return None
        if mapped.date:
            # Python puts "" (no date) before every date.
            expr = F(mapped.path).desc(nulls_last=True) if desc else F(mapped.path).asc(nulls_first=True)
        else:
            collated = Collate(F(mapped.path), _collation())
            expr = collated.desc() if desc else collated.asc()
        tie = [f"-{o}" if desc else o for o in segments[0].order]
        return [expr, *tie]

    # ----------------------------------------------------------------- reading a page

    def page(
        self,
        segments: list[AnySegment],
        file: str,
        base: str,
        modified: str,
        offset: int,
        limit: int,
        flt: Filter | None = None,
        sort: str | None = None,
        desc: bool = False,
    ) -> Page:
        conditions = []
        for seg in segments:
            conditions.append(self.filter_q(seg, flt) if isinstance(seg, Segment) else None)
        order = self.sort_expr(segments, sort, desc)
        pushable = order is not None and all(
            c is not None for c, seg in zip(conditions, segments, strict=True) if isinstance(seg, Segment)
        )
        if not pushable:
            return self._page_in_python(segments, file, base, modified, offset, limit, flt, sort, desc)
        out: list[dict[str, Any]] = []
        total = 0
        at, left = offset, limit
        for seg, q in zip(segments, conditions, strict=True):
            if isinstance(seg, ListSegment):
                objects = [to_json(file, r, base, modified) for r in seg.records]
                if flt:
                    objects = apply_filter(flt, objects)
                n = len(objects)
                if left and at < n:
                    out += objects[at : at + left]
            else:
                n = seg.count(q or ALL)
                if left and at < n:
                    records = seg.page(at, left, q or ALL, order or None)
                    out += [to_json(file, r, base, modified) for r in records]
            total += n
            taken = max(0, min(left, n - at)) if at < n else 0
            left -= taken
            at = max(0, at - n)
        return Page(out, total, True)

    def _page_in_python(
        self,
        segments: list[AnySegment],
        file: str,
        base: str,
        modified: str,
        offset: int,
        limit: int,
        flt: Filter | None,
        sort: str | None,
        desc: bool,
    ) -> Page:
        objects: list[dict[str, Any]] = []
        for seg in segments:
            for records in self.chunks(seg):
                chunk = [to_json(file, r, base, modified) for r in records]
                objects += apply_filter(flt, chunk) if flt else chunk
        if sort:
            objects.sort(key=sort_key(sort), reverse=desc)
        return Page(objects[offset : offset + limit], len(objects), False)

    def chunks(self, seg: AnySegment) -> Any:
        if isinstance(seg, ListSegment):
            yield seg.records
            return
        at = 0
        while True:
            records = seg.page(at, CHUNK)
            if records:
                yield records
            if len(records) < CHUNK:
                return
            at += CHUNK

    def one(self, name: str, sid: str) -> Record | None:
        """One record of a collection by sourcedId (a filter sourcedId='…' pushed down), or None."""
        flt = [[Clause("sourcedId", "=", sid)]]
        for seg in self.segments(name):
            if isinstance(seg, ListSegment):
                found = next((r for r in seg.records if r["sourcedId"] == sid), None)
            else:
                q = self.filter_q(seg, flt)
                found = next(iter(seg.page(0, 1, q or NONE)), None)
            if found is not None:
                return found
        return None

    def save_new_ids(self) -> None:
        self.rec.ids.save()

    # ----------------------------------------------------------------- the collections

    def segments(self, name: str) -> list[AnySegment]:
        build: dict[str, Callable[[], list[AnySegment]]] = {
            "orgs": lambda: [self._district_seg(), self._schools_seg()],
            "schools": lambda: [self._schools_seg()],
            "academicSessions": lambda: [self._years_seg(), self._terms_seg()],
            "terms": lambda: [self._terms_seg()],
            "gradingPeriods": lambda: [],
            "courses": lambda: [self._grades_seg(), self._subjects_seg()],
            "classes": lambda: [self._homerooms_seg(), self._sections_seg()],
            "users": lambda: [self._users_seg(None)],
            "students": lambda: [self._users_seg("student")],
            "teachers": lambda: [self._users_seg("teacher")],
            "demographics": lambda: [self._demographics_seg()],
            "enrollments": lambda: [
                self._enrollments_seg(),
                self._heads_seg(),
                self._assignments_seg(),
                self._section_students_seg(),
            ],
            "categories": lambda: [
                ListSegment("categories", [self.rec.category(k) for k in m.CATEGORY_TITLES])
            ],
            "lineItems": lambda: [self._line_items_seg()],
            "results": lambda: [self._results_seg()],
            "scoreScales": lambda: [],
        }
        return build[name]()

    def fields_of(self, name: str) -> set[str]:
        return json_fields(FILE_OF[name])

    # orgs ------------------------------------------------------------

    def _district_seg(self) -> Segment:
        rec = self.rec
        return Segment(
            "district",
            District.objects.filter(pk=self.district.pk),
            ["pk"],
            lambda rows: [
                rec.org_district()
                | {"_children": [rec.org_school(s)["sourcedId"] for s in rec.schools().order_by("pk")]}
                for _ in rows
            ],
            {
                "sourcedId": Sid(m.KIND_DISTRICT),
                "status": Const("active"),
                "name": Col("name"),
                "type": Const("district"),
                "identifier": Col("code"),
                "parent": Const(""),
            },
        )

    def _schools_seg(self) -> Segment:
        rec = self.rec
        return Segment(
            "schools",
            rec.schools(),
            ["pk"],
            lambda rows: [rec.org_school(s) for s in rows],
            {
                "sourcedId": Sid(m.KIND_SCHOOL),
                "status": Const("active"),
                "name": Col("name"),
                "type": Const("school"),
                "identifier": Col("code"),
                "children": Const(""),
                "parent": Const(rec.ids.get(m.KIND_DISTRICT, self.district.pk)),
            },
        )

    # academic sessions ---------------------------------------------

    def _session_fields(self, kind: str, type_: str) -> dict[str, Mapped]:
        return {
            "sourcedId": Sid(kind),
            "status": Const("active"),
            "title": Col("name"),
            "type": Const(type_),
            "startDate": Col("start_date", date=True),
            "endDate": Col("end_date", date=True),
        }

    def _years_seg(self) -> Segment:
        rec = self.rec
        fields = self._session_fields(m.KIND_YEAR, "schoolYear") | {"parent": Const("")}

        def build(rows: list[Any]) -> list[Record]:
            terms: dict[int, list[str]] = {y.pk: [] for y in rows}
            for t in rec.terms().filter(year_id__in=list(terms)).order_by("start_date", "pk"):
                terms[t.year_id].append(rec.ids.get(m.KIND_TERM, t.pk))
            return [rec.session_year(y) | {"_children": terms[y.pk]} for y in rows]

        return Segment("years", rec.years(), ["pk"], build, fields)

    def _terms_seg(self) -> Segment:
        rec = self.rec
        fields = self._session_fields(m.KIND_TERM, "term") | {
            "parent": Sid(m.KIND_YEAR, "year_id"),
            "children": Const(""),
        }
        return Segment(
            "terms",
            rec.terms().select_related("year"),
            ["pk"],
            lambda rows: [rec.session_term(t) for t in rows],
            fields,
        )

    # courses -------------------------------------------------------

    def _grades_seg(self) -> Segment:
        rec = self.rec
        return Segment(
            "grades",
            rec.grades(),
            ["pk"],
            lambda rows: [rec.course_grade(g) for g in rows],
            {
                "sourcedId": Sid(m.KIND_GRADE),
                "status": Const("active"),
                "title": Col("name"),
                "courseCode": Const(""),
                "schoolYear": Const(""),
                "org": Sid(m.KIND_SCHOOL, "school_id"),
                "subjects": Const(""),
                "subjectCodes": Const(""),
                "resources": Const(""),
            },
        )

    def _subjects_seg(self) -> Segment:
        rec = self.rec
        return Segment(
            "subjects",
            rec.subjects(),
            ["pk"],
            lambda rows: [rec.course_subject(s) for s in rows],
            {
                "sourcedId": Sid(m.KIND_SUBJECT),
                "status": Const("active"),
                "title": Col("name"),
                "courseCode": Col("code"),
                "schoolYear": Const(""),
                "grades": Const(""),
                "org": Sid(m.KIND_SCHOOL, "school_id"),
                "subjectCodes": Const(""),
                "resources": Const(""),
            },
        )

    # classes -------------------------------------------------------

    @staticmethod
    def _section_q(key: str, prefix: str = "") -> Q:
        klass, subject, term = (int(p) for p in key.split(":")[:3])
        return Q(**{f"{prefix}klass_id": klass, f"{prefix}subject_id": subject, f"{prefix}term_id": term})

    def _homerooms_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[Class]) -> list[Record]:
            self._pre(m.KIND_CLASS, [c.pk for c in rows])
            terms = rec.homeroom_terms(rows)
            return [rec.class_homeroom(c, terms[c.pk]) for c in rows]

        return Segment(
            "homerooms",
            rec.classes(),
            ["pk"],
            build,
            {
                "sourcedId": Sid(m.KIND_CLASS),
                "status": Const("active"),
                "title": Col("name"),
                "course": Sid(m.KIND_GRADE, "grade_id"),
                "classCode": Const(""),
                "classType": Const("homeroom"),
                "location": Const(""),
                "school": Sid(m.KIND_SCHOOL, "school_id"),
                "subjects": Const(""),
                "subjectCodes": Const(""),
                "periods": Const(""),
                "resources": Const(""),
            },
        )

    def _sections_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[dict[str, Any]]) -> list[Record]:
            firsts = [r["first"] for r in rows]
            self._pre(
                m.KIND_SECTION, [rec.section_key(r["klass_id"], r["subject_id"], r["term_id"]) for r in rows]
            )
            by_pk = {a.pk: a for a in rec.assignments().filter(pk__in=firsts)}
            return [rec.class_section(by_pk[pk]) for pk in firsts if pk in by_pk]

        return Segment(
            "sections",
            rec.assignments(),
            ["first"],
            build,
            {
                "sourcedId": SidQ(m.KIND_SECTION, self._section_q),
                "status": Const("active"),
                "course": Sid(m.KIND_SUBJECT, "subject_id"),
                "classCode": Col("subject__code"),
                "classType": Const("scheduled"),
                "location": Const(""),
                "school": Sid(m.KIND_SCHOOL, "school_id"),
                "terms": Sid(m.KIND_TERM, "term_id"),
                "subjects": Col("subject__name"),
                "subjectCodes": Const(""),
                "periods": Const(""),
                "resources": Const(""),
            },
            shape=lambda qs: qs.values("klass_id", "subject_id", "term_id").annotate(first=Min("pk")),
        )

    # users and demographics ----------------------------------------

    def person_queryset(self, role: str | None) -> QuerySet[Person]:
        """The people this client may see (students, staff and guardians of its district or school),
        as IN-subqueries so that no join multiplies rows."""
        district, school = self.district, self.school
        students = Student.objects.filter(district=district)
        staff = Staff.objects.filter(district=district)
        if school is not None:
            students, staff = students.filter(school=school), staff.filter(school=school)
            guardians = Guardianship.objects.filter(district=district, school=school).values(
                "guardian__person_id"
            )
        else:
            guardians = Guardianship.objects.none().values("guardian__person_id")
        student_q = Q(pk__in=students.values("person_id"))
        staff_q = Q(pk__in=staff.values("person_id"))
        guardian_q = Q(pk__in=guardians) if school is not None else Q(guardian__isnull=False)
        wanted = {"student": student_q, "teacher": staff_q}.get(role or "", student_q | staff_q | guardian_q)
        return Person.objects.filter(district=district).filter(wanted)

    def _build_users(self, rows: list[Person]) -> list[Record]:
        rec = self.rec
        ids = [p.pk for p in rows]
        self._pre(m.KIND_PERSON, ids)
        people = rec.people(ids)
        role_keys = [f"student:{st.pk}" for e in people.values() for st in e["students"]]
        role_keys += [f"staff:{sf.pk}" for e in people.values() for sf in e["staff"]]
        role_keys += [f"guardian:{e['guardian'].pk}" for e in people.values() if e["guardian"] is not None]
        self._pre(m.KIND_ROLE, role_keys)
        out = []
        for pk in ids:
            if pk in people:
                user = rec.user(people[pk])
                user["roles"] = rec.roles(people[pk])
                out.append(user)
        return out

    def _person_fields(self) -> dict[str, Mapped]:
        return {"sourcedId": Sid(m.KIND_PERSON), "status": Const("active")}

    def _users_seg(self, role: str | None) -> Segment:
        fields: dict[str, Mapped] = self._person_fields() | {
            "givenName": Col("given_name"),
            "familyName": Col("family_name"),
            "email": Col("email"),
            "phone": Col("phone"),
        }
        for name in (
            "userIds",
            "middleName",
            "sms",
            "userMasterIdentifier",
            "preferredFirstName",
            "preferredMiddleName",
            "preferredLastName",
            "pronouns",
            "userProfiles",
            "resources",
        ):
            fields[name] = Const("")
        return Segment(role or "users", self.person_queryset(role), ["pk"], self._build_users, fields)

    def _demographics_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[Person]) -> list[Record]:
            self._pre(m.KIND_PERSON, [p.pk for p in rows])
            return [rec.demographic(p) for p in rows]

        fields = self._person_fields() | {"birthDate": Col("birth_date", date=True)}
        for name in (
            "countryOfBirthCode",
            "stateOfBirthAbbreviation",
            "cityOfBirth",
            "publicSchoolResidenceStatus",
            *sorted(DEMOGRAPHIC_FLAGS),  # never known here: left out of every object
        ):
            fields[name] = Const("")
        return Segment("demographics", self.person_queryset(None), ["pk"], build, fields)

    # enrollments ---------------------------------------------------

    def _enrollment_fields(self, kind: str, role: str, primary: str) -> dict[str, Mapped]:
        return {
            "sourcedId": Sid(kind),
            "status": Const("active"),
            "role": Const(role),
            "primary": Const(primary),
            "school": Sid(m.KIND_SCHOOL, "school_id"),
        }

    def _enrollments_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[Enrollment]) -> list[Record]:
            self._pre(m.KIND_ENROLLMENT, [e.pk for e in rows])
            self._pre(m.KIND_CLASS, [e.klass_id for e in rows])
            self._pre(m.KIND_PERSON, [e.student.person_id for e in rows])
            return [
                rec._enrollment(
                    rec.ids.get(m.KIND_ENROLLMENT, e.pk),
                    rec.ids.get(m.KIND_CLASS, e.klass_id),
                    e.school_id,
                    rec.ids.get(m.KIND_PERSON, e.student.person_id),
                    "student",
                    "false",
                    e.start_date.isoformat() if e.start_date else "",
                    e.end_date.isoformat() if e.end_date else "",
                )
                for e in rows
            ]

        fields = self._enrollment_fields(m.KIND_ENROLLMENT, "student", "false") | {
            "class": Sid(m.KIND_CLASS, "klass_id"),
            "user": Sid(m.KIND_PERSON, "student__person_id"),
            "beginDate": Col("start_date", date=True),
            "endDate": Col("end_date", date=True),
        }
        return Segment("enrollments", rec.enrollments(), ["pk"], build, fields)

    def _heads_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[Class]) -> list[Record]:
            self._pre(m.KIND_HEAD, [c.pk for c in rows])
            self._pre(m.KIND_CLASS, [c.pk for c in rows])
            self._pre(m.KIND_PERSON, [c.head_teacher.person_id for c in rows if c.head_teacher])
            return [
                rec._enrollment(
                    rec.ids.get(m.KIND_HEAD, c.pk),
                    rec.ids.get(m.KIND_CLASS, c.pk),
                    c.school_id,
                    rec.ids.get(m.KIND_PERSON, c.head_teacher.person_id if c.head_teacher else 0),
                    "teacher",
                    "true",
                    "",
                    "",
                )
                for c in rows
            ]

        fields = self._enrollment_fields(m.KIND_HEAD, "teacher", "true") | {
            "class": Sid(m.KIND_CLASS),
            "user": Sid(m.KIND_PERSON, "head_teacher__person_id"),
            "beginDate": Const(""),
            "endDate": Const(""),
        }
        qs = rec.classes().filter(head_teacher__isnull=False).select_related("head_teacher")
        return Segment("heads", qs, ["pk"], build, fields)

    def _assignments_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[TeachingAssignment]) -> list[Record]:
            self._pre(m.KIND_ASSIGNMENT, [a.pk for a in rows])
            self._pre(m.KIND_SECTION, [rec.section_key(a.klass_id, a.subject_id, a.term_id) for a in rows])
            self._pre(m.KIND_PERSON, [a.teacher.person_id for a in rows])
            return [
                rec._enrollment(
                    rec.ids.get(m.KIND_ASSIGNMENT, a.pk),
                    rec.ids.get(m.KIND_SECTION, rec.section_key(a.klass_id, a.subject_id, a.term_id)),
                    a.school_id,
                    rec.ids.get(m.KIND_PERSON, a.teacher.person_id),
                    "teacher",
                    "true",
                    "",
                    "",
                )
                for a in rows
            ]

        fields = self._enrollment_fields(m.KIND_ASSIGNMENT, "teacher", "true") | {
            "class": SidQ(m.KIND_SECTION, self._section_q),
            "user": Sid(m.KIND_PERSON, "teacher__person_id"),
            "beginDate": Const(""),
            "endDate": Const(""),
        }
        qs = TeachingAssignment.objects.filter(pk__in=rec.assignments().values("pk")).select_related(
            "teacher"
        )
        return Segment("assignments", qs, ["pk"], build, fields)

    def _section_students_seg(self) -> Segment:
        """The students of each scheduled class: the current members of its homeroom, one row per
        (enrolment, subject, term), in the order of the section's first assignment, then of the
        enrolment. Filters apply to these rows (klass_id, sec_subject, sec_term, school_id)."""
        rec = self.rec

        def build(rows: list[dict[str, Any]]) -> list[Record]:
            keys = [rec.section_key(r["klass_id"], r["sec_subject"], r["sec_term"]) for r in rows]
            self._pre(m.KIND_SECTION, keys)
            pairs = [f"{k}:{r['student_id']}" for k, r in zip(keys, rows, strict=True)]
            self._pre(m.KIND_SECTION_STUDENT, pairs)
            person_of = dict(
                Student.objects.filter(pk__in={r["student_id"] for r in rows}).values_list("pk", "person_id")
            )
            self._pre(m.KIND_PERSON, list(person_of.values()))
            return [
                rec._enrollment(
                    rec.ids.get(m.KIND_SECTION_STUDENT, pair),
                    rec.ids.get(m.KIND_SECTION, k),
                    r["school_id"],
                    rec.ids.get(m.KIND_PERSON, person_of[r["student_id"]]),
                    "student",
                    "false",
                    "",
                    "",
                )
                for k, pair, r in zip(keys, pairs, rows, strict=True)
            ]

        def shape(qs: QuerySet[Any]) -> QuerySet[Any]:
            # One row per (enrolment, first teaching assignment of a section of its class): a join with
            # the set of first assignments (computed once, not per row), no GROUP BY over the pairs.
            firsts = (
                TeachingAssignment.objects.filter(district=self.district)
                .values("klass_id", "subject_id", "term_id")
                .annotate(least=Min("pk"))
                .values("least")
            )
            return (
                qs.annotate(
                    first=F("klass__assignments__pk"),
                    sec_subject=F("klass__assignments__subject_id"),
                    sec_term=F("klass__assignments__term_id"),
                )
                .filter(first__in=firsts)
                .values("pk", "student_id", "klass_id", "school_id", "sec_subject", "sec_term", "first")
            )

        fields = self._enrollment_fields(m.KIND_SECTION_STUDENT, "student", "false") | {
            "class": SidQ(m.KIND_SECTION, _section_pair_q),
            "beginDate": Const(""),
            "endDate": Const(""),
        }
        current = rec.enrollments().filter(end_date__isnull=True)
        return Segment(
            "section_students",
            current,
            ["first", "pk"],
            build,
            fields,
            shape=shape,
            filter_after=True,
        )

    # gradebook -----------------------------------------------------

    def _line_items_seg(self) -> Segment:
        """(assessment subject, class) for each scheduled class that sits the subject: the teaching
        assignments of the class's grade, subject and term, one row per pair. Filters apply to these
        rows (pk = the assessment subject, klass = the class)."""
        rec = self.rec

        def build(rows: list[dict[str, Any]]) -> list[Record]:
            self._pre(m.KIND_LINEITEM, [f"{r['pk']}:{r['klass']}" for r in rows])
            subjects = {
                s.pk: s
                for s in AssessmentSubject.objects.filter(pk__in={r["pk"] for r in rows}).select_related(
                    "assessment", "subject"
                )
            }
            self._pre(
                m.KIND_SECTION,
                [
                    rec.section_key(
                        r["klass"], subjects[r["pk"]].subject_id, subjects[r["pk"]].assessment.term_id
                    )
                    for r in rows
                ],
            )
            return [rec.line_item(subjects[r["pk"]], r["klass"]) for r in rows]

        fields: dict[str, Mapped] = {
            "sourcedId": SidQ(m.KIND_LINEITEM, _line_item_q),
            "status": Const("active"),
            "description": Col("assessment__name"),
            "class": SidQ(m.KIND_SECTION, _line_item_section_q),
            "category": Sid(m.KIND_CATEGORY, "assessment__kind", text_key=True),
            "gradingPeriod": Sid(m.KIND_TERM, "assessment__term_id"),
            "school": Sid(m.KIND_SCHOOL, "school_id"),
            "resultValueMin": Const("0.0"),
        }
        taught = rec.assignments().values("pk")
        base = rec._scoped(AssessmentSubject.objects.all()).filter(
            subject__assignments__in=taught,
            subject__assignments__term_id=F("assessment__term_id"),
            subject__assignments__klass__grade_id=F("assessment__grade_id"),
        )

        def shape(qs: QuerySet[Any]) -> QuerySet[Any]:
            return qs.values("pk", klass=F("subject__assignments__klass_id")).annotate(
                first=Min("subject__assignments__pk")
            )

        gone = self.deleted_line_items()
        seg = Segment("lineItems", base, ["pk", "klass"], build, fields, shape=shape, filter_after=True)
        if gone:
            seg = seg.restrict(after=~Q(*[Q(pk=a, klass=k) for a, k in gone], _connector=Q.OR))
        return seg

    def deleted_line_items(self) -> list[tuple[int, int]]:
        """Line items deleted through the binding (kept in the registry as row_hash="deleted")."""
        out = []
        for key in SourcedId.objects.filter(
            district=self.district, kind=m.KIND_LINEITEM, row_hash="deleted"
        ).values_list("key", flat=True):
            a, _, k = key.partition(":")
            if a.isdigit() and k.isdigit():
                out.append((int(a), int(k)))
        return out

    def _results_seg(self) -> Segment:
        rec = self.rec

        def build(rows: list[Score]) -> list[Record]:
            self._pre(m.KIND_RESULT, [sc.pk for sc in rows])
            self._pre(m.KIND_LINEITEM, [f"{sc.assessment_subject_id}:{sc.klass_id}" for sc in rows])
            self._pre(m.KIND_PERSON, [sc.student.person_id for sc in rows])
            return [rec.result(sc, sc.student.person_id) for sc in rows]

        sections = rec.assignments().filter(
            klass_id=OuterRef("klass_id"),
            subject_id=OuterRef("assessment_subject__subject_id"),
            term_id=OuterRef("assessment_subject__assessment__term_id"),
            klass__grade_id=OuterRef("assessment_subject__assessment__grade_id"),
        )
        qs = (
            Score.objects.filter(district=self.district, student__in=rec.students().values("pk"))
            .filter(Exists(sections))
            .select_related("student")
        )
        gone = self.deleted_line_items()
        if gone:
            qs = qs.exclude(Q(*[Q(assessment_subject_id=a, klass_id=k) for a, k in gone], _connector=Q.OR))
        fields: dict[str, Mapped] = {
            "sourcedId": Sid(m.KIND_RESULT),
            "status": Const("active"),
            "lineItem": SidQ(m.KIND_LINEITEM, _score_line_item_q),
            "student": Sid(m.KIND_PERSON, "student__person_id"),
            "comment": Const(""),
        }
        return Segment("results", qs, ["pk"], build, fields)


class Source(Tenant):
    """What one integration client may read: its district, or its one school."""

    def __init__(self, client: Client) -> None:
        super().__init__(client.district, client.school)
        self.client = client


def _ints(key: str, n: int) -> list[int]:
    parts = [int(p) for p in key.split(":")]
    if len(parts) < n:
        raise ValueError(key)
    return parts


def _section_pair_q(key: str) -> Q:
    klass, subject, term = _ints(key, 3)[:3]
    return Q(klass_id=klass, sec_subject=subject, sec_term=term)


def _line_item_q(key: str) -> Q:
    subject, klass = _ints(key, 2)[:2]
    return Q(pk=subject, klass=klass)


def _line_item_section_q(key: str) -> Q:
    klass, subject, term = _ints(key, 3)[:3]
    return Q(klass=klass, subject_id=subject, assessment__term_id=term)


def _score_line_item_q(key: str) -> Q:
    subject, klass = _ints(key, 2)[:2]
    return Q(assessment_subject_id=subject, klass_id=klass)


def _by_tag(segments: list[AnySegment], **where: Q) -> list[AnySegment]:
    """Only the segments named, each restricted by its condition (before any grouping)."""
    return [s.restrict(where[s.tag]) for s in segments if isinstance(s, Segment) and s.tag in where]


def nested(source: Tenant, parent: str, pid: str, child: str, extra: list[str]) -> list[AnySegment] | None:
    """A nested collection as restricted segments, or None when the path is not one the binding has."""
    rec = source.rec
    if parent == "schools":
        ids = source.int_keys(m.KIND_SCHOOL, pid)
        at = Q(school_id__in=ids)
        if not extra:
            if child == "classes":
                return _by_tag(source.segments("classes"), homerooms=at, sections=at)
            if child in ("students", "teachers"):
                model = Student if child == "students" else Staff
                members = model.objects.filter(district=source.district, school_id__in=ids)
                seg = source.segments(child)[0]
                return (
                    [seg.restrict(Q(pk__in=members.values("person_id")))] if isinstance(seg, Segment) else []
                )
            if child == "enrollments":
                return [s.restrict(at) for s in source.segments("enrollments") if isinstance(s, Segment)]
            if child == "courses":
                return _by_tag(source.segments("courses"), grades=at, subjects=at)
            if child == "terms":
                return _by_tag(source.segments("terms"), terms=at)
            if child == "lineItems":
                return _by_tag(source.segments("lineItems"), lineItems=at)
        if child == "classes" and len(extra) == 2:
            cid, what = extra
            found = source.one("classes", cid)
            if found is None or found["schoolSourcedId"] != pid:
                return []
            return nested(source, "classes", cid, what, [])
        return None
    if parent == "classes":
        return _class_nested(source, pid, child, extra)
    if parent in ("teachers", "students", "users") and child == "classes" and not extra:
        person = source.person_id(pid)
        if person is None:
            return []
        enrolled = rec.enrollments().filter(student__person_id=person)
        current = enrolled.filter(end_date__isnull=True)
        return _by_tag(
            source.segments("classes"),
            homerooms=Q(pk__in=enrolled.values("klass_id")) | Q(head_teacher__person_id=person),
            sections=Q(teacher__person_id=person) | Q(klass_id__in=current.values("klass_id")),
        )
    if parent == "terms" and not extra:
        terms = source.int_keys(m.KIND_TERM, pid)
        if child == "classes":
            years = rec.terms().filter(pk__in=terms).values("year_id")
            return _by_tag(
                source.segments("classes"), homerooms=Q(year_id__in=years), sections=Q(term_id__in=terms)
            )
        if child == "gradingPeriods":
            return []
    if parent == "courses" and child == "classes" and not extra:
        return _by_tag(
            source.segments("classes"),
            homerooms=Q(grade_id__in=source.int_keys(m.KIND_GRADE, pid)),
            sections=Q(subject_id__in=source.int_keys(m.KIND_SUBJECT, pid)),
        )
    return None


def _class_nested(source: Tenant, pid: str, child: str, extra: list[str]) -> list[AnySegment] | None:
    rec = source.rec
    homerooms = source.int_keys(m.KIND_CLASS, pid)
    sections: list[tuple[int, int, int]] = []
    for key in source.keys(m.KIND_SECTION, pid):
        try:
            k, s, t = _ints(key, 3)[:3]
        except ValueError:
            continue
        if rec.assignments().filter(klass_id=k, subject_id=s, term_id=t).exists():
            sections.append((k, s, t))

    def any_of(make: Callable[[int, int, int], Q]) -> Q:
        return Q(*[make(*sec) for sec in sections], _connector=Q.OR) if sections else NONE

    on_section = any_of(lambda k, s, t: Q(klass_id=k, subject_id=s, term_id=t))
    results = any_of(
        lambda k, s, t: Q(
            klass_id=k, assessment_subject__subject_id=s, assessment_subject__assessment__term_id=t
        )
    )
    if extra:
        if len(extra) != 2 or extra[1] != "results" or child not in ("lineItems", "students"):
            return None
        if child == "lineItems":
            which = NONE
            for key in source.keys(m.KIND_LINEITEM, extra[0]):
                try:
                    which |= _score_line_item_q(key)
                except ValueError:
                    continue
        else:
            person = source.person_id(extra[0])
            which = Q(student__person_id=person) if person is not None else NONE
        return _by_tag(source.segments("results"), results=results & which)
    if child in ("students", "teachers"):
        if child == "students":
            members = rec.enrollments().filter(klass_id__in=homerooms).values("student__person_id")
            current = rec.enrollments().filter(
                end_date__isnull=True, klass_id__in=[k for k, _, _ in sections]
            )
            who = Q(pk__in=members) | Q(pk__in=current.values("student__person_id"))
        else:
            heads = rec.classes().filter(pk__in=homerooms).values("head_teacher__person_id")
            teaching = rec.assignments().filter(on_section).values("teacher__person_id")
            who = Q(pk__in=heads) | Q(pk__in=teaching)
        return _by_tag(source.segments("users"), users=who)
    if child == "enrollments":
        segs = source.segments("enrollments")
        out = _by_tag(
            segs,
            enrollments=Q(klass_id__in=homerooms),
            heads=Q(pk__in=homerooms),
            assignments=on_section,
        )
        pairs = any_of(lambda k, s, t: Q(klass_id=k, sec_subject=s, sec_term=t))
        out += [
            s.restrict(after=pairs) for s in segs if isinstance(s, Segment) and s.tag == "section_students"
        ]
        return out
    line_items = any_of(lambda k, s, t: Q(klass=k, subject_id=s, assessment__term_id=t))
    if child == "lineItems":
        return [s.restrict(after=line_items) for s in source.segments("lineItems") if isinstance(s, Segment)]
    if child == "categories":
        kinds: set[str] = set()
        for seg in source.segments("lineItems"):
            if isinstance(seg, Segment):
                pks = [r["pk"] for r in seg.restrict(after=line_items).rows()]
                kinds |= set(
                    AssessmentSubject.objects.filter(pk__in=pks).values_list("assessment__kind", flat=True)
                )
        return [ListSegment("categories", [rec.category(k) for k in m.CATEGORY_TITLES if k in kinds])]
    if child == "results":
        return _by_tag(source.segments("results"), results=results)
    if child == "scoreScales":
        return []
    return None


def client_by_id(client_id: str) -> Client | None:
    return (
        Client.objects.select_related("district", "school").filter(client_id=client_id, active=True).first()
    )


__all__: list[Any] = ["Source", "Segment", "nested", "FILE_OF", "client_by_id"]


def student_in_scope(client: Client, person_id: int) -> Any:
    from schoolbridge.core.models import Student

    qs = Student.objects.filter(district=client.district, person_id=person_id)
    if client.school_id:
        qs = qs.filter(school_id=client.school_id)
    return qs.first()


def client_list(school: Any) -> QuerySet[Client]:
    """The integration clients of one school, with their number of logged calls."""
    from django.db.models import Count

    return Client.objects.filter(district_id=school.district_id, school=school).annotate(
        call_count=Count("calls")
    )
