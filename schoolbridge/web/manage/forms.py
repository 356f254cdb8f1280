"""Forms for the management pages. They only shape input; the actions validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import (
    Class,
    GradeLevel,
    Guardianship,
    Person,
    Room,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    Term,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put an action's field errors on the form's fields (unknown fields become form-level errors)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            form.add_error(target, errors)
    else:
        form.add_error(None, exc.error_list)


def model_choice(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """The form's model choice field `name` (to narrow its queryset)."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


class ManageForm(forms.Form):
    """A form whose choice fields only offer objects of one school."""

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.widget = DATE
            if isinstance(field, forms.ModelChoiceField):
                assert field.queryset is not None
                field.queryset = self.limit(field.queryset.model)

    def limit(self, model: type[models.Model]) -> Any:
        qs = model._default_manager.filter(school=self.school)
        if model is Staff:
            qs = (
                qs.filter(active=True)
                .select_related("person")
                .order_by("person__family_name", "person__given_name")
            )
        if model is Class:
            qs = qs.select_related("grade", "year").order_by("-year__start_date", "grade__order", "name")
        return qs


def model_form(model: type[models.Model], fields: list[str], **extra: Any) -> type[ManageForm]:
    attrs: dict[str, Any] = dict(forms.fields_for_model(model, fields=fields))
    attrs.update(extra)
    return type(f"{model.__name__}ManageForm", (ManageForm,), attrs)


YearForm = model_form(SchoolYear, ["name", "start_date", "end_date"])
TermCreateForm = model_form(Term, ["year", "name", "start_date", "end_date"])
TermForm = model_form(Term, ["name", "start_date", "end_date"])
GradeForm = model_form(GradeLevel, ["name", "order"])
ClassCreateForm = model_form(Class, ["year", "grade", "name", "head_teacher", "room"])
ClassForm = model_form(Class, ["grade", "name", "head_teacher", "room"])
SubjectForm = model_form(Subject, ["name", "code"])
RoomForm = model_form(Room, ["name", "building", "capacity", "kind"])

PERSON = forms.fields_for_model(
    Person, fields=["family_name", "given_name", "gender", "birth_date", "phone", "email"]
)


class StaffCreateForm(ManageForm):
    family_name = PERSON["family_name"]
    given_name = PERSON["given_name"]
    gender = PERSON["gender"]
    staff_number = forms.CharField(label=_("staff number"), max_length=40)
    title = forms.CharField(label=_("title"), max_length=80, required=False)
    phone = forms.CharField(
        label=_("mobile phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("email"), required=False)
    create_login = forms.BooleanField(
        label=_("Create a login for this phone number"),
        required=False,
        help_text=_("They set their own password with the SMS password reset."),
    )


class StaffForm(ManageForm):
    family_name = PERSON["family_name"]
    given_name = PERSON["given_name"]
    staff_number = forms.CharField(label=_("staff number"), max_length=40)
    title = forms.CharField(label=_("title"), max_length=80, required=False)
    phone = forms.CharField(
        label=_("mobile phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    active = forms.BooleanField(label=_("active"), required=False)


class StudentCreateForm(ManageForm):
    family_name = PERSON["family_name"]
    given_name = PERSON["given_name"]
    gender = PERSON["gender"]
    birth_date = forms.DateField(label=_("birth date"), required=False)
    student_number = forms.CharField(label=_("student number"), max_length=40)
    national_student_id = forms.CharField(
        label=_("national student ID (学籍号)"), max_length=40, required=False
    )
    national_id = forms.CharField(label=_("national ID number"), max_length=40, required=False)
    health_notes = forms.CharField(
        label=_("health notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    klass = forms.ModelChoiceField(label=_("class"), queryset=Class.objects.none(), required=False)
    enrolled_on = forms.DateField(label=_("enrolled on"), required=False)


class StudentForm(ManageForm):
    family_name = PERSON["family_name"]
    given_name = PERSON["given_name"]
    gender = PERSON["gender"]
    birth_date = forms.DateField(label=_("birth date"), required=False)
    student_number = forms.CharField(label=_("student number"), max_length=40)
    national_student_id = forms.CharField(
        label=_("national student ID (学籍号)"), max_length=40, required=False
    )
    enrolled_on = forms.DateField(label=_("enrolled on"), required=False)
    national_id = forms.CharField(
        label=_("national ID number"),
        max_length=40,
        required=False,
        help_text=_("Leave empty to keep it unchanged."),
    )
    health_notes = forms.CharField(
        label=_("health notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave empty to keep it unchanged."),
    )


class MoveForm(ManageForm):
    klass = forms.ModelChoiceField(label=_("new class"), queryset=Class.objects.none())
    date = forms.DateField(label=_("from"))


class StatusForm(ManageForm):
    status = forms.ChoiceField(label=_("status"), choices=Student.Status.choices)
    date = forms.DateField(label=_("date"), help_text=_("The date the student left, or returned."))
    klass = forms.ModelChoiceField(
        label=_("class on return"),
        queryset=Class.objects.none(),
        required=False,
        help_text=_("Only when the student is enrolled again."),
    )


class GuardianAddForm(ManageForm):
    phone = forms.CharField(
        label=_("guardian's mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text=_("A guardian already known by this phone in the district is reused."),
    )
    family_name = forms.CharField(label=_("family name"), max_length=60, required=False)
    given_name = forms.CharField(label=_("given name"), max_length=60, required=False)
    relationship = forms.ChoiceField(label=_("relationship"), choices=Guardianship.Relationship.choices)
    is_primary = forms.BooleanField(label=_("primary contact"), required=False)
    may_pickup = forms.BooleanField(label=_("may pick up"), required=False, initial=True)
    may_see_records = forms.BooleanField(label=_("may see records"), required=False, initial=True)
    receives_notices = forms.BooleanField(label=_("receives notices"), required=False, initial=True)


class GuardianshipForm(ManageForm):
    relationship = forms.ChoiceField(label=_("relationship"), choices=Guardianship.Relationship.choices)
    is_primary = forms.BooleanField(label=_("primary contact"), required=False)
    may_pickup = forms.BooleanField(label=_("may pick up"), required=False)
    may_see_records = forms.BooleanField(label=_("may see records"), required=False)
    receives_notices = forms.BooleanField(label=_("receives notices"), required=False)


class AssignForm(ManageForm):
    teacher = forms.ModelChoiceField(label=_("teacher"), queryset=Staff.objects.none())
    subject = forms.ModelChoiceField(label=_("subject"), queryset=Subject.objects.none())
    term = forms.ModelChoiceField(label=_("term"), queryset=Term.objects.none())


class GrantForm(ManageForm):
    who = forms.CharField(label=_("mobile phone or username"), max_length=150)
    role = forms.ChoiceField(label=_("role"), choices=())
    grade = forms.ModelChoiceField(
        label=_("grade"),
        queryset=GradeLevel.objects.none(),
        required=False,
        help_text=_("Only for a grade director."),
    )
    include_records = forms.BooleanField(
        label=_("may see individual records"),
        required=False,
        help_text=_("District roles see aggregates only unless this is set."),
    )

    def __init__(self, *args: Any, roles: list[str], allow_records: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(RoleGrant.Role.choices)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [(r, labels[r]) for r in roles]
        if not allow_records:
            del self.fields["include_records"]


class StudentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search by name or student number"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    klass = forms.ModelChoiceField(
        label=_("class"), queryset=Class.objects.none(), required=False, empty_label=_("All classes")
    )
    status = forms.ChoiceField(
        label=_("status"), required=False, choices=[("", _("All statuses")), *Student.Status.choices]
    )

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice(self, "klass").queryset = (
            Class.objects.filter(school=school)
            .select_related("year", "grade")
            .order_by("-year__start_date", "grade__order", "name")
        )
