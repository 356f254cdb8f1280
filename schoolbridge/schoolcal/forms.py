"""Forms of the calendar management page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import WEEKDAY_CHOICES, BellPeriod, CalendarException

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ExceptionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=CalendarException.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("For example 国庆节 or 国庆调休."))
    start_date = forms.DateField(label=_("First day"), widget=DATE)
    end_date = forms.DateField(
        label=_("Last day"), widget=DATE, required=False, help_text=_("Leave empty for a single day.")
    )
    follows_weekday = forms.TypedChoiceField(
        label=_("Timetable of (make-up days)"),
        choices=[("", _("its own weekday")), *WEEKDAY_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )


class WeekPatternForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("School days of the week"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )


class PeriodForm(forms.Form):
    number = forms.IntegerField(label=_("Period"), min_value=1, max_value=20, required=False)
    name = forms.CharField(label=_("Name"), max_length=40, required=False)
    start = forms.TimeField(label=_("Start"), widget=TIME, required=False)
    end = forms.TimeField(label=_("End"), widget=TIME, required=False)
    half = forms.ChoiceField(label=_("Half"), choices=[("", "—"), *BellPeriod.Half.choices], required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(k) for k in ("number", "start", "end", "half", "name"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank():
            return data
        for key in ("number", "start", "end", "half"):
            if not data.get(key) and key not in self.errors:
                self.add_error(key, _("This field is required."))
        return data


PeriodFormSet = forms.formset_factory(PeriodForm, extra=0, max_num=20, absolute_max=20)
