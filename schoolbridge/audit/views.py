"""Audit pages: who read a child's sensitive record (for their guardians), and a school's write log.

Both pages find what they may show through the access layer (access.helpers); the log rows
themselves are then read by that scope only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from schoolbridge.access.grants import Grant
from schoolbridge.access.helpers import NotFound, access_guarded_child_by_id, audit_log_schools
from schoolbridge.access.scope import load_grants
from schoolbridge.core.models import Student

from .log import changes
from .models import AuditEvent, SensitiveRead

PAGE_SIZE = 50

ROLE_LABELS: dict[str, Promise] = {
    "district_admin": _("District administrator"),
    "district_officer": _("District officer"),
    "school_admin": _("School administrator"),
    "principal": _("Principal"),
    "grade_director": _("Grade director"),
    "head_teacher": _("Head teacher"),
    "subject_teacher": _("Subject teacher"),
    "guardian": _("Guardian"),
    "student": _("Student"),
}

VIA_LABELS: dict[str, Promise] = {
    "web": _("website"),
    "api": _("API"),
    "export": _("export"),
}


def _field_label(model_label: str, field: str) -> str:
    try:
        model = apps.get_model(model_label)
        return str(model._meta.get_field(field).verbose_name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return field


def _model_label(model_label: str) -> str:
    try:
        return str(apps.get_model(model_label)._meta.verbose_name)
    except (LookupError, ValueError):
        return model_label


def _person_name(user: Any) -> str:
    person = getattr(user, "person", None) if user is not None else None
    return person.full_name if person is not None else ""


def _page(request: HttpRequest, rows: Any) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Who viewed my child's record -----------------------------------------------------------------


@dataclass
class Viewer:
    """How a reader is shown to a guardian: their name and their role at the child's school."""

    name: str
    roles: list[str]
    is_you: bool = False


def _relevant(grant: Grant, child: Student) -> bool:
    """The grants that concern this child: district offices, roles at the child's school, or
    guardianship of this very child (not the reader's other children)."""
    if grant.role == "guardian":
        return grant.student_id == child.pk
    if grant.role == "student":
        return grant.student_id == child.pk
    if grant.school_id is None:
        return grant.district_id == child.district_id
    return grant.school_id == child.school_id


def _grant_label(grant: Grant, child: Student) -> str:
    role = str(ROLE_LABELS.get(grant.role, grant.role))
    if grant.role in ("guardian", "student"):
        return role
    return f"{role} · {grant.label}"


def _viewers(actors: dict[int, Any], child: Student, me: Any) -> dict[int, Viewer]:
    out: dict[int, Viewer] = {}
    for pk, actor in actors.items():
        labels: list[str] = []
        for grant in load_grants(actor):
            if _relevant(grant, child):
                label = _grant_label(grant, child)
                if label not in labels:
                    labels.append(label)
        out[pk] = Viewer(name=_person_name(actor), roles=labels, is_you=(pk == me.pk))
    return out


@login_required
@require_GET
def child_views(request: HttpRequest, student_id: int) -> HttpResponse:
    """Every read of a child's sensitive fields, newest first, for any guardian of the child."""
    child = access_guarded_child_by_id(request.user, student_id)
    reads = SensitiveRead.objects.filter(student=child).select_related("actor__person").order_by("-at", "-id")
    page = _page(request, reads)
    actors = {r.actor_id: r.actor for r in page.object_list if r.actor_id is not None}
    viewers = _viewers(actors, child, request.user)
    rows = [
        {
            "read": r,
            "viewer": viewers.get(r.actor_id) if r.actor_id is not None else None,
            "field_label": _field_label("core.student", r.field),
            "via_label": str(VIA_LABELS.get(r.via, r.via)),
        }
        for r in page.object_list
    ]
    return render(request, "audit/child_views.html", {"child": child, "page": page, "rows": rows})


# --- The school audit log -------------------------------------------------------------------------


class LogFilterForm(forms.Form):
    type = forms.ChoiceField(label=_("Type of record"), required=False)
    school = forms.TypedChoiceField(label=_("School"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, types: list[str], schools: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = sorted(((t, _model_label(t)) for t in types), key=lambda c: c[1])
        type_field = self.fields["type"]
        assert isinstance(type_field, forms.ChoiceField)
        type_field.choices = [("", gettext("All types")), *choices]
        if len(schools) > 1:
            school_field = self.fields["school"]
            assert isinstance(school_field, forms.ChoiceField)
            school_field.choices = [("", gettext("All schools")), *((s.pk, s.name) for s in schools)]
        else:
            del self.fields["school"]


@dataclass
class Change:
    field: str
    label: str
    before: str
    after: str


def _display(value: Any) -> str:
    if value is None:
        return "—"
    if value == "":
        return gettext("(empty)")
    if value is True:
        return gettext("yes")
    if value is False:
        return gettext("no")
    return str(value)


def _changes(event: AuditEvent) -> list[Change]:
    return [
        Change(
            field=name, label=_field_label(event.object_type, name), before=_display(old), after=_display(new)
        )
        for name, (old, new) in changes(event.before, event.after).items()
    ]


@login_required
@require_GET
def log(request: HttpRequest) -> HttpResponse:
    """The write log of the schools the user administers, newest first, 50 a page."""
    schools = list(audit_log_schools(request.user).order_by("name"))
    if not schools:
        raise NotFound
    school_ids = [s.pk for s in schools]
    events = AuditEvent.objects.filter(school_id__in=school_ids)
    types = list(events.order_by().values_list("object_type", flat=True).distinct())
    form = LogFilterForm(request.GET or None, types=types, schools=schools)
    filters: dict[str, str] = {}
    if form.is_bound and form.is_valid():
        if form.cleaned_data.get("type"):
            events = events.filter(object_type=form.cleaned_data["type"])
            filters["type"] = form.cleaned_data["type"]
        if form.cleaned_data.get("school"):
            events = events.filter(school_id=form.cleaned_data["school"])
            filters["school"] = str(form.cleaned_data["school"])
    events = events.select_related("actor__person", "school").order_by("-at", "-id")
    page = _page(request, events)
    rows = [
        {
            "event": e,
            "actor_name": _person_name(e.actor) or (e.actor.get_username() if e.actor else ""),
            "type_label": _model_label(e.object_type),
            "changes": _changes(e),
        }
        for e in page.object_list
    ]
    query = urlencode(filters)
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "schools": schools,
            "filter_query": query,
            "filtered": bool(filters),
        },
    )
