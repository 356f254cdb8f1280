"""Forms for the conversation pages. They shape input; the actions validate (with field errors) and write."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import LexiconEntry

ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
WEEKDAY_CHOICES = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("7", _("Sunday")),
]


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """An action's field errors on the form's fields (unknown fields become form-level errors)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields and name != NON_FIELD_ERRORS else None, errors)
    else:
        form.add_error(None, exc.error_list)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    attachments = MultipleFileField(
        label=_("Photos or PDF (optional)"),
        help_text=_("JPEG, PNG, WebP or PDF, at most 5 MB each, up to 4."),
        required=False,
    )
    voice = forms.FileField(
        label=_("Voice note (optional)"),
        help_text=_("Record below, or choose a recording (WebM, Ogg or MP4 audio, at most 5 MB)."),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "audio/webm,audio/ogg,audio/mp4,.webm,.ogg,.m4a"}),
    )
    urgent = forms.BooleanField(
        label=_("Urgent: reaches the teacher even in quiet hours (at most 2 a day)"), required=False
    )


class NewThreadForm(MessageForm):
    contact = forms.ChoiceField(label=_("To"))
    subject = forms.CharField(label=pgettext_lazy("message", "Subject"), max_length=120)
    field_order = ["contact", "subject", "text", "attachments", "voice", "urgent"]

    def __init__(self, *args: Any, contacts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", "—")]
        groups: dict[str, list[tuple[str, str]]] = {}
        for c in contacts:
            group = c.student_name or str(_("School staff"))
            groups.setdefault(group, []).append(
                (c.key, f"{c.name} · {c.role_label}" if c.role_label else c.name)
            )
        choices += list(groups.items())
        self.fields["contact"].choices = choices  # type: ignore[attr-defined]


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Your question"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_(
            "Everyone in the class sees the question and the answer. Do not include private details."
        ),
    )


class AnswerForm(forms.Form):
    text = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class QuietHoursForm(forms.Form):
    enabled = forms.BooleanField(label=_("Quiet hours on"), required=False, initial=True)
    start = forms.TimeField(
        label=_("Quiet from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Quiet until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On these days (overnight hours belong to the evening they start)"),
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    auto_reply = forms.CharField(
        label=_("Automatic reply"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=1000,
        help_text=_("Sent at once to a guardian who writes during your quiet hours."),
    )

    def action_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["weekdays"] = "".join(data.get("weekdays") or [])
        return data


class CannedReplyForm(forms.Form):
    school = forms.TypedChoiceField(label=_("School"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=80)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    school_wide = forms.BooleanField(label=_("For everyone in the school"), required=False)

    def __init__(self, *args: Any, schools: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = schools  # type: ignore[attr-defined]


class LexiconForm(forms.Form):
    word = forms.CharField(label=_("Word or phrase"), max_length=60)
    level = forms.ChoiceField(label=_("Level"), choices=LexiconEntry.Level.choices)


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=[("json", "JSON"), ("csv", "CSV")], initial="json")


def default_quiet_initial() -> dict[str, Any]:
    return {
        "enabled": True,
        "start": datetime.time(21, 0),
        "end": datetime.time(7, 0),
        "weekdays": list("1234567"),
    }
