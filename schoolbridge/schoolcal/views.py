"""The calendar management page for school administrators (school.manage)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import NotFound
from schoolbridge.access.scope import get_scope
from schoolbridge.core.errors import InvalidInput
from schoolbridge.core.models import School, Term

from . import actions
from .forms import ExceptionForm, PeriodFormSet, WeekPatternForm
from .models import DEFAULT_WEEKDAYS, WEEKDAY_CHOICES, CalendarException, WeekPattern
from .queries import bell_schedule


def _apply_errors(form: Any, exc: InvalidInput) -> None:
    for field, errs in exc.message_dict.items():
        target = field if field in getattr(form, "fields", {}) else None
        for message in errs:
            form.add_error(target, message)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    schools = list(get_scope(request.user).queryset("school.manage").order_by("name"))
    if not schools:
        raise NotFound
    if len(schools) == 1:
        return redirect("schoolcal:school", school_id=schools[0].pk)
    return render(request, "schoolcal/index.html", {"schools": schools})


def _page(request: HttpRequest, school: School, **forms: Any) -> HttpResponse:
    terms = list(Term.objects.filter(school=school).order_by("-start_date"))
    today = timezone.localdate()
    term_id = request.GET.get("term") or request.POST.get("term")
    term = next((t for t in terms if str(t.pk) == str(term_id)), None)
    if term is None:
        term = next((t for t in terms if t.start_date <= today <= t.end_date), terms[0] if terms else None)
    try:
        weekday = int(request.GET.get("weekday") or request.POST.get("weekday") or 0)
    except ValueError:
        weekday = 0
    weekday = weekday if 0 <= weekday <= 7 else 0
    pattern = WeekPattern.objects.filter(term=term).first() if term else None
    current_days = [int(c) for c in (pattern.weekdays if pattern else DEFAULT_WEEKDAYS)]
    if "bells" not in forms:
        rows = bell_schedule(term, weekday) if term else []
        initial = [
            {"number": r.number, "name": r.name, "start": r.start, "end": r.end, "half": r.half} for r in rows
        ]
        blanks = min(20 - len(rows), max(2, 10 - len(rows)))
        initial += [{"number": None} for _n in range(blanks)]
        forms["bells"] = PeriodFormSet(initial=initial, prefix="p")
    ctx = {
        "school": school,
        "terms": terms,
        "term": term,
        "weekday": weekday,
        "weekday_choices": [(0, _("Every school day")), *WEEKDAY_CHOICES],
        "exceptions": CalendarException.objects.filter(school=school).order_by("-start_date")[:200],
        "exception_form": forms.get("exception") or ExceptionForm(),
        "pattern_form": forms.get("pattern") or WeekPatternForm(initial={"weekdays": current_days}),
        "bells": forms["bells"],
        "today": today,
    }
    return render(
        request,
        "schoolcal/school.html",
        ctx,
        status=400 if any(f.errors for f in forms.values() if hasattr(f, "errors") and f.is_bound) else 200,
    )


def _school(request: HttpRequest, school_id: int) -> School:
    return actions.managed_school(request.user, school_id)


def _back(school: School, term: Any = None, weekday: Any = None) -> HttpResponse:
    url = reverse("schoolcal:school", args=[school.pk])
    params = []
    if term:
        params.append(f"term={int(term)}")
    if weekday:
        params.append(f"weekday={int(weekday)}")
    return redirect(url + ("?" + "&".join(params) if params else ""))


@login_required
def school_calendar(request: HttpRequest, school_id: int) -> HttpResponse:
    return _page(request, _school(request, school_id))


@login_required
@require_POST
def add_exception(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school(request, school_id)
    form = ExceptionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            actions.add_exception(
                request.user,
                school,
                d["kind"],
                d["name"],
                d["start_date"],
                d["end_date"],
                d["follows_weekday"],
            )
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Saved: %(name)s.") % {"name": d["name"]})
            return _back(school, request.POST.get("term"))
    return _page(request, school, exception=form)


@login_required
@require_POST
def remove_exception(request: HttpRequest, school_id: int, exception_id: int) -> HttpResponse:
    school = _school(request, school_id)
    if not CalendarException.objects.filter(pk=exception_id, school=school).exists():
        raise NotFound
    actions.remove_exception(request.user, exception_id)
    messages.success(request, _("Removed."))
    return _back(school, request.POST.get("term"))


def _term(school: School, term_id: Any) -> Term:
    term = Term.objects.filter(school=school, pk=term_id).first() if str(term_id or "").isdigit() else None
    if term is None:
        raise NotFound
    return term


@login_required
@require_POST
def set_pattern(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school(request, school_id)
    term = _term(school, request.POST.get("term"))
    form = WeekPatternForm(request.POST)
    if form.is_valid():
        try:
            actions.set_week_pattern(request.user, term, form.cleaned_data["weekdays"])
        except InvalidInput as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("School days of the week saved."))
            return _back(school, term.pk)
    return _page(request, school, pattern=form)


@login_required
@require_POST
def set_bells(request: HttpRequest, school_id: int) -> HttpResponse:
    school = _school(request, school_id)
    term = _term(school, request.POST.get("term"))
    try:
        weekday = int(request.POST.get("weekday") or 0)
    except ValueError:
        weekday = -1
    formset = PeriodFormSet(request.POST, prefix="p")
    if formset.is_valid():
        used = [(i, f) for i, f in enumerate(formset.forms) if not f.is_blank()]
        rows = [
            actions.PeriodIn(
                number=f.cleaned_data["number"],
                start=f.cleaned_data["start"],
                end=f.cleaned_data["end"],
                half=f.cleaned_data["half"],
                name=f.cleaned_data.get("name") or "",
            )
            for _i, f in used
        ]
        try:
            actions.set_bell_schedule(request.user, term, weekday, rows)
        except InvalidInput as exc:
            for key, errs in exc.message_dict.items():
                parts = key.split(".")
                if len(parts) == 3 and parts[0] == "periods":
                    form = used[int(parts[1])][1]
                    for m in errs:
                        form.add_error(parts[2], m)
                else:
                    messages.error(request, " ".join(str(m) for m in errs))
        else:
            messages.success(request, _("Bell schedule saved."))
            return _back(school, term.pk, weekday)
    return _page(request, school, bells=formset)
