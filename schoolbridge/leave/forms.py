"""Forms for the leave pages. They only shape input; the actions validate (with field errors) and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from .models import ApproverRole, Half, Kind, Reason

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERIOD_CHOICES = [(str(n), str(n)) for n in range(1, 11)]
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put an action's field errors on the form's fields (unknown fields become form-level errors)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            form.add_error(target, errors)
    else:
        form.add_error(None, exc.error_list)


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Leave for"), choices=Kind.choices, widget=forms.RadioSelect, initial=Kind.DAYS
    )
    start_date = forms.DateField(label=_("From"), widget=DATE, required=False)
    start_half = forms.ChoiceField(
        label=_("Starting"), choices=[("", "—"), *Half.choices], required=False, initial=Half.AM
    )
    end_date = forms.DateField(
        label=_("To"), widget=DATE, required=False, help_text=_("For periods, only the first day is used.")
    )
    end_half = forms.ChoiceField(
        label=_("Ending"), choices=[("", "—"), *Half.choices], required=False, initial=Half.PM
    )
    periods = forms.MultipleChoiceField(
        label=_("Periods"), choices=PERIOD_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *Reason.choices], required=False)
    reason_text = forms.CharField(
        label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=1000
    )
    attachment = forms.FileField(
        label=_("Doctor's note or other document (optional)"),
        help_text=_("A photo (JPEG, PNG, WebP) or a PDF, at most 5 MB."),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def action_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("attachment", None)
        return data

    def uploads(self) -> list[Any]:
        f = self.cleaned_data.get("attachment")
        return [f] if f else []

    def add_action_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict") and "attachments" in exc.error_dict:
            exc.error_dict["attachment"] = exc.error_dict.pop("attachments")
        add_action_errors(self, exc)


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=1000,
        help_text=_("Required when you reject; the family sees it."),
    )


class PolicyForm(forms.Form):
    grade_director_after_days = forms.DecimalField(
        label=_("Grade director as well when the leave is longer than (days)"),
        help_text=_("Leave empty: never. 0: always."),
        required=False,
        min_value=0,
        max_value=60,
        decimal_places=1,
    )
    principal_after_days = forms.DecimalField(
        label=_("Principal as well when the leave is longer than (days)"),
        help_text=_("Leave empty: never. 0: always."),
        required=False,
        min_value=0,
        max_value=60,
        decimal_places=1,
    )
    remind_after_hours = forms.IntegerField(
        label=_("Remind an approver who has not decided after (hours)"), min_value=1, max_value=168
    )
    staff_first = forms.ChoiceField(
        label=_("Staff leave goes first to"),
        choices=[
            (ApproverRole.PRINCIPAL.value, ApproverRole.PRINCIPAL.label),
            (ApproverRole.SCHOOL_ADMIN.value, ApproverRole.SCHOOL_ADMIN.label),
        ],
        required=False,
    )
    staff_principal_after_days = forms.DecimalField(
        label=_("After a school administrator, the principal as well when the leave is longer than (days)"),
        help_text=_("Leave empty: never. 0: always."),
        required=False,
        min_value=0,
        max_value=60,
        decimal_places=1,
    )

    STUDENT_FIELDS = ("grade_director_after_days", "principal_after_days", "remind_after_hours")
    STAFF_FIELDS = ("staff_first", "staff_principal_after_days")

    def student_fields(self) -> list[Any]:
        return [self[name] for name in self.STUDENT_FIELDS]

    def staff_fields(self) -> list[Any]:
        return [self[name] for name in self.STAFF_FIELDS]


class StaffLeaveForm(LeaveForm):
    """A staff member's own leave: the same fields, and the school when they work at several."""

    school = forms.TypedChoiceField(label=_("School"), coerce=int, choices=())

    def __init__(self, *args: Any, schools: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["school"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = schools
        if len(schools) == 1:
            field.widget = forms.HiddenInput()
            self.initial.setdefault("school", schools[0][0])
        self.order_fields(["school"])

    def action_data(self) -> dict[str, Any]:
        data = super().action_data()
        data.pop("school", None)
        return data
