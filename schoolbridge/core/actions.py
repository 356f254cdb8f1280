"""Writes to the school tree and the people in it.

Every action takes the acting user first, runs in one transaction, checks authorisation through the
access layer (out-of-scope objects raise the same NotFound as missing ones), validates its input
into field-level InvalidInput errors (nothing is written when input is bad), writes one audit row
per changed object and sends its signals only after the transaction commits.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.scope import get_scope
from schoolbridge.accounts.backends import normalize_phone
from schoolbridge.audit.log import record, snapshot
from schoolbridge.audit.models import AuditEvent

from .errors import Errors, InvalidInput, NotFound
from .models import (
    Class,
    District,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    Room,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

P = ParamSpec("P")
R = TypeVar("R")

# Sent after commit. Receivers get keyword arguments as documented on each signal.
student_placed = Signal()  # students: list[Student], klass: Class, date: date, actor
student_status_changed = Signal()  # student: Student, old_status: str, new_status: str, actor
guardianship_changed = Signal()  # guardianship: Guardianship, change: "added"|"updated"|"removed", actor

LEAVING_STATUSES = {Student.Status.TRANSFERRED, Student.Status.GRADUATED, Student.Status.WITHDRAWN}
PERSON_FIELDS = ("family_name", "given_name", "gender", "birth_date", "phone", "email")


def action(fn: Callable[P, R]) -> Callable[P, R]:
    """One transaction; a unique-constraint race becomes a form error instead of a server error."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except IntegrityError:
            raise InvalidInput(
                _("This conflicts with a record saved at the same moment. Please check and try again.")
            ) from None

    return wrapper


# --------------------------------------------------------------------------- helpers


def _on_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))


def managed_schools(actor: Any) -> models.QuerySet[School]:
    """Schools whose tree, staff and role grants the actor manages."""
    return get_scope(actor).queryset("school.manage")


def _require_school(actor: Any, school_id: Any) -> School:
    school = managed_schools(actor).filter(pk=school_id).first() if school_id else None
    if school is None:
        raise NotFound
    return school


def _require_student(actor: Any, student: Student | None) -> None:
    if student is None or student.pk is None or not get_scope(actor).allows("student.manage", student):
        raise NotFound


def _locked(model: type[models.Model], obj: Any) -> Any:
    pk = getattr(obj, "pk", obj)
    found = model._default_manager.select_for_update().filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound
    return found


def _clean(obj: models.Model, errors: Errors, exclude: Iterable[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(exc)


def _apply(obj: models.Model, changes: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key, value in changes.items():
        if key not in allowed:
            raise TypeError(f"{type(obj).__name__} field {key!r} cannot be changed here")
        if isinstance(value, str):
            value = value.strip()
        setattr(obj, key, value)


def _dates_ordered(errors: Errors, start: Any, end: Any) -> None:
    if start and end and end <= start and not errors.has("end_date"):
        errors.add("end_date", _("The end date must be after the start date."))


def _same_school(errors: Errors, field: str, obj: Any, school_id: int, message: Any) -> None:
    if obj is not None and getattr(obj, "school_id", None) != school_id:
        errors.add(field, message)


def _record_many(actor: Any, action_name: str, rows: list[tuple[models.Model, Any, Any]]) -> None:
    """Audit rows for a set-based write, in one insert (same shape as audit.log.record)."""
    if len(rows) == 1:
        obj, before, after = rows[0]
        record(actor, action_name, obj, before, after)
        return
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor if getattr(actor, "pk", None) else None,
            action=action_name,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            school_id=getattr(obj, "school_id", None),
            district_id=getattr(obj, "district_id", None),
            before=before,
            after=after,
        )
        for obj, before, after in rows
    )


def _raw(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _record_update(
    actor: Any, action_name: str, obj: models.Model, before: Any, raw_before: dict[str, Any]
) -> bool:
    """Audit an update if anything changed. Redacted fields (national ID...) show as changed, never in clear."""
    raw_after = _raw(obj)
    changed = [f.name for f in obj._meta.concrete_fields if raw_before.get(f.attname) != raw_after[f.attname]]
    if not changed:
        return False
    after = snapshot(obj) or {}
    after["_changed"] = changed
    record(actor, action_name, obj, before, after)
    return True


def _create(actor: Any, obj: models.Model, validate: Callable[[Any, Errors], None], name: str) -> Any:
    errors = Errors()
    _clean(obj, errors)
    validate(obj, errors)
    errors.raise_if_any()
    obj.save()
    record(actor, f"core.{name}.create", obj, None, snapshot(obj))
    return obj


def _update(
    actor: Any,
    obj: models.Model,
    changes: dict[str, Any],
    fields: Iterable[str],
    validate: Callable[[Any, Errors], None],
    name: str,
) -> Any:
    obj = _locked(type(obj), obj)
    _require_school(actor, obj.school_id)  # type: ignore[attr-defined]
    before, raw = snapshot(obj), _raw(obj)
    _apply(obj, changes, fields)
    errors = Errors()
    _clean(obj, errors)
    validate(obj, errors)
    errors.raise_if_any()
    obj.save()
    _record_update(actor, f"core.{name}.update", obj, before, raw)
    return obj


# --------------------------------------------------------------------------- school tree

YEAR_FIELDS = ("name", "start_date", "end_date")
TERM_FIELDS = ("name", "start_date", "end_date")
GRADE_FIELDS = ("name", "order")
CLASS_FIELDS = ("name", "grade", "head_teacher", "room")
SUBJECT_FIELDS = ("name", "code")
ROOM_FIELDS = ("name", "building", "capacity", "kind")


def _validate_year(year: SchoolYear, errors: Errors) -> None:
    _dates_ordered(errors, year.start_date, year.end_date)
    if (
        year.name
        and SchoolYear.objects.filter(school_id=year.school_id, name=year.name).exclude(pk=year.pk).exists()
    ):
        errors.add("name", _("A school year with this name already exists in this school."))
    if year.pk and year.start_date and year.end_date:
        outside = year.terms.exclude(start_date__gte=year.start_date, end_date__lte=year.end_date)
        if outside.exists():
            errors.add(
                None, _("Some terms of this year would fall outside its dates. Change the terms first.")
            )


@action
def create_school_year(
    actor: Any, school: School, *, name: str, start_date: datetime.date, end_date: datetime.date
) -> SchoolYear:
    school = _require_school(actor, school.pk)
    year = SchoolYear(
        district_id=school.district_id,
        school=school,
        name=(name or "").strip(),
        start_date=start_date,
        end_date=end_date,
    )
    return _create(actor, year, _validate_year, "school_year")


@action
def update_school_year(actor: Any, year: SchoolYear, **changes: Any) -> SchoolYear:
    return _update(actor, year, changes, YEAR_FIELDS, _validate_year, "school_year")


def _validate_term(term: Term, errors: Errors) -> None:
    _dates_ordered(errors, term.start_date, term.end_date)
    year = term.year
    if (
        term.start_date
        and term.end_date
        and not errors.has("end_date")
        and (term.start_date < year.start_date or term.end_date > year.end_date)
    ):
        errors.add(
            None,
            ValidationError(
                _("A term must lie within its school year (%(start)s to %(end)s)."),
                params={"start": year.start_date.isoformat(), "end": year.end_date.isoformat()},
            ),
        )
    if term.name and Term.objects.filter(year_id=term.year_id, name=term.name).exclude(pk=term.pk).exists():
        errors.add("name", _("A term with this name already exists in this school year."))


@action
def create_term(
    actor: Any, year: SchoolYear, *, name: str, start_date: datetime.date, end_date: datetime.date
) -> Term:
    school = _require_school(actor, year.school_id)
    term = Term(
        district_id=school.district_id,
        school=school,
        year=year,
        name=(name or "").strip(),
        start_date=start_date,
        end_date=end_date,
    )
    return _create(actor, term, _validate_term, "term")


@action
def update_term(actor: Any, term: Term, **changes: Any) -> Term:
    return _update(actor, term, changes, TERM_FIELDS, _validate_term, "term")


def _validate_grade(grade: GradeLevel, errors: Errors) -> None:
    if (
        grade.name
        and GradeLevel.objects.filter(school_id=grade.school_id, name=grade.name)
        .exclude(pk=grade.pk)
        .exists()
    ):
        errors.add("name", _("A grade with this name already exists in this school."))


@action
def create_grade_level(actor: Any, school: School, *, name: str, order: int = 1) -> GradeLevel:
    school = _require_school(actor, school.pk)
    grade = GradeLevel(district_id=school.district_id, school=school, name=(name or "").strip(), order=order)
    return _create(actor, grade, _validate_grade, "grade_level")


@action
def update_grade_level(actor: Any, grade: GradeLevel, **changes: Any) -> GradeLevel:
    return _update(actor, grade, changes, GRADE_FIELDS, _validate_grade, "grade_level")


def _validate_class(klass: Class, errors: Errors) -> None:
    sid = klass.school_id
    _same_school(
        errors, "year", klass.year if klass.year_id else None, sid, _("Choose a school year of this school.")
    )
    _same_school(
        errors, "grade", klass.grade if klass.grade_id else None, sid, _("Choose a grade of this school.")
    )
    _same_school(errors, "head_teacher", klass.head_teacher, sid, _("Choose a staff member of this school."))
    _same_school(errors, "room", klass.room, sid, _("Choose a room of this school."))
    if klass.head_teacher is not None and not klass.head_teacher.active:
        errors.add("head_teacher", _("This staff member is no longer active."))
    if (
        klass.name
        and Class.objects.filter(year_id=klass.year_id, name=klass.name).exclude(pk=klass.pk).exists()
    ):
        errors.add("name", _("A class with this name already exists in this school year."))


@action
def create_class(
    actor: Any,
    year: SchoolYear,
    *,
    name: str,
    grade: GradeLevel,
    head_teacher: Staff | None = None,
    room: Room | None = None,
) -> Class:
    school = _require_school(actor, year.school_id)
    klass = Class(
        district_id=school.district_id,
        school=school,
        year=year,
        grade=grade,
        name=(name or "").strip(),
        head_teacher=head_teacher,
        room=room,
    )
    return _create(actor, klass, _validate_class, "class")


@action
def update_class(actor: Any, klass: Class, **changes: Any) -> Class:
    return _update(actor, klass, changes, CLASS_FIELDS, _validate_class, "class")


def set_head_teacher(actor: Any, klass: Class, staff: Staff | None) -> Class:
    """Make staff the head teacher (班主任) of klass, or clear it with None."""
    return update_class(actor, klass, head_teacher=staff)


def _validate_subject(subject: Subject, errors: Errors) -> None:
    if (
        subject.code
        and Subject.objects.filter(school_id=subject.school_id, code=subject.code)
        .exclude(pk=subject.pk)
        .exists()
    ):
        errors.add("code", _("A subject with this code already exists in this school."))


@action
def create_subject(actor: Any, school: School, *, name: str, code: str) -> Subject:
    school = _require_school(actor, school.pk)
    subject = Subject(
        district_id=school.district_id,
        school=school,
        name=(name or "").strip(),
        code=(code or "").strip().upper(),
    )
    return _create(actor, subject, _validate_subject, "subject")


@action
def update_subject(actor: Any, subject: Subject, **changes: Any) -> Subject:
    if "code" in changes:
        changes["code"] = (changes["code"] or "").strip().upper()
    return _update(actor, subject, changes, SUBJECT_FIELDS, _validate_subject, "subject")


def _validate_room(room: Room, errors: Errors) -> None:
    if (
        room.name
        and Room.objects.filter(school_id=room.school_id, building=room.building, name=room.name)
        .exclude(pk=room.pk)
        .exists()
    ):
        errors.add("name", _("A room with this name already exists in this building."))


@action
def create_room(
    actor: Any,
    school: School,
    *,
    name: str,
    building: str = "",
    capacity: int = 0,
    kind: str = Room.Kind.CLASSROOM,
) -> Room:
    school = _require_school(actor, school.pk)
    room = Room(
        district_id=school.district_id,
        school=school,
        name=(name or "").strip(),
        building=(building or "").strip(),
        capacity=capacity or 0,
        kind=kind,
    )
    return _create(actor, room, _validate_room, "room")


@action
def update_room(actor: Any, room: Room, **changes: Any) -> Room:
    return _update(actor, room, changes, ROOM_FIELDS, _validate_room, "room")


# --------------------------------------------------------------------------- people


def _person(district_id: int, data: dict[str, Any], errors: Errors, person: Person | None = None) -> Person:
    person = person or Person(district_id=district_id)
    for key in PERSON_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                value = value.strip()
            if key == "phone":
                value = normalize_phone(value or "")
            if key == "birth_date" and value == "":
                value = None
            setattr(person, key, value if value is not None or key == "birth_date" else "")
    _clean(person, errors, exclude=["user", "district"])
    if person.phone and not (7 <= len(person.phone.lstrip("+")) <= 15):
        errors.add("phone", _("Enter a valid mobile phone number."))
    if person.birth_date and person.birth_date > timezone.localdate():
        errors.add("birth_date", _("The birth date cannot be in the future."))
    return person


@action
def create_staff(
    actor: Any,
    school: School,
    *,
    family_name: str,
    given_name: str,
    staff_number: str,
    title: str = "",
    gender: str = Person.Gender.OTHER,
    phone: str = "",
    email: str = "",
    create_login: bool = False,
) -> Staff:
    """A staff member with a new Person; with create_login, also a login account for their phone.

    The account has no usable password: its owner sets one with the SMS password reset.
    """
    school = _require_school(actor, school.pk)
    errors = Errors()
    person = _person(
        school.district_id,
        {
            "family_name": family_name,
            "given_name": given_name,
            "gender": gender,
            "phone": phone,
            "email": email,
        },
        errors,
    )
    staff = Staff(
        district_id=school.district_id,
        school=school,
        staff_number=(staff_number or "").strip(),
        title=(title or "").strip(),
    )
    _clean(staff, errors, exclude=["person"])
    if staff.staff_number and Staff.objects.filter(school=school, staff_number=staff.staff_number).exists():
        errors.add("staff_number", _("This staff number is already used in this school."))
    User = get_user_model()
    if create_login and not errors.has("phone"):
        if not person.phone:
            errors.add("phone", _("Enter a mobile phone number to create a login."))
        elif User.objects.filter(models.Q(phone=person.phone) | models.Q(username=person.phone)).exists():
            errors.add("phone", _("An account with this phone number already exists."))
    errors.raise_if_any()
    if create_login:
        user = User(username=person.phone, phone=person.phone)
        user.set_unusable_password()
        user.save()
        record(actor, "accounts.user.create", user, None, snapshot(user, ["id", "username", "phone"]))
        person.user = user
    person.save()
    staff.person = person
    staff.save()
    record(actor, "core.person.create", person, None, snapshot(person))
    record(actor, "core.staff.create", staff, None, snapshot(staff))
    return staff


STAFF_FIELDS = ("staff_number", "title", "active")


@action
def update_staff(actor: Any, staff: Staff, **changes: Any) -> Staff:
    """Change a staff member's number, title, active flag and their person's name and contacts."""
    staff = _locked(Staff, staff)
    _require_school(actor, staff.school_id)
    person = _locked(Person, staff.person_id)
    before, person_before = snapshot(staff), snapshot(person)
    raw, person_raw = _raw(staff), _raw(person)
    errors = Errors()
    _person(staff.district_id, {k: v for k, v in changes.items() if k in PERSON_FIELDS}, errors, person)
    _apply(staff, {k: v for k, v in changes.items() if k not in PERSON_FIELDS}, STAFF_FIELDS)
    _clean(staff, errors)
    if (
        Staff.objects.filter(school_id=staff.school_id, staff_number=staff.staff_number)
        .exclude(pk=staff.pk)
        .exists()
    ):
        errors.add("staff_number", _("This staff number is already used in this school."))
    errors.raise_if_any()
    staff.save()
    person.save()
    _record_update(actor, "core.person.update", person, person_before, person_raw)
    _record_update(actor, "core.staff.update", staff, before, raw)
    return staff


def _duplicate_number(district_id: int, number: str, exclude_pk: int | None = None) -> ValidationError | None:
    qs = Student.objects.filter(district_id=district_id, student_number=number)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if number and qs.exists():
        return ValidationError(
            _("Student number %(number)s is already used by another student in this district."),
            code="duplicate",
            params={"number": number},
        )
    return None


@action
def create_student(
    actor: Any,
    school: School,
    *,
    family_name: str,
    given_name: str,
    student_number: str,
    gender: str = Person.Gender.OTHER,
    birth_date: datetime.date | None = None,
    phone: str = "",
    email: str = "",
    national_student_id: str = "",
    national_id: str = "",
    health_notes: str = "",
    klass: Class | None = None,
    enrolled_on: datetime.date | None = None,
) -> Student:
    """A new enrolled student with their Person; placed in klass (an open Enrollment) when given."""
    school = _require_school(actor, school.pk)
    errors = Errors()
    person = _person(
        school.district_id,
        {
            "family_name": family_name,
            "given_name": given_name,
            "gender": gender,
            "birth_date": birth_date,
            "phone": phone,
            "email": email,
        },
        errors,
    )
    enrolled_on = enrolled_on or timezone.localdate()
    student = Student(
        district_id=school.district_id,
        school=school,
        student_number=(student_number or "").strip(),
        national_student_id=(national_student_id or "").strip(),
        national_id=(national_id or "").strip(),
        health_notes=(health_notes or "").strip(),
        status=Student.Status.ENROLLED,
        enrolled_on=enrolled_on,
        current_class=klass,
    )
    _clean(student, errors, exclude=["person"])
    duplicate = _duplicate_number(school.district_id, student.student_number)
    if duplicate is not None:
        errors.add("student_number", duplicate)
    _same_school(errors, "klass", klass, school.pk, _("Choose a class of this school."))
    errors.raise_if_any()
    person.save()
    student.person = person
    student.save()
    if not get_scope(actor).allows("student.manage", student):
        raise NotFound  # rolls the whole action back
    record(actor, "core.person.create", person, None, snapshot(person))
    record(actor, "core.student.create", student, None, snapshot(student))
    if klass is not None:
        enrollment = Enrollment.objects.create(
            district_id=student.district_id,
            school=school,
            student=student,
            klass=klass,
            start_date=enrolled_on,
        )
        record(actor, "core.enrollment.create", enrollment, None, snapshot(enrollment))
        _on_commit(student_placed, students=[student], klass=klass, date=enrolled_on, actor=actor)
    return student


STUDENT_FIELDS = ("student_number", "national_student_id", "national_id", "health_notes", "enrolled_on")


@action
def update_student(actor: Any, student: Student, **changes: Any) -> Student:
    """Edit a student's details and status.

    Status changes: leaving (transferred, graduated, withdrawn) needs `left_on`, closes the open
    Enrollment on that date and clears current_class. Returning to enrolled clears `left_on`; pass
    `klass` (and optionally `start_date`) to place the student in a class again.
    """
    _require_student(actor, student)
    student = _locked(Student, student)
    person = _locked(Person, student.person_id)
    before, person_before = snapshot(student), snapshot(person)
    raw, person_raw = _raw(student), _raw(person)
    old_status = student.status
    changes = dict(changes)
    new_status = changes.pop("status", old_status) or old_status
    left_on = changes.pop("left_on", student.left_on if new_status in LEAVING_STATUSES else None)
    klass = changes.pop("klass", None)
    start_date = changes.pop("start_date", None) or timezone.localdate()

    errors = Errors()
    _person(student.district_id, {k: v for k, v in changes.items() if k in PERSON_FIELDS}, errors, person)
    _apply(student, {k: v for k, v in changes.items() if k not in PERSON_FIELDS}, STUDENT_FIELDS)
    student.status = new_status
    student.left_on = (left_on or None) if new_status in LEAVING_STATUSES else None
    _clean(student, errors)
    duplicate = _duplicate_number(student.district_id, student.student_number, student.pk)
    if duplicate is not None:
        errors.add("student_number", duplicate)

    open_enrollment = (
        Enrollment.objects.select_for_update().filter(student=student, end_date__isnull=True).first()
    )
    leaving = new_status in LEAVING_STATUSES
    if leaving:
        if not student.left_on:
            errors.add("left_on", _("Enter the date the student left."))
        elif open_enrollment and student.left_on < open_enrollment.start_date:
            errors.add(
                "left_on",
                ValidationError(
                    _("The leaving date cannot be before the start of the current class (%(date)s)."),
                    params={"date": open_enrollment.start_date.isoformat()},
                ),
            )
        elif student.enrolled_on and student.left_on < student.enrolled_on:
            errors.add("left_on", _("The leaving date cannot be before the enrolment date."))
        if klass is not None:
            errors.add("klass", _("A student who has left cannot be placed in a class."))
    elif klass is not None:
        _same_school(errors, "klass", klass, student.school_id, _("Choose a class of this school."))
    errors.raise_if_any()

    enrollment_rows: list[tuple[models.Model, Any, Any]] = []
    if leaving and open_enrollment is not None:
        e_before = snapshot(open_enrollment)
        open_enrollment.end_date = student.left_on
        open_enrollment.save(update_fields=["end_date"])
        enrollment_rows.append((open_enrollment, e_before, snapshot(open_enrollment)))
        student.current_class = None
    person.save()
    student.save()
    _record_update(actor, "core.person.update", person, person_before, person_raw)
    _record_update(actor, "core.student.update", student, before, raw)
    if enrollment_rows:
        _record_many(actor, "core.enrollment.close", enrollment_rows)
    if old_status != new_status:
        _on_commit(
            student_status_changed, student=student, old_status=old_status, new_status=new_status, actor=actor
        )
    if not leaving and klass is not None and student.current_class_id != klass.pk:
        _place(actor, [student], klass, start_date)
    return student


def change_student_status(
    actor: Any, student: Student, status: str, date: datetime.date | None = None, klass: Class | None = None
) -> Student:
    """Record a student leaving (transferred, graduated, withdrawn on `date`) or returning (enrolled)."""
    changes: dict[str, Any] = {"status": status}
    if status in LEAVING_STATUSES:
        changes["left_on"] = date
    else:
        changes["left_on"] = None
        if klass is not None:
            changes["klass"] = klass
            changes["start_date"] = date
    return update_student(actor, student, **changes)


def _place(actor: Any, students: list[Student], klass: Class, date: datetime.date) -> list[Enrollment]:
    """Close each student's open Enrollment on `date` and open one in klass. Set-based."""
    ids = [s.pk for s in students]
    errors = Errors()
    if len({s.school_id for s in students} | {klass.school_id}) != 1:
        errors.add("klass", _("Choose a class in the student's school."))
    if any(s.status != Student.Status.ENROLLED for s in students):
        errors.add(None, _("Only enrolled students can be placed in a class."))
    open_rows = list(Enrollment.objects.select_for_update().filter(student_id__in=ids, end_date__isnull=True))
    for row in open_rows:
        if row.klass_id == klass.pk:
            errors.add("klass", _("The student is already in this class."))
            break
    latest = max((row.start_date for row in open_rows), default=None)
    if latest and date < latest:
        errors.add(
            "date",
            ValidationError(
                _("The move date cannot be before the start of the current class (%(date)s)."),
                params={"date": latest.isoformat()},
            ),
        )
    errors.raise_if_any()
    old_class = {row.student_id: row.klass_id for row in open_rows}
    if open_rows:
        Enrollment.objects.filter(pk__in=[r.pk for r in open_rows]).update(end_date=date)
    created = Enrollment.objects.bulk_create(
        Enrollment(
            district_id=s.district_id, school_id=s.school_id, student_id=s.pk, klass=klass, start_date=date
        )
        for s in students
    )
    Student.objects.filter(pk__in=ids).update(current_class=klass)
    rows: list[tuple[models.Model, Any, Any]] = []
    for s in students:
        before_class = old_class.get(s.pk, s.current_class_id)
        s.current_class = klass
        rows.append(
            (s, {"current_class": before_class}, {"current_class": klass.pk, "date": date.isoformat()})
        )
    _record_many(actor, "core.student.move", rows)
    _on_commit(student_placed, students=list(students), klass=klass, date=date, actor=actor)
    return created


@action
def move_students(
    actor: Any, students: Iterable[Student], klass: Class, date: datetime.date | None = None
) -> list[Enrollment]:
    """Move (or first enrol) students into klass from `date` (default today), keeping their history."""
    wanted = {s.pk for s in students}
    if not wanted:
        return []
    found = list(get_scope(actor).queryset("student.manage").select_for_update().filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise NotFound
    if not Class.objects.filter(pk=klass.pk).exists():
        raise NotFound
    return _place(actor, found, klass, date or timezone.localdate())


def move_student(actor: Any, student: Student, klass: Class, date: datetime.date | None = None) -> Enrollment:
    """Move one student into klass: closes the open Enrollment on `date`, opens a new one."""
    enrollment = move_students(actor, [student], klass, date)[0]
    student.current_class = klass
    return enrollment


enroll_student = move_student


# --------------------------------------------------------------------------- guardians


def _require_district(actor: Any, district: District | int) -> int:
    district_id = getattr(district, "pk", district)
    scope = get_scope(actor)
    if not (
        scope.queryset("school.manage").filter(district_id=district_id).exists()
        or scope.queryset("student.manage").filter(district_id=district_id).exists()
    ):
        raise NotFound
    return int(district_id)  # type: ignore[arg-type]


def _find_or_create_guardian(actor: Any, district_id: int, data: dict[str, Any]) -> tuple[Guardian, bool]:
    phone = normalize_phone(data.get("phone") or "")
    if phone:
        existing = (
            Guardian.objects.select_related("person")
            .filter(district_id=district_id, person__phone=phone)
            .order_by("id")
            .first()
        )
        if existing is not None:
            return existing, False
    errors = Errors()
    person = _person(district_id, data, errors)
    if not person.phone:
        errors.add("phone", _("Enter the guardian's mobile phone number."))
    errors.raise_if_any()
    person.save()
    guardian = Guardian.objects.create(district_id=district_id, person=person)
    record(actor, "core.person.create", person, None, snapshot(person))
    record(actor, "core.guardian.create", guardian, None, snapshot(guardian))
    return guardian, True


@action
def create_guardian(
    actor: Any,
    district: District | int,
    *,
    family_name: str,
    given_name: str,
    phone: str,
    gender: str = Person.Gender.OTHER,
    email: str = "",
) -> tuple[Guardian, bool]:
    """A guardian in the district; an existing guardian with the same phone is reused.

    Returns (guardian, created).
    """
    district_id = _require_district(actor, district)
    return _find_or_create_guardian(
        actor,
        district_id,
        {
            "family_name": family_name,
            "given_name": given_name,
            "phone": phone,
            "gender": gender,
            "email": email,
        },
    )


GUARDIANSHIP_FLAGS = ("relationship", "is_primary", "may_pickup", "may_see_records", "receives_notices")


def _only_primary(actor: Any, gs: Guardianship) -> None:
    """Make gs the one primary guardianship of its student."""
    others = list(
        Guardianship.objects.select_for_update()
        .filter(student_id=gs.student_id, is_primary=True)
        .exclude(pk=gs.pk)
    )
    if others:
        Guardianship.objects.filter(pk__in=[o.pk for o in others]).update(is_primary=False)
        _record_many(
            actor,
            "core.guardianship.update",
            [(o, {"is_primary": True}, {"is_primary": False}) for o in others],
        )


@action
def add_guardianship(
    actor: Any,
    student: Student,
    guardian: Guardian,
    *,
    relationship: str,
    is_primary: bool = False,
    may_pickup: bool = True,
    may_see_records: bool = True,
    receives_notices: bool = True,
) -> Guardianship:
    """Link a guardian to a student. The first guardian of a student becomes the primary contact."""
    _require_student(actor, student)
    student = _locked(Student, student)
    errors = Errors()
    if guardian.pk is None or guardian.district_id != student.district_id:
        raise NotFound
    gs = Guardianship(
        district_id=student.district_id,
        school_id=student.school_id,
        guardian=guardian,
        student=student,
        relationship=relationship,
        is_primary=is_primary,
        may_pickup=may_pickup,
        may_see_records=may_see_records,
        receives_notices=receives_notices,
    )
    _clean(gs, errors)
    if Guardianship.objects.filter(student=student, guardian=guardian).exists():
        errors.add(None, _("This guardian is already linked to this student."))
    errors.raise_if_any()
    if not Guardianship.objects.filter(student=student, is_primary=True).exists():
        gs.is_primary = True
    if gs.is_primary:
        _only_primary(actor, gs)
    gs.save()
    record(actor, "core.guardianship.create", gs, None, snapshot(gs))
    _on_commit(guardianship_changed, guardianship=gs, change="added", actor=actor)
    return gs


@action
def add_guardian_to_student(
    actor: Any,
    student: Student,
    *,
    phone: str,
    family_name: str = "",
    given_name: str = "",
    relationship: str,
    is_primary: bool = False,
    may_pickup: bool = True,
    may_see_records: bool = True,
    receives_notices: bool = True,
) -> tuple[Guardianship, bool]:
    """Find the guardian by phone in the student's district (or create them) and link them.

    Returns (guardianship, guardian_created).
    """
    _require_student(actor, student)
    guardian, created = _find_or_create_guardian(
        actor, student.district_id, {"family_name": family_name, "given_name": given_name, "phone": phone}
    )
    gs = add_guardianship(
        actor,
        student,
        guardian,
        relationship=relationship,
        is_primary=is_primary,
        may_pickup=may_pickup,
        may_see_records=may_see_records,
        receives_notices=receives_notices,
    )
    return gs, created


def _require_guardianship(actor: Any, guardianship: Guardianship | int) -> Guardianship:
    gs = Guardianship.objects.select_for_update().filter(pk=getattr(guardianship, "pk", guardianship)).first()
    if gs is None:
        raise NotFound
    _require_student(actor, Student(pk=gs.student_id))
    return gs


@action
def update_guardianship(actor: Any, guardianship: Guardianship | int, **changes: Any) -> Guardianship:
    """Change the relationship and flags. Setting is_primary clears it on the student's other guardians."""
    gs = _require_guardianship(actor, guardianship)
    before, raw = snapshot(gs), _raw(gs)
    _apply(gs, changes, GUARDIANSHIP_FLAGS)
    errors = Errors()
    _clean(gs, errors)
    errors.raise_if_any()
    if gs.is_primary and not before["is_primary"]:
        _only_primary(actor, gs)
    gs.save()
    if _record_update(actor, "core.guardianship.update", gs, before, raw):
        _on_commit(guardianship_changed, guardianship=gs, change="updated", actor=actor)
    return gs


@action
def remove_guardianship(actor: Any, guardianship: Guardianship | int) -> None:
    """Unlink a guardian from a student (the guardian themself stays, as they may have other children)."""
    gs = _require_guardianship(actor, guardianship)
    before = snapshot(gs)
    record(actor, "core.guardianship.delete", gs, before, None)
    gs.delete()
    gs.pk = before["id"]
    _on_commit(guardianship_changed, guardianship=gs, change="removed", actor=actor)


# --------------------------------------------------------------------------- teaching


@action
def assign_teaching(
    actor: Any, teacher: Staff, klass: Class, subject: Subject, term: Term
) -> TeachingAssignment:
    """Teacher teaches subject to klass in term."""
    school = _require_school(actor, klass.school_id)
    errors = Errors()
    _same_school(errors, "teacher", teacher, school.pk, _("Choose a staff member of this school."))
    _same_school(errors, "subject", subject, school.pk, _("Choose a subject of this school."))
    _same_school(errors, "term", term, school.pk, _("Choose a term of this school."))
    if not errors.has("teacher") and not teacher.active:
        errors.add("teacher", _("This staff member is no longer active."))
    if not errors.has("term") and term.year_id != klass.year_id:
        errors.add("term", _("Choose a term of the class's school year."))
    if TeachingAssignment.objects.filter(teacher=teacher, klass=klass, subject=subject, term=term).exists():
        errors.add(None, _("This teacher already teaches this subject to this class in this term."))
    errors.raise_if_any()
    ta = TeachingAssignment.objects.create(
        district_id=school.district_id,
        school=school,
        teacher=teacher,
        klass=klass,
        subject=subject,
        term=term,
    )
    record(actor, "core.teaching_assignment.create", ta, None, snapshot(ta))
    return ta


@action
def unassign_teaching(actor: Any, assignment: TeachingAssignment | int) -> None:
    ta = _locked(TeachingAssignment, assignment)
    _require_school(actor, ta.school_id)
    before = snapshot(ta)
    record(actor, "core.teaching_assignment.delete", ta, before, None)
    ta.delete()
