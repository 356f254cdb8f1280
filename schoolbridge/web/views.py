"""Portal pages: the home of each role, the child page, the role switch."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import SENSITIVE_FIELDS, access_student_by_id, read_sensitive

from . import queries
from .context import portal_known_unread

SENSITIVE_LABELS = {"national_id": _("National ID number"), "health_notes": _("Health notes")}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    grant = queries.active_grant(request)
    if grant is None:
        return render(request, "web/home_unbound.html")
    kind = grant.home_kind
    if kind == "guardian":
        context = queries.guardian_home(request.user)
        portal_known_unread(request, context.pop("unread"))
        return render(request, "web/home_guardian.html", context)
    if kind == "teacher":
        return render(request, "web/home_teacher.html", queries.teacher_home(request.user, grant))
    if kind == "school":
        return render(request, "web/home_school.html", queries.school_home(request.user, grant))
    if kind == "district":
        return render(request, "web/home_district.html", queries.district_home(request.user, grant))
    return render(request, "web/home_student.html", queries.student_home(request.user, grant))


class SwitchRoleForm(forms.Form):
    grant = forms.CharField(label=_("Role"), max_length=200)


@login_required
@require_POST
def switch_role(request: HttpRequest) -> HttpResponse:
    form = SwitchRoleForm(request.POST)
    if form.is_valid() and queries.find_grant(request.user, form.cleaned_data["grant"]) is not None:
        request.session[queries.SESSION_KEY] = form.cleaned_data["grant"]
    return redirect("home")


@login_required
def child_detail(request: HttpRequest, student_id: int) -> HttpResponse:
    context = queries.child_detail(request.user, student_id)
    context["sensitive_fields"] = [(name, SENSITIVE_LABELS[name], None) for name in SENSITIVE_FIELDS]
    return render(request, "web/child_detail.html", context)


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[(f, f) for f in SENSITIVE_FIELDS])


@login_required
@require_POST
def reveal_sensitive(request: HttpRequest, student_id: int) -> HttpResponse:
    """Show one sensitive field. Every read is logged (access.helpers.read_sensitive); 404 if not allowed."""
    student = access_student_by_id(request.user, student_id, "student.sensitive")
    form = RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    name = form.cleaned_data["field"]
    value = read_sensitive(request.user, student, name, via="web")
    if request.headers.get("HX-Request"):
        return render(
            request,
            "web/_sensitive_value.html",
            {"name": name, "label": SENSITIVE_LABELS[name], "value": value, "student": student},
        )
    context = queries.child_detail(request.user, student_id)
    context["sensitive_fields"] = [
        (f, SENSITIVE_LABELS[f], value if f == name else None) for f in SENSITIVE_FIELDS
    ]
    return render(request, "web/child_detail.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
