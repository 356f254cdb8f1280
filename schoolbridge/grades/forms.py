"""Forms for grades pages that shape input for the actions (which validate again and write)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import GradeLevel, Subject, Term

from . import actions
from .models import Assessment

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_FULL_MARKS = Decimal("1000")


class AssessmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("For example: 第一次月考"))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Assessment.Kind.choices, initial=Assessment.Kind.MONTHLY
    )
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.none(), empty_label=None)
    grade = forms.ModelChoiceField(label=_("Grade"), queryset=GradeLevel.objects.none())
    date = forms.DateField(label=_("Date"), widget=DATE)

    def __init__(
        self, *args: Any, terms: QuerySet[Term], grades: QuerySet[GradeLevel], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        term_field = self.fields["term"]
        grade_field = self.fields["grade"]
        assert isinstance(term_field, forms.ModelChoiceField)
        assert isinstance(grade_field, forms.ModelChoiceField)
        term_field.queryset = terms
        grade_field.queryset = grades
        today = timezone.localdate()
        current = next((t for t in terms if t.start_date <= today <= t.end_date), None)
        if current is not None:
            self.initial.setdefault("term", current.pk)
        self.initial.setdefault("date", today)
        if grades.count() == 1:
            self.initial.setdefault("grade", grades.first())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        term, day = data.get("term"), data.get("date")
        if term is not None and day is not None and not term.start_date <= day <= term.end_date:
            self.add_error(
                "date",
                _("The date must lie within the term (%(start)s – %(end)s).")
                % {"start": term.start_date.isoformat(), "end": term.end_date.isoformat()},
            )
        return data


class SubjectRowForm(forms.Form):
    """One subject of the school: whether the assessment includes it, and its marks."""

    subject = forms.ModelChoiceField(queryset=Subject.objects.none(), widget=forms.HiddenInput)
    include = forms.BooleanField(required=False)
    full_marks = forms.DecimalField(
        label=_("Full marks"), min_value=1, max_value=MAX_FULL_MARKS, decimal_places=2, required=False
    )
    pass_mark = forms.DecimalField(
        label=_("Pass mark"),
        min_value=0,
        max_value=MAX_FULL_MARKS,
        decimal_places=2,
        required=False,
        help_text=_("Empty: 60 per cent of the full marks."),
    )
    excellent_mark = forms.DecimalField(
        label=_("Excellent mark"),
        min_value=0,
        max_value=MAX_FULL_MARKS,
        decimal_places=2,
        required=False,
        help_text=_("Empty: 85 per cent of the full marks."),
    )
    weight = forms.DecimalField(
        label=_("Weight"), min_value=0, max_value=100, decimal_places=2, required=False
    )

    def __init__(self, *args: Any, subjects: QuerySet[Subject], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["subject"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = subjects
        for name in ("full_marks", "pass_mark", "excellent_mark", "weight"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "class": "mark-input"})

    @property
    def subject_name(self) -> str:
        subject = self.initial.get("subject_obj")
        return subject.name if subject is not None else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("include"):
            return data
        full = data.get("full_marks")
        if full is None and not self.has_error("full_marks"):
            self.add_error("full_marks", _("Enter the full marks of this subject."))
        if data.get("weight") is None and not self.has_error("weight"):
            data["weight"] = Decimal("1")
        pass_mark, excellent = data.get("pass_mark"), data.get("excellent_mark")
        if full is not None:
            if pass_mark is not None and pass_mark > full:
                self.add_error("pass_mark", _("The pass mark cannot be above the full marks."))
            if excellent is not None and excellent > full:
                self.add_error("excellent_mark", _("The excellent mark cannot be above the full marks."))
        if pass_mark is not None and excellent is not None and excellent < pass_mark:
            self.add_error("excellent_mark", _("The excellent mark cannot be below the pass mark."))
        return data

    def spec(self) -> actions.SubjectSpec:
        d = self.cleaned_data
        return actions.SubjectSpec(
            subject=d["subject"],
            full_marks=d["full_marks"],
            pass_mark=d.get("pass_mark"),
            excellent_mark=d.get("excellent_mark"),
            weight=d["weight"] if d.get("weight") is not None else Decimal("1"),
        )


class BaseSubjectRows(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        if any(self.errors):
            return
        if not any(f.cleaned_data.get("include") for f in self.forms):
            raise ValidationError(_("Choose at least one subject."), code="no_subjects")


SubjectRows = forms.formset_factory(SubjectRowForm, formset=BaseSubjectRows, extra=0, max_num=60)


def subject_rows(data: Any, subjects: QuerySet[Subject]) -> BaseSubjectRows:
    """One row per subject of the school, none included until ticked; full marks 100, weight 1."""
    listed = list(subjects)
    initial = [
        {
            "subject": s.pk,
            "subject_obj": s,
            "include": False,
            "full_marks": Decimal("100"),
            "weight": Decimal("1"),
        }
        for s in listed
    ]
    rows = SubjectRows(data, initial=initial, prefix="s", form_kwargs={"subjects": subjects})
    assert isinstance(rows, BaseSubjectRows)
    return rows


def add_action_errors(form: forms.Form, exc: ValidationError) -> list[str]:
    """Put an action's field errors on the form's fields; return its errors about the subjects (shown
    above the subject rows)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.error_list)
        return []
    subject_errors: list[str] = []
    for field, errors in exc.error_dict.items():
        if field == "subjects":
            subject_errors.extend(m for err in errors for m in err.messages)
        elif field in form.fields and field != NON_FIELD_ERRORS:
            form.add_error(field, errors)
        else:
            form.add_error(None, errors)
    return subject_errors
