"""Leave pages: apply for a child, my requests, waiting for me, a request with its decisions, attachments."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from schoolbridge.access.helpers import NotFound, access_guarded_child_by_id, access_school_by_id

from . import actions
from .forms import DecisionForm, LeaveForm, PolicyForm, StaffLeaveForm, add_action_errors
from .models import Attachment, Decision, LeaveRequest
from .queries import decidable_q, mine, staff_schools, visible_leaves, waiting_for

RELATED = ("student__person", "student__current_class", "staff__person", "school")


def _visible(request: HttpRequest, pk: int) -> LeaveRequest:
    leave = visible_leaves(request.user).select_related(*RELATED).filter(pk=pk).first()
    if leave is None:
        raise NotFound
    return leave


def _can_decide(user: Any, leave: LeaveRequest) -> bool:
    q = decidable_q(user)
    return q is not None and LeaveRequest.objects.filter(q, pk=leave.pk).exists()


def _can_change(user: Any, leave: LeaveRequest) -> bool:
    return leave.is_open and LeaveRequest.objects.filter(actions.own_leave_q(user), pk=leave.pk).exists()


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    leaves = list(mine(request.user).select_related(*RELATED)[:100])
    waiting_count = waiting_for(request.user).count()
    context = {
        "leaves": leaves,
        "waiting_count": waiting_count,
        "is_staff": bool(staff_schools(request.user)),
    }
    return render(request, "leave/mine.html", context)


@login_required
def new_staff_request(request: HttpRequest) -> HttpResponse:
    """A staff member applies for their own leave (by default the principal decides)."""
    schools = staff_schools(request.user)
    if not schools:
        raise NotFound
    form = StaffLeaveForm(request.POST or None, request.FILES or None, schools=schools)
    if request.method == "POST" and form.is_valid():
        try:
            leave = actions.apply_for_staff_leave(
                request.user,
                form.cleaned_data["school"],
                attachments=form.uploads(),
                **form.action_data(),
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Your leave request was sent for approval."))
            return redirect("leave:detail", pk=leave.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "child": None, "leave": None, "staff_form": True}
    return render(request, "leave/form.html", context, status=status)


@login_required
def waiting(request: HttpRequest) -> HttpResponse:
    leaves = list(waiting_for(request.user).select_related(*RELATED)[:200])
    return render(request, "leave/waiting.html", {"leaves": leaves})


@login_required
def new_request(request: HttpRequest) -> HttpResponse:
    child = access_guarded_child_by_id(
        request.user, request.POST.get("student") or request.GET.get("student")
    )
    form = LeaveForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            leave = actions.apply_for_leave(
                request.user, child.pk, attachments=form.uploads(), **form.action_data()
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Your leave request was sent to the school."))
            return redirect("leave:detail", pk=leave.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leave/form.html", {"form": form, "child": child, "leave": None}, status=status)


@login_required
def edit_request(request: HttpRequest, pk: int) -> HttpResponse:
    leave = _visible(request, pk)
    if not _can_change(request.user, leave):
        raise NotFound
    attachments = list(leave.attachments.all())
    initial = {
        "kind": leave.kind,
        "start_date": leave.start_date,
        "end_date": leave.end_date,
        "start_half": leave.start_half,
        "end_half": leave.end_half,
        "periods": [str(p) for p in leave.periods],
        "reason": leave.reason,
        "reason_text": leave.reason_text,
    }
    form = LeaveForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        remove = [int(v) for v in request.POST.getlist("remove_attachment") if v.isdigit()]
        try:
            actions.edit_leave(
                request.user,
                leave.pk,
                attachments=form.uploads(),
                remove_attachments=remove,
                **form.action_data(),
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("leave:detail", pk=leave.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "child": leave.student, "leave": leave, "attachments": attachments}
    return render(request, "leave/form.html", context, status=status)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    leave = _visible(request, pk)
    context = {
        "leave": leave,
        "attachments": list(leave.attachments.all()),
        "decisions": list(Decision.objects.filter(leave=leave).select_related("approver__person")),
        "can_decide": _can_decide(request.user, leave),
        "can_change": _can_change(request.user, leave),
        "can_cancel": leave.status == "pending"
        and LeaveRequest.objects.filter(actions.own_leave_q(request.user), pk=leave.pk).exists(),
        "decision_form": DecisionForm(),
    }
    return render(request, "leave/detail.html", context)


@login_required
@require_POST
def cancel_request(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        actions.cancel_leave(request.user, pk)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The request was cancelled."))
    return redirect("leave:detail", pk=pk)


@login_required
@require_POST
def decide_request(request: HttpRequest, pk: int) -> HttpResponse:
    leave = _visible(request, pk)
    form = DecisionForm(request.POST)
    outcome = request.POST.get("outcome", "")
    if form.is_valid():
        try:
            actions.decide(request.user, leave.pk, outcome, form.cleaned_data["comment"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error("comment" if field == "comment" else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Your decision was saved."))
            return redirect("leave:waiting")
    context = {
        "leave": leave,
        "attachments": list(leave.attachments.all()),
        "decisions": list(Decision.objects.filter(leave=leave).select_related("approver__person")),
        "can_decide": True,
        "can_change": False,
        "can_cancel": False,
        "decision_form": form,
    }
    return render(request, "leave/detail.html", context, status=400)


@login_required
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """An attachment, only for those who may see its request. Never public media."""
    att = Attachment.objects.filter(pk=pk, leave__in=visible_leaves(request.user).values("pk")).first()
    if att is None:
        raise NotFound
    try:
        handle = att.file.open("rb")
    except FileNotFoundError:
        raise NotFound from None
    response = FileResponse(handle, content_type=att.content_type, filename=att.original_name)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
def policy_pick(request: HttpRequest) -> HttpResponse:
    """The approval chains of the school the user manages (a choice when there are several)."""
    from schoolbridge.access.scope import get_scope

    schools = list(get_scope(request.user).queryset("school.manage").order_by("name", "id")[:50])
    if not schools:
        raise NotFound
    if len(schools) == 1:
        return redirect("leave:policy", school_id=schools[0].pk)
    return render(request, "leave/policy_pick.html", {"schools": schools})


@login_required
def policy(request: HttpRequest, school_id: int) -> HttpResponse:
    """The school's approval chains for student and staff leave (school administrators)."""
    school = access_school_by_id(request.user, school_id, "school.manage")
    form = PolicyForm(request.POST or None, initial=actions.current_policy(school.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_policy(request.user, school.pk, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request, _("The approval chain was saved. Requests already sent keep their chain.")
            )
            return redirect("leave:policy", school_id=school.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leave/policy.html", {"form": form, "school": school}, status=status)
