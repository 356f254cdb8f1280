"""Our rows as OneRoster records (column → text, as in the CSV binding), shared by the CSV export and
the REST binding. Reads school data for an integration (a client or an export), always within one
district and optionally one school: callers pass the tenant keys, never a user.

sourcedIds come from the SourcedId table; an object exported for the first time gets a new UUID,
which is saved (`Ids.save`) so it never changes afterwards.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

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
from schoolbridge.grades.models import AssessmentSubject, Score

from . import mapping as m
from .fastsql import in_list
from .models import SourcedId

Record = dict[str, Any]


def _d(value: Any) -> str:
    return value.isoformat() if value else ""


def _dec(value: Decimal | None) -> str:
    return "" if value is None else f"{value:f}"


class Ids:
    """The district's sourcedIds, loaded per kind on first use; new ones are generated and saved."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.maps: dict[str, dict[str, str]] = {}
        self.partial: set[str] = set()
        self.checked: dict[str, set[str]] = {}
        self.new: list[SourcedId] = []

    def prefetch(self, kind: str, keys: Iterable[Any]) -> None:
        """Load only these keys of a (large) kind; other keys of it are then looked up one by one."""
        if kind in self.maps and kind not in self.partial:
            return  # the whole kind is loaded already
        known = self.maps.setdefault(kind, {})
        self.partial.add(kind)
        checked = self.checked.setdefault(kind, set())
        wanted = [k for k in dict.fromkeys(str(k) for k in keys) if k not in checked and k not in known]
        checked.update(wanted)
        table = SourcedId._meta.db_table
        with connection.cursor() as cursor:
            for i in range(0, len(wanted), 2000):
                part = wanted[i : i + 2000]
                among, params = in_list(part)
                cursor.execute(
                    f'SELECT "key", "sourced_id" FROM "{table}" WHERE "district_id" = %s AND "kind" = %s '
                    f'AND "key" {among}',
                    [self.district.pk, kind, *params],
                )
                known.update(cursor.fetchall())

    def forget(self, kind: str) -> None:
        """Drop what is known of a (large) kind, once new ids are saved: a streaming export keeps only
        one chunk's sourcedIds in memory. Later look-ups read the registry again."""
        if self.new:
            self.save()
        self.maps.pop(kind, None)
        self.checked.pop(kind, None)
        self.partial.add(kind)

    def of(self, kind: str) -> dict[str, str]:
        if kind not in self.maps:
            self.maps[kind] = dict(
                SourcedId.objects.filter(district=self.district, kind=kind).values_list("key", "sourced_id")
            )
        return self.maps[kind]

    def get(self, kind: str, key: Any) -> str:
        key = str(key)
        known = self.of(kind)
        sid = known.get(key)
        if sid is None and kind in self.partial and key not in self.checked.get(kind, ()):
            sid = (
                SourcedId.objects.filter(district=self.district, kind=kind, key=key)
                .values_list("sourced_id", flat=True)
                .first()
            )
            if sid is not None:
                known[key] = sid
        if sid is None:
            sid = str(uuid.uuid4())
            known[key] = sid
            self.new.append(SourcedId(district=self.district, kind=kind, key=key, sourced_id=sid))
        return sid

    def save(self) -> None:
        if self.new:
            SourcedId.objects.bulk_create(self.new, batch_size=5000, ignore_conflicts=True)
            self.new = []


class Records:
    """Builds records for one district (optionally one school)."""

    def __init__(self, district: District, school: School | None = None) -> None:
        self.district = district
        self.school = school
        self.ids = Ids(district)

    def _scoped(self, qs: QuerySet, field: str = "school") -> QuerySet:
        qs = qs.filter(district=self.district)
        if self.school is not None:
            qs = qs.filter(**{field: self.school})
        return qs

    # ----------------------------------------------------------------- querysets (tenant-scoped)

    def schools(self) -> QuerySet[School]:
        qs = School.objects.filter(district=self.district)
        return qs.filter(pk=self.school.pk) if self.school is not None else qs

    def years(self) -> QuerySet[SchoolYear]:
        return self._scoped(SchoolYear.objects.all())

    def terms(self) -> QuerySet[Term]:
        return self._scoped(Term.objects.all())

    def grades(self) -> QuerySet[GradeLevel]:
        return self._scoped(GradeLevel.objects.all())

    def subjects(self) -> QuerySet[Subject]:
        return self._scoped(Subject.objects.all())

    def classes(self) -> QuerySet[Class]:
        return self._scoped(Class.objects.select_related("grade", "year"))

    def assignments(self) -> QuerySet[TeachingAssignment]:
        return self._scoped(TeachingAssignment.objects.select_related("klass__grade", "subject", "term"))

    def students(self) -> QuerySet[Student]:
        return self._scoped(Student.objects.select_related("person", "current_class__grade"))

    def staff(self) -> QuerySet[Staff]:
        return self._scoped(Staff.objects.select_related("person"))

    def guardians(self) -> QuerySet[Guardian]:
        qs = Guardian.objects.filter(district=self.district).select_related("person")
        if self.school is not None:
            qs = qs.filter(guardianships__school=self.school).distinct()
        return qs

    def enrollments(self) -> QuerySet[Enrollment]:
        return self._scoped(Enrollment.objects.select_related("student", "klass"))

    # ----------------------------------------------------------------- orgs, sessions, courses

    def org_district(self) -> Record:
        d = self.district
        return {
            "sourcedId": self.ids.get(m.KIND_DISTRICT, d.pk),
            "name": d.name,
            "type": "district",
            "identifier": d.code,
            "parentSourcedId": "",
        }

    def org_school(self, s: School) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_SCHOOL, s.pk),
            "name": s.name,
            "type": "school",
            "identifier": s.code,
            "parentSourcedId": self.ids.get(m.KIND_DISTRICT, self.district.pk),
        }

    def session_year(self, y: SchoolYear) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_YEAR, y.pk),
            "title": y.name,
            "type": "schoolYear",
            "startDate": _d(y.start_date),
            "endDate": _d(y.end_date),
            "parentSourcedId": "",
            "schoolYear": str(y.end_date.year),
            "_org": self.ids.get(m.KIND_SCHOOL, y.school_id),
        }

    def session_term(self, t: Term) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_TERM, t.pk),
            "title": t.name,
            "type": "term",
            "startDate": _d(t.start_date),
            "endDate": _d(t.end_date),
            "parentSourcedId": self.ids.get(m.KIND_YEAR, t.year_id),
            "schoolYear": str(t.year.end_date.year),
            "_org": self.ids.get(m.KIND_SCHOOL, t.school_id),
        }

    def course_grade(self, g: GradeLevel) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_GRADE, g.pk),
            "schoolYearSourcedId": "",
            "title": g.name,
            "courseCode": "",
            "grades": m.grade_code(g.order),
            "orgSourcedId": self.ids.get(m.KIND_SCHOOL, g.school_id),
            "subjects": "",
            "subjectCodes": "",
        }

    def course_subject(self, s: Subject) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_SUBJECT, s.pk),
            "schoolYearSourcedId": "",
            "title": s.name,
            "courseCode": s.code,
            "grades": "",
            "orgSourcedId": self.ids.get(m.KIND_SCHOOL, s.school_id),
            "subjects": s.name,
            "subjectCodes": "",
        }

    # ----------------------------------------------------------------- classes

    def class_homeroom(self, c: Class, term_sids: list[str]) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_CLASS, c.pk),
            "title": c.name,
            "grades": m.grade_code(c.grade.order),
            "courseSourcedId": self.ids.get(m.KIND_GRADE, c.grade_id),
            "classCode": "",
            "classType": "homeroom",
            "location": "",
            "schoolSourcedId": self.ids.get(m.KIND_SCHOOL, c.school_id),
            "termSourcedIds": ",".join(sorted(term_sids)),
            "subjects": "",
            "subjectCodes": "",
            "periods": "",
        }

    @staticmethod
    def section_key(class_id: int, subject_id: int, term_id: int) -> str:
        return f"{class_id}:{subject_id}:{term_id}"

    def class_section(self, a: TeachingAssignment) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_SECTION, self.section_key(a.klass_id, a.subject_id, a.term_id)),
            "title": f"{a.klass.name} {a.subject.name}",
            "grades": m.grade_code(a.klass.grade.order),
            "courseSourcedId": self.ids.get(m.KIND_SUBJECT, a.subject_id),
            "classCode": a.subject.code,
            "classType": "scheduled",
            "location": "",
            "schoolSourcedId": self.ids.get(m.KIND_SCHOOL, a.school_id),
            "termSourcedIds": self.ids.get(m.KIND_TERM, a.term_id),
            "subjects": a.subject.name,
            "subjectCodes": "",
            "periods": "",
        }

    def homeroom_terms(self, classes: Iterable[Class]) -> dict[int, list[str]]:
        """The terms of each class's school year (a homeroom class lasts the whole year)."""
        by_year: dict[int, list[str]] = defaultdict(list)
        year_ids = {c.year_id for c in classes}
        for t in self.terms().filter(year_id__in=year_ids).order_by("start_date", "pk"):
            by_year[t.year_id].append(self.ids.get(m.KIND_TERM, t.pk))
        return {c.pk: by_year.get(c.year_id, []) for c in classes}

    def iter_classes(
        self, qs: QuerySet[Class] | None = None, sections: QuerySet | None = None
    ) -> Iterator[Record]:
        classes = list(qs if qs is not None else self.classes())
        terms = self.homeroom_terms(classes)
        for c in classes:
            yield self.class_homeroom(c, terms[c.pk])
        seen: set[str] = set()
        for a in sections if sections is not None else self.assignments().order_by("pk"):
            key = self.section_key(a.klass_id, a.subject_id, a.term_id)
            if key not in seen:
                seen.add(key)
                yield self.class_section(a)

    # ----------------------------------------------------------------- users, roles, demographics

    def people(self, person_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """person id → its roles in scope: {"person", "students", "staff", "guardian", "agents"}."""
        people: dict[int, dict[str, Any]] = {}

        def entry(p: Person) -> dict[str, Any]:
            return people.setdefault(
                p.pk, {"person": p, "students": [], "staff": [], "guardian": None, "agents": set()}
            )

        students = self.students()
        staff = self.staff()
        guardians = self.guardians()
        if person_ids is not None:
            ids = list(person_ids)
            students, staff, guardians = (
                students.filter(person_id__in=ids),
                staff.filter(person_id__in=ids),
                guardians.filter(person_id__in=ids),
            )
        for st in students.order_by("pk"):
            entry(st.person)["students"].append(st)
        for sf in staff.order_by("pk"):
            entry(sf.person)["staff"].append(sf)
        for g in guardians.order_by("pk"):
            entry(g.person)["guardian"] = g
        student_person = {st.pk: pid for pid, e in people.items() for st in e["students"]}
        guardian_person = {e["guardian"].pk: pid for pid, e in people.items() if e["guardian"] is not None}
        links = Guardianship.objects.filter(district=self.district)
        if self.school is not None:
            links = links.filter(school=self.school)
        self.relationship: dict[int, str] = {}
        if person_ids is not None:
            links = links.filter(
                Q(student_id__in=list(student_person)) | Q(guardian_id__in=list(guardian_person))
            )
        rows = list(
            links.values("guardian_id", "guardian__person_id", "student__person_id", "relationship").order_by(
                "pk"
            )
        )
        if m.KIND_PERSON in self.ids.partial:
            others = {r["guardian__person_id"] for r in rows} | {r["student__person_id"] for r in rows}
            self.ids.prefetch(m.KIND_PERSON, others - set(self.ids.of(m.KIND_PERSON)))
        for gs in rows:
            sp, gp = gs["student__person_id"], gs["guardian__person_id"]
            if sp in people:
                people[sp]["agents"].add(self.ids.get(m.KIND_PERSON, gp))
            if gp in people:
                people[gp]["agents"].add(self.ids.get(m.KIND_PERSON, sp))
                self.relationship.setdefault(gs["guardian_id"], gs["relationship"])
        for gid in guardian_person:
            if gid not in self.relationship:
                rel = (
                    Guardianship.objects.filter(guardian_id=gid)
                    .values_list("relationship", flat=True)
                    .first()
                )
                self.relationship[gid] = rel or "other"
        return people

    def user(self, e: dict[str, Any]) -> Record:
        p: Person = e["person"]
        students: list[Student] = e["students"]
        staff: list[Staff] = e["staff"]
        identifier = students[0].student_number if students else (staff[0].staff_number if staff else "")
        sid = self.ids.get(m.KIND_PERSON, p.pk)
        enabled = any(st.status == Student.Status.ENROLLED for st in students) or any(
            sf.active for sf in staff
        )
        if not students and not staff:
            enabled = True
        if students:
            org = self.ids.get(m.KIND_SCHOOL, students[0].school_id)
        elif staff:
            org = self.ids.get(m.KIND_SCHOOL, staff[0].school_id)
        else:
            org = self.ids.get(m.KIND_DISTRICT, self.district.pk)
        grades = ""
        if students and students[0].current_class is not None:
            grades = m.grade_code(students[0].current_class.grade.order)
        return {
            "sourcedId": sid,
            "enabledUser": "true" if enabled else "false",
            "username": identifier or sid,
            "userIds": "",
            "givenName": p.given_name,
            "familyName": p.family_name,
            "middleName": "",
            "identifier": identifier,
            "email": p.email,
            "sms": "",
            "phone": p.phone,
            "agentSourcedIds": ",".join(sorted(e["agents"])),
            "grades": grades,
            "password": "",
            "userMasterIdentifier": "",
            "resourceSourcedIds": "",
            "preferredGivenName": "",
            "preferredMiddleName": "",
            "preferredFamilyName": "",
            "primaryOrgSourcedId": org,
            "pronouns": "",
        }

    def roles(self, e: dict[str, Any]) -> list[Record]:
        out: list[Record] = []
        user = self.ids.get(m.KIND_PERSON, e["person"].pk)
        for st in e["students"]:
            out.append(
                {
                    "key": f"student:{st.pk}",
                    "role": "student",
                    "org": self.ids.get(m.KIND_SCHOOL, st.school_id),
                    "begin": _d(st.enrolled_on),
                    "end": _d(st.left_on),
                }
            )
        for sf in e["staff"]:
            out.append(
                {
                    "key": f"staff:{sf.pk}",
                    "role": "teacher",
                    "org": self.ids.get(m.KIND_SCHOOL, sf.school_id),
                    "begin": "",
                    "end": "",
                }
            )
        g = e["guardian"]
        if g is not None:
            out.append(
                {
                    "key": f"guardian:{g.pk}",
                    "role": m.guardian_role(self.relationship.get(g.pk, "other")),
                    "org": self.ids.get(m.KIND_DISTRICT, self.district.pk),
                    "begin": "",
                    "end": "",
                }
            )
        return [
            {
                "sourcedId": self.ids.get(m.KIND_ROLE, r["key"]),
                "userSourcedId": user,
                "roleType": "primary" if i == 0 else "secondary",
                "role": r["role"],
                "beginDate": r["begin"],
                "endDate": r["end"],
                "orgSourcedId": r["org"],
                "userProfileSourcedId": "",
            }
            for i, r in enumerate(out)
        ]

    def demographic(self, p: Person) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_PERSON, p.pk),
            "birthDate": _d(p.birth_date),
            "sex": m.SEX_OF_GENDER.get(p.gender, "unspecified"),
            **{
                c: ""
                for c in (
                    "americanIndianOrAlaskaNative",
                    "asian",
                    "blackOrAfricanAmerican",
                    "nativeHawaiianOrOtherPacificIslander",
                    "white",
                    "demographicRaceTwoOrMoreRaces",
                    "hispanicOrLatinoEthnicity",
                    "countryOfBirthCode",
                    "stateOfBirthAbbreviation",
                    "cityOfBirth",
                    "publicSchoolResidenceStatus",
                )
            },
        }

    # ----------------------------------------------------------------- enrollments

    def _enrollment(
        self, sid: str, klass: str, school: int, user: str, role: str, primary: str, begin: str, end: str
    ) -> Record:
        return {
            "sourcedId": sid,
            "classSourcedId": klass,
            "schoolSourcedId": self.ids.get(m.KIND_SCHOOL, school),
            "userSourcedId": user,
            "role": role,
            "primary": primary,
            "beginDate": begin,
            "endDate": end,
        }

    def iter_enrollments(self) -> Iterator[Record]:
        person_of_student = dict(self.students().values_list("pk", "person_id"))
        for e in self.enrollments().order_by("pk").iterator(chunk_size=5000):
            yield self._enrollment(
                self.ids.get(m.KIND_ENROLLMENT, e.pk),
                self.ids.get(m.KIND_CLASS, e.klass_id),
                e.school_id,
                self.ids.get(m.KIND_PERSON, person_of_student[e.student_id]),
                "student",
                "false",
                _d(e.start_date),
                _d(e.end_date),
            )
        person_of_staff = dict(self.staff().values_list("pk", "person_id"))
        for c in self.classes().filter(head_teacher__isnull=False).order_by("pk"):
            yield self._enrollment(
                self.ids.get(m.KIND_HEAD, c.pk),
                self.ids.get(m.KIND_CLASS, c.pk),
                c.school_id,
                self.ids.get(m.KIND_PERSON, person_of_staff[c.head_teacher_id or 0]),
                "teacher",
                "true",
                "",
                "",
            )
        sections: dict[str, TeachingAssignment] = {}
        for a in self.assignments().order_by("pk"):
            key = self.section_key(a.klass_id, a.subject_id, a.term_id)
            sections.setdefault(key, a)
            yield self._enrollment(
                self.ids.get(m.KIND_ASSIGNMENT, a.pk),
                self.ids.get(m.KIND_SECTION, key),
                a.school_id,
                self.ids.get(m.KIND_PERSON, person_of_staff[a.teacher_id]),
                "teacher",
                "true",
                "",
                "",
            )
        members: dict[int, list[int]] = defaultdict(list)
        for sid, kid in (
            self.enrollments()
            .filter(end_date__isnull=True)
            .values_list("student_id", "klass_id")
            .order_by("pk")
        ):
            members[kid].append(sid)
        for key, a in sections.items():
            section = self.ids.get(m.KIND_SECTION, key)
            for student_id in members.get(a.klass_id, []):
                yield self._enrollment(
                    self.ids.get(m.KIND_SECTION_STUDENT, f"{key}:{student_id}"),
                    section,
                    a.school_id,
                    self.ids.get(m.KIND_PERSON, person_of_student[student_id]),
                    "student",
                    "false",
                    "",
                    "",
                )

    # ----------------------------------------------------------------- gradebook

    def category(self, kind: str) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_CATEGORY, kind),
            "title": m.CATEGORY_TITLES[kind],
            "weight": "",
        }

    def line_items(
        self, subjects: QuerySet[AssessmentSubject] | None = None
    ) -> Iterator[tuple[Record, tuple[int, int]]]:
        """(record, (assessment subject id, class id)) for each scheduled class that sits the subject."""
        qs = subjects if subjects is not None else self._scoped(AssessmentSubject.objects.all())
        qs = qs.select_related("assessment", "subject").order_by("pk")
        items = list(qs)
        term_ids = {a.assessment.term_id for a in items}
        sections: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for kid, grade, sub, term in (
            self.assignments()
            .filter(term_id__in=term_ids)
            .values_list("klass_id", "klass__grade_id", "subject_id", "term_id")
            .distinct()
            .order_by("klass_id")
        ):
            if kid not in sections[(grade, sub, term)]:
                sections[(grade, sub, term)].append(kid)
        for s in items:
            a = s.assessment
            for kid in sections.get((a.grade_id, s.subject_id, a.term_id), []):
                yield self.line_item(s, kid), (s.pk, kid)

    def line_item(self, s: AssessmentSubject, kid: int) -> Record:
        """One assessment subject as seen by one scheduled class (`s` with its assessment and subject)."""
        a = s.assessment
        return {
            "sourcedId": self.ids.get(m.KIND_LINEITEM, f"{s.pk}:{kid}"),
            "title": f"{a.name} · {s.subject.name}",
            "description": a.name,
            "assignDate": _d(a.date),
            "dueDate": _d(a.date),
            "classSourcedId": self.ids.get(m.KIND_SECTION, self.section_key(kid, s.subject_id, a.term_id)),
            "categorySourcedId": self.ids.get(m.KIND_CATEGORY, a.kind),
            "gradingPeriodSourcedId": self.ids.get(m.KIND_TERM, a.term_id),
            "resultValueMin": "0",
            "resultValueMax": _dec(s.full_marks),
            "schoolSourcedId": self.ids.get(m.KIND_SCHOOL, s.school_id),
        }

    def result(self, sc: Score, student_person: int) -> Record:
        return {
            "sourcedId": self.ids.get(m.KIND_RESULT, sc.pk),
            "lineItemSourcedId": self.ids.get(m.KIND_LINEITEM, f"{sc.assessment_subject_id}:{sc.klass_id}"),
            "studentSourcedId": self.ids.get(m.KIND_PERSON, student_person),
            "scoreStatus": m.STATUS_OF_MARKER[sc.marker],
            "score": _dec(sc.value),
            "scoreDate": _d(timezone.localtime(sc.updated_at).date()),
            "comment": "",
        }
