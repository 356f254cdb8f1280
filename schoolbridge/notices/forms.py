"""Forms for the notice pages. They shape input; the actions validate (with field errors) and write."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import Class, GradeLevel, Guardianship, School, Student, Subject

from .files import ACCEPT
from .models import NoticeGroup, Priority
from .permissions import Reach

MAX_FAMILY_CHOICES = 400


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put an action's field errors on the form's fields (unknown fields become form-level errors)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            if field == "audience" and "audience" not in form.fields:
                target = None
            form.add_error(target, errors)
    else:
        form.add_error(None, exc.error_list)


# Marks a textarea for the rich-text editor (static/notices/richtext.js), with its button names.
RICH_TEXT = {
    "data-richtext": "",
    "data-rt-toolbar": _("Formatting"),
    "data-rt-bold": _("Bold"),
    "data-rt-italic": _("Italic"),
    "data-rt-underline": _("Underline"),
    "data-rt-heading": _("Heading"),
    "data-rt-bullets": _("Bulleted list"),
    "data-rt-numbers": _("Numbered list"),
    "data-rt-link": _("Link"),
    "data-rt-link-prompt": _("Link address (https://…)"),
    "data-rt-clear": _("Clear formatting"),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def audience_choices(r: Reach, school: School) -> tuple[list[tuple[str, str]], list[tuple[str, Any]]]:
    """(group choices: school, staff, grades, classes) and (family choices grouped by class)."""
    groups: list[tuple[str, str]] = []
    if r.whole_school:
        groups.append((f"school:{school.pk}", str(_("All families of %(school)s") % {"school": school.name})))
    if r.staff:
        groups.append((f"staff:{school.pk}", str(_("All staff of %(school)s") % {"school": school.name})))
        groups.append((f"staff_heads:{school.pk}", str(_("All head teachers (班主任)"))))
    for g in GradeLevel.objects.filter(pk__in=r.staff_grade_ids).order_by("order"):
        groups.append((f"staff_grade:{g.pk}", str(_("Teachers of %(grade)s") % {"grade": g.name})))
    if r.staff:
        for subject in Subject.objects.filter(school=school).order_by("name"):
            groups.append(
                (f"staff_subj:{subject.pk}", str(_("%(subject)s teachers") % {"subject": subject.name}))
            )
    for g in GradeLevel.objects.filter(pk__in=r.grade_ids).order_by("order"):
        groups.append((f"grade:{g.pk}", str(_("All families of %(grade)s") % {"grade": g.name})))
    classes = list(Class.objects.filter(pk__in=r.class_ids).order_by("grade__order", "name"))
    for c in classes:
        groups.append((f"class:{c.pk}", str(_("All families of %(class)s") % {"class": c.name})))
    families: list[tuple[str, Any]] = []
    students = list(
        Student.objects.filter(current_class__in=classes, status=Student.Status.ENROLLED)
        .select_related("person", "current_class")
        .order_by("current_class__grade__order", "current_class__name", "student_number")[
            : MAX_FAMILY_CHOICES + 1
        ]
    )
    if len(students) <= MAX_FAMILY_CHOICES:
        by_class: dict[str, list[tuple[str, str]]] = {}
        for s in students:
            label = str(_("Family of %(child)s") % {"child": s.person.full_name})
            by_class.setdefault(s.current_class.name if s.current_class else "—", []).append(
                (f"guardians:{s.pk}", label)
            )
        families = list(by_class.items())
    return groups, families


class ComposeForm(forms.Form):
    school = forms.TypedChoiceField(label=_("School"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Notice"),
        widget=forms.Textarea(attrs={"rows": 8, **RICH_TEXT}),
        max_length=20000,
        help_text=_("Use the toolbar for bold text, headings, lists and links. Web addresses become links."),
    )
    audience = forms.MultipleChoiceField(
        label=_("Send to"), widget=forms.CheckboxSelectMultiple, required=False
    )
    families = forms.MultipleChoiceField(
        label=_("Or selected families"), widget=forms.CheckboxSelectMultiple, required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, widget=forms.RadioSelect, initial=Priority.NORMAL
    )
    confirmation_required = forms.BooleanField(label=_("Ask families to confirm (回执)"), required=False)
    signature_required = forms.BooleanField(
        label=_("The confirmation needs the guardian's typed name as a signature"), required=False
    )
    send_at = forms.DateTimeField(
        label=_("Send at (leave empty to send now)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Photos, PDF, Word, Excel or PowerPoint files; at most 5, each up to 10 MB."),
    )
    remind_after_hours = forms.IntegerField(
        label=_("In-app reminder to the unread after (hours)"), required=False, min_value=0, max_value=720
    )
    sms_after_hours = forms.IntegerField(
        label=_("Text message to the unread after (hours)"), required=False, min_value=0, max_value=720
    )
    escalate_after_hours = forms.IntegerField(
        label=_("List of unreached families to the head teacher after (hours)"),
        required=False,
        min_value=0,
        max_value=720,
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(
        self,
        *args: Any,
        schools: list[School],
        reach: Reach | None,
        school: School | None,
        groups: list[NoticeGroup] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["school"]).choices = [(s.pk, s.name) for s in schools]
        if len(schools) == 1:
            self.fields["school"].widget = forms.HiddenInput()
        if not self.is_bound and not self.initial.get("idempotency_key"):
            self.initial["idempotency_key"] = uuid.uuid4().hex
        if reach is not None and school is not None:
            groups_, families = audience_choices(reach, school)
            groups_ += [(f"group:{g.pk}", str(_("Group: %(name)s") % {"name": g.name})) for g in groups or []]
            cast(forms.ChoiceField, self.fields["audience"]).choices = groups_
            cast(forms.ChoiceField, self.fields["families"]).choices = families
        if not cast(forms.ChoiceField, self.fields["families"]).choices:
            del self.fields["families"]

    def action_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "title": d["title"],
            "body": d["body"],
            "audience": list(d.get("audience") or []) + list(d.get("families") or []),
            "priority": d["priority"],
            "confirmation_required": d["confirmation_required"],
            "signature_required": d["signature_required"],
            "send_at": d.get("send_at"),
            "attachments": d.get("attachments") or [],
            "idempotency_key": d.get("idempotency_key") or "",
            "remind_after_hours": d.get("remind_after_hours"),
            "sms_after_hours": d.get("sms_after_hours"),
            "escalate_after_hours": d.get("escalate_after_hours"),
        }


class EditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Notice"), widget=forms.Textarea(attrs={"rows": 8, **RICH_TEXT}), max_length=20000
    )


class ConfirmForm(forms.Form):
    signature = forms.CharField(
        label=_("Your name (signature)"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class TemplateForm(forms.Form):
    school = forms.TypedChoiceField(label=_("School"), coerce=int)
    name = forms.CharField(label=_("Template name"), max_length=80)
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(
        label=_("Notice"), widget=forms.Textarea(attrs={"rows": 6, **RICH_TEXT}), max_length=20000
    )
    confirmation_required = forms.BooleanField(label=_("Ask families to confirm (回执)"), required=False)
    library = forms.BooleanField(label=_("Add to the school's library (for every teacher)"), required=False)

    def __init__(self, *args: Any, schools: list[School], may_library: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["school"]).choices = [(s.pk, s.name) for s in schools]
        if len(schools) == 1:
            self.fields["school"].widget = forms.HiddenInput()
            self.initial.setdefault("school", schools[0].pk)
        if not may_library:
            del self.fields["library"]


class PolicyForm(forms.Form):
    remind_after_hours = forms.IntegerField(
        label=_("In-app reminder to the unread after (hours)"),
        min_value=0,
        max_value=720,
        help_text=_("0 turns this step off."),
    )
    sms_after_hours = forms.IntegerField(
        label=_("Text message to the unread after (hours)"),
        min_value=0,
        max_value=720,
        help_text=_("0 turns this step off."),
    )
    escalate_after_hours = forms.IntegerField(
        label=_("List of unreached families to the head teacher after (hours)"),
        min_value=0,
        max_value=720,
        help_text=_("0 turns this step off."),
    )


def _full_name(family: str, given: str) -> str:
    """As Person.full_name, from the two columns."""
    if family.isascii() and given.isascii():
        return f"{given} {family}".strip()
    return f"{family}{given}"


def guardian_choices(reach: Reach, limit: int = MAX_FAMILY_CHOICES) -> list[tuple[str, str]]:
    """Guardian accounts of the families within reach, labelled with their children."""
    rows = (
        Guardianship.objects.filter(reach.student_q("student__"), guardian__person__user__isnull=False)
        .order_by(
            "student__current_class__grade__order", "student__current_class__name", "student__student_number"
        )
        .values_list(
            "guardian__person__user_id",
            "guardian__person__family_name",
            "guardian__person__given_name",
            "student__person__family_name",
            "student__person__given_name",
        )[: limit * 3]
    )
    labels: dict[int, tuple[str, list[str]]] = {}
    for uid, gf, gg, sf, sg in rows:
        entry = labels.setdefault(uid, (_full_name(gf, gg), []))
        entry[1].append(_full_name(sf, sg))
    return [
        (
            str(uid),
            str(_("%(guardian)s (guardian of %(children)s)") % {"guardian": g, "children": "、".join(kids)}),
        )
        for uid, (g, kids) in list(labels.items())[:limit]
    ]


class GroupForm(forms.Form):
    school = forms.TypedChoiceField(label=_("School"), coerce=int)
    name = forms.CharField(label=_("Group name"), max_length=80)
    shared = forms.BooleanField(label=_("Share with the school's other senders"), required=False)
    students = forms.MultipleChoiceField(
        label=_("Families"), widget=forms.CheckboxSelectMultiple, required=False
    )
    guardians = forms.MultipleChoiceField(
        label=_("Guardian accounts"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(
        self, *args: Any, schools: list[School], reach: Reach, school: School, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["school"]).choices = [(s.pk, s.name) for s in schools]
        if len(schools) == 1:
            self.fields["school"].widget = forms.HiddenInput()
        _groups, families = audience_choices(reach, school)
        cast(forms.ChoiceField, self.fields["students"]).choices = [
            (cls, [(value.split(":", 1)[1], label) for value, label in options]) for cls, options in families
        ]
        cast(forms.ChoiceField, self.fields["guardians"]).choices = guardian_choices(reach)
