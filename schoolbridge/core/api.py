"""The school tree over the JSON API: schools, classes, students. Every read goes through the access layer."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from schoolbridge.access.helpers import (
    SENSITIVE_FIELDS,
    NotFound,
    access_class_by_id,
    access_student_by_id,
    can_see_guardian_contacts,
    can_see_sensitive,
    read_sensitive,
)
from schoolbridge.access.scope import get_scope
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.errors import ApiError, django_validation_fields
from schoolbridge.api_support.pagination import MAX_ID, PageMeta, PageParams, paginate
from schoolbridge.api_support.responses import ok

from . import actions
from .errors import InvalidInput
from .models import Class, Person, School, Staff, Student

router = Router(tags=["school data"])

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


# --- schemas


class Ref(Schema):
    id: int
    name: str


class SchoolOut(Schema):
    id: int
    name: str
    code: str
    address: str
    district: Ref
    student_count: int
    class_count: int
    staff_count: int


class SchoolPage(PageMeta):
    items: list[SchoolOut]


class GradeRef(Ref):
    order: int


class ClassOut(Schema):
    id: int
    name: str
    school: Ref
    grade: GradeRef
    year: Ref
    head_teacher: Ref | None
    student_count: int


class ClassPage(PageMeta):
    items: list[ClassOut]


class StudentOut(Schema):
    id: int
    student_number: str
    name: str
    family_name: str
    given_name: str
    gender: str
    status: str
    school: Ref
    current_class: Ref | None


class StudentPage(PageMeta):
    items: list[StudentOut]


class GuardianOut(Schema):
    id: int
    name: str
    relationship: str
    is_primary: bool
    may_pickup: bool
    receives_notices: bool
    phone: str | None
    email: str | None


class StudentDetailOut(StudentOut):
    national_student_id: str
    birth_date: datetime.date | None
    phone: str
    email: str
    enrolled_on: datetime.date | None
    left_on: datetime.date | None
    guardians: list[GuardianOut]
    guardian_contacts_visible: bool
    sensitive_fields: list[str]


class SensitiveOut(Schema):
    student_id: int
    field: str
    value: str


# --- shaping rows


def _count(model: type[Model], fk: str, **filters: Any) -> Coalesce:
    """A correlated COUNT subquery: one per row, no row multiplication from joins."""
    sub = (
        model._default_manager.filter(**{fk: OuterRef("pk")}, **filters)
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def _school_out(s: School) -> dict[str, Any]:
    return {
        "id": s.pk,
        "name": s.name,
        "code": s.code,
        "address": s.address,
        "district": {"id": s.district_id, "name": s.district.name},
        "student_count": s.student_count,  # type: ignore[attr-defined]
        "class_count": s.class_count,  # type: ignore[attr-defined]
        "staff_count": s.staff_count,  # type: ignore[attr-defined]
    }


def _class_out(c: Class) -> dict[str, Any]:
    head = c.head_teacher
    return {
        "id": c.pk,
        "name": c.name,
        "school": {"id": c.school_id, "name": c.school.name},
        "grade": {"id": c.grade_id, "name": c.grade.name, "order": c.grade.order},
        "year": {"id": c.year_id, "name": c.year.name},
        "head_teacher": {"id": head.pk, "name": head.person.full_name} if head else None,
        "student_count": c.student_count,  # type: ignore[attr-defined]
    }


def _student_out(s: Student) -> dict[str, Any]:
    klass = s.current_class
    return {
        "id": s.pk,
        "student_number": s.student_number,
        "name": s.person.full_name,
        "family_name": s.person.family_name,
        "given_name": s.person.given_name,
        "gender": s.person.gender,
        "status": s.status,
        "school": {"id": s.school_id, "name": s.school.name},
        "current_class": {"id": klass.pk, "name": klass.name} if klass else None,
    }


def _schools(user: Any) -> QuerySet:
    base = School.objects.select_related("district").annotate(
        student_count=_count(Student, "school", status=Student.Status.ENROLLED),
        class_count=_count(Class, "school"),
        staff_count=_count(Staff, "school", active=True),
    )
    return get_scope(user).queryset("school.aggregate", base).order_by("name", "id")


def _classes(user: Any) -> QuerySet:
    base = Class.objects.select_related("school", "grade", "year", "head_teacher__person").annotate(
        student_count=_count(Student, "current_class", status=Student.Status.ENROLLED)
    )
    return (
        get_scope(user)
        .queryset("class.aggregate", base)
        .order_by("-year__start_date", "grade__order", "name", "id")
    )


def _students(user: Any) -> QuerySet:
    return (
        get_scope(user)
        .queryset("student.view")
        .select_related("person", "school", "current_class")
        .order_by("current_class__name", "person__family_name", "person__given_name", "id")
    )


def _by_id(qs: QuerySet, object_id: int) -> Any:
    obj = qs.filter(pk=object_id).first()
    if obj is None:
        raise NotFound
    return obj


# --- endpoints


@router.get("/schools", response=ok(SchoolPage), summary="Schools whose overview you may see")
def list_schools(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    result = paginate(_schools(caller(request)), page)
    result["items"] = [_school_out(s) for s in result["items"]]
    return result


@router.get("/schools/{school_id}", response=ok(SchoolOut), summary="One school, with counts")
def get_school(request: HttpRequest, school_id: ObjectId) -> dict[str, Any]:
    return _school_out(_by_id(_schools(caller(request)), school_id))


class ClassFilter(Schema):
    school: int | None = Field(None, ge=1, le=MAX_ID, description="Only classes of this school.")


@router.get("/classes", response=ok(ClassPage), summary="Classes whose aggregates you may see")
def list_classes(
    request: HttpRequest, filters: Query[ClassFilter], page: Query[PageParams]
) -> dict[str, Any]:
    qs = _classes(caller(request))
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    result = paginate(qs, page)
    result["items"] = [_class_out(c) for c in result["items"]]
    return result


@router.get(
    "/classes/{class_id}/students", response=ok(StudentPage), summary="Students of a class you may see"
)
def list_class_students(request: HttpRequest, class_id: ObjectId, page: Query[PageParams]) -> dict[str, Any]:
    klass = access_class_by_id(caller(request), class_id)
    result = paginate(_students(caller(request)).filter(current_class=klass), page)
    result["items"] = [_student_out(s) for s in result["items"]]
    return result


class StudentFilter(Schema):
    school: int | None = Field(None, ge=1, le=MAX_ID, description="Only students of this school.")
    klass: int | None = Field(
        None, ge=1, le=MAX_ID, alias="class", description="Only students currently in this class."
    )
    q: str | None = Field(None, max_length=60, description="Name or student number contains this.")
    status: Student.Status | None = Field(None, description="Only students with this status.")


@router.get("/students", response=ok(StudentPage), summary="Students you may see; filter and search")
def list_students(
    request: HttpRequest, filters: Query[StudentFilter], page: Query[PageParams]
) -> dict[str, Any]:
    qs = _students(caller(request))
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    if filters.klass is not None:
        qs = qs.filter(current_class_id=filters.klass)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    term = (filters.q or "").strip()
    if term:
        qs = qs.annotate(_full=Concat("person__family_name", "person__given_name")).filter(
            Q(_full__icontains=term)
            | Q(person__given_name__icontains=term)
            | Q(student_number__icontains=term)
            | Q(national_student_id__iexact=term)
        )
    result = paginate(qs, page)
    result["items"] = [_student_out(s) for s in result["items"]]
    return result


def _student_detail(user: Any, student: Student) -> dict[str, Any]:
    contacts = can_see_guardian_contacts(user, student)
    guardians = [
        {
            "id": gs.guardian_id,
            "name": gs.guardian.person.full_name,
            "relationship": gs.relationship,
            "is_primary": gs.is_primary,
            "may_pickup": gs.may_pickup,
            "receives_notices": gs.receives_notices,
            "phone": gs.guardian.person.phone if contacts else None,
            "email": gs.guardian.person.email if contacts else None,
        }
        # Through the student, who has been authorised already.
        for gs in student.guardianships.select_related("guardian__person").order_by("-is_primary", "id")
    ]
    return {
        **_student_out(student),
        "national_student_id": student.national_student_id,
        "birth_date": student.person.birth_date,
        "phone": student.person.phone,
        "email": student.person.email,
        "enrolled_on": student.enrolled_on,
        "left_on": student.left_on,
        "guardians": guardians,
        "guardian_contacts_visible": contacts,
        "sensitive_fields": list(SENSITIVE_FIELDS) if can_see_sensitive(user, student) else [],
    }


@router.get("/students/{student_id}", response=ok(StudentDetailOut), summary="One student's record")
def get_student(request: HttpRequest, student_id: ObjectId) -> dict[str, Any]:
    return _student_detail(caller(request), access_student_by_id(caller(request), student_id))


@router.get(
    "/students/{student_id}/sensitive/{field}",
    response=ok(SensitiveOut),
    summary="Read one sensitive field (national_id, health_notes); every read is logged",
)
def get_student_sensitive(
    request: HttpRequest, response: HttpResponse, student_id: ObjectId, field: str
) -> dict[str, Any]:
    if field not in SENSITIVE_FIELDS:
        raise NotFound
    user = caller(request)
    student = access_student_by_id(user, student_id, capability="student.sensitive")
    value = read_sensitive(user, student, field, via="api")
    response["Cache-Control"] = "no-store"
    return {"student_id": student.pk, "field": field, "value": value}


# --- writes


class StudentIn(Schema):
    school: int = Field(..., ge=1, le=MAX_ID, description="The school, which you must manage.")
    family_name: str
    given_name: str
    student_number: str = Field(..., description="Unique within the district.")
    gender: Person.Gender = Person.Gender.OTHER
    birth_date: datetime.date | None = None
    phone: str = ""
    email: str = ""
    national_student_id: str = ""
    national_id: str = Field("", description="Stored encrypted; never returned except by the logged read.")
    health_notes: str = Field("", description="Stored encrypted; never returned except by the logged read.")
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="Place the student in this class now.")
    enrolled_on: datetime.date | None = Field(None, description="Defaults to today.")


# Action field names that differ from the API's.
_FIELD_NAMES = {"klass": "class_id", "current_class": "class_id", "school": "school"}


def _invalid_choice(field: str) -> ApiError:
    return ApiError(
        "validation_error",
        _("Some fields are not valid."),
        {field: [_("Select a valid choice. That choice is not one of the available choices.")]},
    )


@router.post(
    "/students",
    response=ok(StudentDetailOut, status=201, write=True),
    summary="Create a student (school administrators)",
    description="Field errors answer 422 `validation_error`; a student number already used in the district "
    "answers 409 `conflict`, with the message under `fields.student_number`.",
)
def create_student(request: HttpRequest, response: HttpResponse, payload: StudentIn) -> Status:
    user = caller(request)
    scope = get_scope(user)
    if not scope.allows_any("school.manage"):
        raise ApiError("forbidden", _("You may not do this."))
    school = scope.queryset("school.manage").filter(pk=payload.school).first()
    if school is None:
        raise _invalid_choice("school")
    klass = None
    if payload.class_id is not None:
        klass = Class.objects.filter(pk=payload.class_id, school=school).first()
        if klass is None:
            raise _invalid_choice("class_id")
    data = payload.dict(exclude={"school", "class_id"})
    try:
        student = actions.create_student(user, school, klass=klass, **data)
    except InvalidInput as exc:
        fields = {_FIELD_NAMES.get(k, k): v for k, v in django_validation_fields(exc).items()}
        codes = {e.code for errs in getattr(exc, "error_dict", {}).values() for e in errs}
        if codes == {"duplicate"}:
            raise ApiError("conflict", _("This conflicts with existing data."), fields) from None
        raise ApiError("validation_error", _("Some fields are not valid."), fields) from None
    except NotFound:
        # The school is managed, but not its students (e.g. a district administrator).
        raise ApiError("forbidden", _("You may not do this.")) from None
    student = access_student_by_id(user, student.pk)
    response["Location"] = f"{request.path}/{student.pk}"
    return Status(201, _student_detail(user, student))
