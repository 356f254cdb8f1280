"""The school tree and the people in it.

Every row of school data carries its district key and, where it belongs to one school, its school
key, so that every query can be scoped (and the data sharded) by tenant.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField


class District(models.Model):
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("district")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="schools")
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=40)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("school")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["district", "code"], name="school_code_unique_in_district")]

    def __str__(self) -> str:
        return self.name


class SchoolYear(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="years")
    name = models.CharField(_("name"), max_length=60)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))

    class Meta:
        verbose_name = _("school year")
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="year_name_unique_in_school"),
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="year_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(_("name"), max_length=60)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))

    class Meta:
        verbose_name = _("term")
        ordering = ["start_date"]
        constraints = [
            models.UniqueConstraint(fields=["year", "name"], name="term_name_unique_in_year"),
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="term_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class GradeLevel(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="grade_levels")
    name = models.CharField(_("name"), max_length=60)
    order = models.PositiveSmallIntegerField(_("order"), default=1)

    class Meta:
        verbose_name = _("grade level")
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="grade_name_unique_in_school")]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")
        OTHER = "X", _("other / not stated")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    family_name = models.CharField(_("family name"), max_length=60)
    given_name = models.CharField(_("given name"), max_length=60)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, default=Gender.OTHER)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )

    class Meta:
        verbose_name = _("person")

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        # Chinese order (family name first, no space) unless the name is Latin script.
        if self.family_name.isascii() and self.given_name.isascii():
            return f"{self.given_name} {self.family_name}".strip()
        return f"{self.family_name}{self.given_name}"


class Staff(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="staff")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="staff_roles")
    staff_number = models.CharField(_("staff number"), max_length=40)
    title = models.CharField(_("title"), max_length=80, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        constraints = [
            models.UniqueConstraint(fields=["school", "staff_number"], name="staff_number_unique_in_school"),
            models.UniqueConstraint(fields=["school", "person"], name="staff_person_unique_in_school"),
        ]

    def __str__(self) -> str:
        return str(self.person)


class Subject(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="subjects")
    name = models.CharField(_("name"), max_length=80)
    code = models.CharField(_("code"), max_length=20)

    class Meta:
        verbose_name = _("subject")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["school", "code"], name="subject_code_unique_in_school")]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    class Kind(models.TextChoices):
        CLASSROOM = "classroom", _("classroom")
        LAB = "lab", _("laboratory")
        GYM = "gym", _("gymnasium")
        HALL = "hall", _("hall")
        OTHER = "other", _("other")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("name"), max_length=80)
    building = models.CharField(_("building"), max_length=80, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"), default=0)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.CLASSROOM)

    class Meta:
        verbose_name = _("room")
        ordering = ["building", "name"]
        constraints = [models.UniqueConstraint(fields=["school", "building", "name"], name="room_unique_in_school")]

    def __str__(self) -> str:
        return f"{self.building} {self.name}".strip()


class Class(models.Model):
    """A homeroom class (行政班) in one school year."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="classes")
    grade = models.ForeignKey(GradeLevel, on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(_("name"), max_length=60)
    head_teacher = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="head_of_classes"
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["grade__order", "name"]
        constraints = [models.UniqueConstraint(fields=["year", "name"], name="class_name_unique_in_year")]

    def __str__(self) -> str:
        return self.name


class Student(models.Model):
    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("enrolled")
        TRANSFERRED = "transferred", _("transferred")
        GRADUATED = "graduated", _("graduated")
        WITHDRAWN = "withdrawn", _("withdrawn")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="students")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="student")
    student_number = models.CharField(_("student number"), max_length=40)
    national_student_id = models.CharField(_("national student ID (学籍号)"), max_length=40, blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True)
    health_notes = EncryptedTextField(_("health notes"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ENROLLED)
    enrolled_on = models.DateField(_("enrolled on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    # Denormalised from the open Enrollment; kept in step by core.actions.enroll_student.
    current_class = models.ForeignKey(
        Class, null=True, blank=True, on_delete=models.SET_NULL, related_name="current_students"
    )

    class Meta:
        verbose_name = _("student")
        constraints = [
            models.UniqueConstraint(fields=["district", "student_number"], name="student_number_unique_in_district")
        ]
        indexes = [models.Index(fields=["school", "status"])]

    def __str__(self) -> str:
        return str(self.person)


class Guardian(models.Model):
    """A parent or carer. District-level: one guardian covers children in any school of the district."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="guardian")

    class Meta:
        verbose_name = _("guardian")

    def __str__(self) -> str:
        return str(self.person)


class Guardianship(models.Model):
    class Relationship(models.TextChoices):
        FATHER = "father", _("father")
        MOTHER = "mother", _("mother")
        GRANDFATHER = "grandfather", _("grandfather")
        GRANDMOTHER = "grandmother", _("grandmother")
        STEP_PARENT = "step_parent", _("step-parent")
        FOSTER = "foster", _("foster carer")
        RELATIVE = "relative", _("other relative")
        OTHER = "other", _("other")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardianships")
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    may_pickup = models.BooleanField(_("may pick up"), default=True)
    may_see_records = models.BooleanField(_("may see records"), default=True)
    receives_notices = models.BooleanField(_("receives notices"), default=True)

    class Meta:
        verbose_name = _("guardianship")
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardianship_unique")]
        # Covers "the guardians of these students" without reading the rows (the school overview counts
        # the guardians of a school's students on every visit).
        indexes = [models.Index(fields=["student", "guardian"], name="guardianship_student_guardian")]

    def __str__(self) -> str:
        return f"{self.guardian_id} → {self.student_id} ({self.relationship})"


class Enrollment(models.Model):
    """A student in a class over a date range; history is kept (end_date set, never deleted)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    klass = models.ForeignKey(Class, on_delete=models.CASCADE, related_name="enrollments")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(end_date__isnull=True), name="one_open_enrollment_per_student"
            )
        ]
        indexes = [models.Index(fields=["klass", "end_date"])]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.klass_id} from {self.start_date}"


class TeachingAssignment(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    teacher = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="assignments")
    klass = models.ForeignKey(Class, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="assignments")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        verbose_name = _("teaching assignment")
        constraints = [
            models.UniqueConstraint(fields=["teacher", "klass", "subject", "term"], name="assignment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id} teaches {self.subject_id} in {self.klass_id}"
