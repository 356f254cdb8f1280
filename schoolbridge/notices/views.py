"""Notice pages: my notices, compose, a notice for its recipient (read, confirm), the sender's live
progress, edit, withdraw, remind, attachments, templates and the school's reminder policy."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from schoolbridge.access.helpers import NotFound, _pk
from schoolbridge.core.models import School

from . import actions, queries
from .forms import ComposeForm, ConfirmForm, EditForm, GroupForm, PolicyForm, TemplateForm, add_action_errors
from .models import Notice, NoticeAttachment, NoticeGroup, NoticeTemplate, Receipt, Status
from .permissions import can_edit_group, can_edit_library, can_manage, reach, sending_schools, visible_groups

RATE_DAYS = 30
RATE_ROWS = 50


def _notice(pk: Any) -> Notice:
    notice = Notice.objects.select_related("school", "author__person").filter(pk=_pk(pk) or 0).first()
    if notice is None:
        raise NotFound
    return notice


def _managed(request: HttpRequest, pk: Any) -> Notice:
    notice = _notice(pk)
    if not can_manage(request.user, notice):
        raise NotFound
    return notice


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    received = list(queries.received_by(request.user)[:100])
    sent = list(queries.sent_by(request.user)[:100])
    schools = sending_schools(request.user)
    since = timezone.now() - datetime.timedelta(days=RATE_DAYS)
    family_rates = [
        {"school": s, "rows": queries.family_read_rates(s, since)[:RATE_ROWS]}
        for s in schools
        if can_edit_library(request.user, s.pk)
    ]
    return render(
        request,
        "notices/index.html",
        {
            "received": received,
            "sent": sent,
            "may_send": bool(schools),
            "family_rates": family_rates,
            "rate_days": RATE_DAYS,
        },
    )


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    schools = sending_schools(request.user)
    if not schools:
        raise NotFound
    wanted = _pk(request.POST.get("school") or request.GET.get("school"))
    school = next((s for s in schools if s.pk == wanted), schools[0])
    initial: dict[str, Any] = {"school": school.pk}
    template_id = _pk(request.GET.get("template"))
    if template_id:
        t = NoticeTemplate.objects.filter(
            Q(owner__isnull=True) | Q(owner=request.user), pk=template_id, school=school
        ).first()
        if t is not None:
            initial.update(title=t.title, body=t.body, confirmation_required=t.confirmation_required)
    r = reach(request.user, school.pk)
    form = ComposeForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        schools=schools,
        reach=r,
        school=school,
        groups=list(visible_groups(request.user, school.pk)),
    )
    if request.method == "POST" and form.is_valid():
        try:
            notice = actions.send_notice(request.user, school.pk, **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            if notice.status == Status.SCHEDULED:
                messages.success(request, _("The notice is scheduled."))
            else:
                messages.success(request, _("The notice was sent."))
            return redirect("notices:progress", pk=notice.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "school": school,
        "schools": schools,
        "templates": actions.templates_for(request.user, school.pk),
    }
    return render(request, "notices/compose.html", context, status=status)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The recipient's view: opening it is the read receipt. Managers go to the progress page."""
    receipt = (
        Receipt.objects.filter(notice_id=pk, user_id=request.user.pk or 0).select_related("notice").first()
    )
    if receipt is None or receipt.notice.status != Status.SENT:
        notice = Notice.objects.filter(pk=pk).first()
        if notice is not None and can_manage(request.user, notice):
            return redirect("notices:progress", pk=pk)
        if receipt is not None and receipt.notice.status == Status.WITHDRAWN:
            return render(request, "notices/withdrawn.html", {"notice": receipt.notice}, status=410)
        raise NotFound
    receipt = actions.mark_read(request.user, pk)
    return _recipient_page(request, receipt, ConfirmForm())


def _recipient_page(
    request: HttpRequest, receipt: Receipt, form: ConfirmForm, status: int = 200
) -> HttpResponse:
    notice = _notice(receipt.notice_id)
    context = {
        "notice": notice,
        "receipt": receipt,
        "attachments": list(notice.attachments.all()),
        "confirm_form": form,
    }
    return render(request, "notices/detail.html", context, status=status)


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = queries.receipt_of(request.user, pk)
    if receipt is None or receipt.notice.status != Status.SENT:
        raise NotFound
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            actions.confirm(request.user, pk, form.cleaned_data["signature"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Thank you, your confirmation was sent to the school."))
            return redirect("notices:detail", pk=pk)
    return _recipient_page(request, receipt, form, status=400)


def _progress_context(notice: Notice) -> dict[str, Any]:
    t = queries.totals(notice.pk)
    return {
        "notice": notice,
        "totals": t,
        "families_percent": round(100 * t["reached"] / t["families"]) if t["families"] else 0,
        "classes": queries.per_class(notice.pk),
        "unread": queries.unread(notice.pk),
    }


@login_required
@require_GET
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _managed(request, pk)
    context = _progress_context(notice)
    context.update(
        attachments=list(notice.attachments.all()),
        versions=list(notice.versions.select_related("edited_by")),
        audiences=list(notice.audiences.all()),
    )
    return render(request, "notices/progress.html", context)


@login_required
@require_GET
def progress_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the progress page (fetched when the socket says something changed, or polled)."""
    notice = _managed(request, pk)
    response = render(request, "notices/_progress.html", _progress_context(notice))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    _managed(request, pk)
    try:
        count = actions.remind_unread(request.user, pk)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(request, _("Reminded %(n)d who have not read yet.") % {"n": count})
    return redirect("notices:progress", pk=pk)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    _managed(request, pk)
    actions.withdraw_notice(request.user, pk)
    messages.success(request, _("The notice was withdrawn from every inbox."))
    return redirect("notices:progress", pk=pk)


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _managed(request, pk)
    if notice.status == Status.WITHDRAWN:
        raise NotFound
    form = EditForm(request.POST or None, initial={"title": notice.title, "body": notice.body})
    if request.method == "POST" and form.is_valid():
        try:
            actions.edit_notice(request.user, pk, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The notice was changed; the earlier text is kept in its history."))
            return redirect("notices:progress", pk=pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "notices/edit.html", {"form": form, "notice": notice}, status=status)


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """An attachment, for the notice's managers and its recipients while it is sent. Never public media."""
    att = NoticeAttachment.objects.select_related("notice").filter(pk=_pk(pk) or 0).first()
    if att is None:
        raise NotFound
    notice = att.notice
    allowed = can_manage(request.user, notice) or (
        notice.status == Status.SENT
        and Receipt.objects.filter(notice=notice, user_id=request.user.pk or 0).exists()
    )
    if not allowed:
        raise NotFound
    try:
        handle = att.file.open("rb")
    except FileNotFoundError:
        raise NotFound from None
    inline = att.is_image or att.content_type == "application/pdf"
    response = FileResponse(
        handle, content_type=att.content_type, filename=att.original_name, as_attachment=not inline
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
def templates(request: HttpRequest) -> HttpResponse:
    schools = sending_schools(request.user)
    if not schools:
        raise NotFound
    may_library = any(can_edit_library(request.user, s.pk) for s in schools)
    form = TemplateForm(request.POST or None, schools=schools, may_library=may_library)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.save_template(
                request.user,
                d["school"],
                name=d["name"],
                title=d["title"],
                body=d["body"],
                library=bool(d.get("library")),
                confirmation_required=d["confirmation_required"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The template was saved."))
            return redirect("notices:templates")
    rows = []
    for s in schools:
        for t in actions.templates_for(request.user, s.pk):
            rows.append(
                {
                    "t": t,
                    "school": s,
                    "deletable": t.owner_id == request.user.pk or can_edit_library(request.user, s.pk),
                }
            )
    status = 400 if request.method == "POST" else 200
    return render(request, "notices/templates.html", {"form": form, "rows": rows}, status=status)


@login_required
@require_POST
def delete_template(request: HttpRequest, pk: int) -> HttpResponse:
    actions.delete_template(request.user, pk)
    messages.success(request, _("The template was deleted."))
    return redirect("notices:templates")


@login_required
def policy(request: HttpRequest, school_id: int) -> HttpResponse:
    if not can_edit_library(request.user, school_id):
        raise NotFound
    school = School.objects.get(pk=school_id)
    form = PolicyForm(request.POST or None, initial=actions.current_policy(school.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_policy(request.user, school.pk, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The reminder policy was saved."))
            return redirect("notices:policy", school_id=school.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "notices/policy.html", {"form": form, "school": school}, status=status)


def _group_page(request: HttpRequest, group: NoticeGroup | None) -> HttpResponse:
    schools = sending_schools(request.user)
    if not schools:
        raise NotFound
    if group is not None:
        schools = [s for s in schools if s.pk == group.school_id]
        if not schools:
            raise NotFound
    wanted = _pk(request.POST.get("school") or request.GET.get("school"))
    school = next((s for s in schools if s.pk == wanted), schools[0])
    initial: dict[str, Any] = {"school": school.pk}
    if group is not None:
        initial.update(
            name=group.name,
            shared=group.shared,
            students=[str(pk) for pk in group.students.values_list("pk", flat=True)],
            guardians=[str(pk) for pk in group.guardians.values_list("pk", flat=True)],
        )
    form = GroupForm(
        request.POST or None,
        initial=initial,
        schools=schools,
        reach=reach(request.user, school.pk),
        school=school,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.save_group(
                request.user,
                school.pk,
                name=d["name"],
                shared=d["shared"],
                students=d["students"],
                guardians=d["guardians"],
                group_id=group.pk if group else None,
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The group was saved."))
            return redirect("notices:groups")
    rows = []
    if group is None:
        for s in schools:
            for g in visible_groups(request.user, s.pk).select_related("owner__person"):
                rows.append({"g": g, "school": s, "editable": can_edit_group(request.user, g)})
    status = 400 if request.method == "POST" else 200
    return render(request, "notices/groups.html", {"form": form, "rows": rows, "group": group}, status=status)


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    """The custom groups the user may address, and a form for a new one."""
    return _group_page(request, None)


@login_required
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = NoticeGroup.objects.filter(pk=_pk(pk) or 0).first()
    if group is None or not can_edit_group(request.user, group):
        raise NotFound
    return _group_page(request, group)


@login_required
@require_POST
def delete_group(request: HttpRequest, pk: int) -> HttpResponse:
    actions.delete_group(request.user, pk)
    messages.success(request, _("The group was deleted."))
    return redirect("notices:groups")
