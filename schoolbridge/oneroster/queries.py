"""Reads for the REST binding, scoped by the integration client's tenant keys.

A client is not a User, so it has no access-layer grants: its scope is its district and, when set,
its one school. Every collection is built through records.Records(district, school), whose
querysets all filter on those keys first; objects outside them are "not found" (the same 404 as a
missing one). People data is read here, never in views.py.

Collections are built as OneRoster records and filtered / sorted / paged in Python, except the user
collections without filter and sort, which page in the database (person order) so that walking a
district's users a page at a time costs one page of work per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from schoolbridge.core.models import Person

from . import mapping as m
from .models import Client, SourcedId
from .records import Record, Records

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


@dataclass
class Page:
    records: list[Record]
    total: int


class Source:
    """Everything one client may read, built lazily and cached for the request."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.rec = Records(client.district, client.school)
        self._cache: dict[str, list[Record]] = {}

    def _cached(self, name: str, build: Callable[[], list[Record]]) -> list[Record]:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    # ----------------------------------------------------------------- top-level collections

    def collection(self, name: str) -> list[Record]:
        builders: dict[str, Callable[[], list[Record]]] = {
            "orgs": lambda: [self.rec.org_district()] + self.collection("schools"),
            "schools": lambda: [self.rec.org_school(s) for s in self.rec.schools().order_by("pk")],
            "academicSessions": lambda: (
                [self.rec.session_year(y) for y in self.rec.years().order_by("pk")] + self.collection("terms")
            ),
            "terms": lambda: [
                self.rec.session_term(t) for t in self.rec.terms().select_related("year").order_by("pk")
            ],
            "gradingPeriods": lambda: [],
            "courses": lambda: (
                [self.rec.course_grade(g) for g in self.rec.grades().order_by("pk")]
                + [self.rec.course_subject(s) for s in self.rec.subjects().order_by("pk")]
            ),
            "classes": lambda: list(self.rec.iter_classes(self.rec.classes().order_by("pk"))),
            "users": lambda: self._users(),
            "students": lambda: [u for u in self.collection("users") if _has_role(u, "student")],
            "teachers": lambda: [u for u in self.collection("users") if _has_role(u, "teacher")],
            "enrollments": lambda: list(self.rec.iter_enrollments()),
            "demographics": lambda: [self.rec.demographic(p) for p in self._persons()],
            "categories": lambda: [self.rec.category(k) for k in m.CATEGORY_TITLES],
            "lineItems": lambda: self._line_items(),
            "results": lambda: self._results(),
            "scoreScales": lambda: [],
        }
        return self._cached(name, builders[name])

    def _persons(self) -> list[Person]:
        return [e["person"] for e in self.rec.people().values()]

    def _users(self, person_ids: list[int] | None = None) -> list[Record]:
        people = self.rec.people(person_ids)
        out = []
        for e in people.values():
            user = self.rec.user(e)
            user["roles"] = self.rec.roles(e)
            out.append(user)
        return out

    def _line_items(self) -> list[Record]:
        deleted = set(
            SourcedId.objects.filter(
                district=self.client.district, kind=m.KIND_LINEITEM, row_hash="deleted"
            ).values_list("key", flat=True)
        )
        return [r for r, key in self.rec.line_items() if f"{key[0]}:{key[1]}" not in deleted]

    def _results(self) -> list[Record]:
        from schoolbridge.grades.models import Score

        items = {r["sourcedId"] for r in self.collection("lineItems")}
        person_of_student = dict(self.rec.students().values_list("pk", "person_id"))
        scores = Score.objects.filter(district=self.client.district, student_id__in=list(person_of_student))
        out = []
        for sc in scores.order_by("pk"):
            r = self.rec.result(sc, person_of_student[sc.student_id])
            if r["lineItemSourcedId"] in items:
                out.append(r)
        return out

    def one(self, name: str, sid: str) -> Record | None:
        if name in ("users", "students", "teachers", "demographics"):
            person = self.person_id(sid)
            if person is None:
                return None
            users = self._users([person])
            if not users:
                return None
            if name == "demographics":
                return self.rec.demographic(self.rec.people([person])[person]["person"])
            role = {"students": "student", "teachers": "teacher"}.get(name)
            return users[0] if role is None or _has_role(users[0], role) else None
        return next((r for r in self.collection(name) if r["sourcedId"] == sid), None)

    def person_id(self, sid: str) -> int | None:
        key = (
            SourcedId.objects.filter(district=self.client.district, kind=m.KIND_PERSON, sourced_id=sid)
            .values_list("key", flat=True)
            .first()
        )
        return int(key) if key else None

    # ----------------------------------------------------------------- database paging for users

    def person_queryset(self, role: str | None) -> QuerySet[Person]:
        """The people this client may see (students, staff and guardians of its district or school),
        as IN-subqueries so that no join multiplies rows."""
        from schoolbridge.core.models import Guardianship, Staff, Student

        district, school = self.client.district, self.client.school
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

    def users_page(self, name: str, offset: int, limit: int) -> Page:
        role = {"students": "student", "teachers": "teacher"}.get(name)
        qs = self.person_queryset(role)
        total = qs.count()
        ids = list(qs.order_by("pk").values_list("pk", flat=True)[offset : offset + limit])
        self.rec.ids.prefetch(m.KIND_PERSON, ids)
        people = self.rec.people(ids)
        role_keys = [f"student:{st.pk}" for e in people.values() for st in e["students"]]
        role_keys += [f"staff:{sf.pk}" for e in people.values() for sf in e["staff"]]
        role_keys += [f"guardian:{e['guardian'].pk}" for e in people.values() if e["guardian"] is not None]
        self.rec.ids.prefetch(m.KIND_ROLE, role_keys)
        records = []
        for pk in ids:
            if pk in people:
                user = self.rec.user(people[pk])
                user["roles"] = self.rec.roles(people[pk])
                records.append(user)
        return Page(records, total)

    def save_new_ids(self) -> None:
        self.rec.ids.save()


def _has_role(user: Record, role: str) -> bool:
    return any(r["role"] == role for r in user.get("roles", []))


def roster_of_class(source: Source, class_sid: str, role: str) -> list[Record]:
    members = {
        e["userSourcedId"]
        for e in source.collection("enrollments")
        if e["classSourcedId"] == class_sid and e["role"] == role
    }
    return [u for u in source.collection("users") if u["sourcedId"] in members]


def classes_of_user(source: Source, user_sid: str) -> list[Record]:
    classes = {
        e["classSourcedId"] for e in source.collection("enrollments") if e["userSourcedId"] == user_sid
    }
    return [c for c in source.collection("classes") if c["sourcedId"] in classes]


def users_of_school(source: Source, school_sid: str, role: str) -> list[Record]:
    return [
        u
        for u in source.collection("users")
        if any(r["role"] == role and r["orgSourcedId"] == school_sid for r in u.get("roles", []))
    ]


def nested(source: Source, parent: str, pid: str, child: str, extra: list[str]) -> list[Record] | None:
    """A nested collection, or None when the path is not one the binding has."""
    if parent == "schools" and not extra:
        if child == "classes":
            return [c for c in source.collection("classes") if c["schoolSourcedId"] == pid]
        if child in ("students", "teachers"):
            return users_of_school(source, pid, child[:-1])
        if child == "enrollments":
            return [e for e in source.collection("enrollments") if e["schoolSourcedId"] == pid]
        if child == "courses":
            return [c for c in source.collection("courses") if c["orgSourcedId"] == pid]
        if child == "terms":
            return [t for t in source.collection("terms") if t.get("_org") == pid]
        if child == "lineItems":
            return [li for li in source.collection("lineItems") if li["schoolSourcedId"] == pid]
    if parent == "schools" and child == "classes" and len(extra) == 2:
        cid, what = extra
        if not any(
            c["sourcedId"] == cid and c["schoolSourcedId"] == pid for c in source.collection("classes")
        ):
            return []
        return nested(source, "classes", cid, what, [])
    if parent == "classes" and not extra:
        if child in ("students", "teachers"):
            return roster_of_class(source, pid, child[:-1])
        if child == "enrollments":
            return [e for e in source.collection("enrollments") if e["classSourcedId"] == pid]
        if child == "lineItems":
            return [li for li in source.collection("lineItems") if li["classSourcedId"] == pid]
        if child == "categories":
            kinds = {
                li["categorySourcedId"]
                for li in source.collection("lineItems")
                if li["classSourcedId"] == pid
            }
            return [c for c in source.collection("categories") if c["sourcedId"] in kinds]
        if child == "results":
            items = {li["sourcedId"] for li in source.collection("lineItems") if li["classSourcedId"] == pid}
            return [r for r in source.collection("results") if r["lineItemSourcedId"] in items]
        if child == "scoreScales":
            return []
    if parent == "classes" and len(extra) == 2 and extra[1] == "results":
        if child == "lineItems":
            return [
                r
                for r in nested(source, "classes", pid, "results", []) or []
                if r["lineItemSourcedId"] == extra[0]
            ]
        if child == "students":
            return [
                r
                for r in nested(source, "classes", pid, "results", []) or []
                if r["studentSourcedId"] == extra[0]
            ]
    if parent in ("teachers", "students", "users") and child == "classes" and not extra:
        return classes_of_user(source, pid)
    if parent == "terms" and not extra:
        if child == "classes":
            return [c for c in source.collection("classes") if pid in c["termSourcedIds"].split(",")]
        if child == "gradingPeriods":
            return []
    if parent == "courses" and child == "classes" and not extra:
        return [c for c in source.collection("classes") if c["courseSourcedId"] == pid]
    return None


def client_by_id(client_id: str) -> Client | None:
    return (
        Client.objects.select_related("district", "school").filter(client_id=client_id, active=True).first()
    )


__all__: list[Any] = ["Source", "nested", "FILE_OF", "client_by_id"]


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
