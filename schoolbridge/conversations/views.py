"""Conversation pages: inbox, threads, new thread, class Q&A, open questions, quiet hours, canned
replies, moderation and export. Views are thin: forms shape input, actions validate and write."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolbridge.access.helpers import NotFound, _pk
from schoolbridge.core.models import Class, School

from . import actions, permissions, queries
from .forms import (
    AnswerForm,
    CannedReplyForm,
    ExportForm,
    LexiconForm,
    MessageForm,
    NewThreadForm,
    QuestionForm,
    QuietHoursForm,
    add_action_errors,
    default_quiet_initial,
)
from .models import Attachment, BlockedAttempt, CannedReply, Flag, LexiconEntry, Participant, Question, Thread


def _thread(request: HttpRequest, pk: Any) -> Thread:
    thread = (
        permissions.visible_threads(request.user)
        .select_related("school", "klass", "student__person")
        .filter(pk=_pk(pk) or 0)
        .first()
    )
    if thread is None:
        raise NotFound
    return thread


def _is_guardian_in(user: Any, thread: Thread) -> bool:
    return Participant.objects.filter(thread=thread, user_id=user.pk, role=Participant.Role.GUARDIAN).exists()


def _messages_context(request: HttpRequest, thread: Thread, after: int = 0) -> dict[str, Any]:
    items = list(
        thread.messages.filter(pk__gt=after)
        .select_related("sender__person")
        .prefetch_related("attachments", "receipts__user__person")
    )
    return {
        "thread": thread,
        "items": items,
        "me": request.user.pk,
        "last_id": items[-1].pk if items else after,
    }


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "conversations/inbox.html",
        {
            "rows": queries.inbox(user),
            "can_start": bool(permissions.contacts(user, limit=1)),
            "boards": list(permissions.board_classes(user)),
            "answers": permissions.answering_classes(user).exists(),
            "admin_schools": School.objects.filter(pk__in=permissions.admin_school_ids(user)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_thread(request: HttpRequest) -> HttpResponse:
    contacts = permissions.contacts(request.user)
    if not contacts:
        raise NotFound
    initial = {"contact": request.GET.get("to", "")}
    form = NewThreadForm(request.POST or None, request.FILES or None, contacts=contacts, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = actions.start_thread(
                request.user,
                data["contact"],
                subject=data["subject"],
                text=data["text"],
                attachments=data["attachments"],
                voice=data["voice"],
                urgent=data["urgent"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            _report_delivery(request, sent)
            return redirect("conversations:thread", pk=sent.message.thread_id)
    guardian = any(c.sender_role == "guardian" for c in contacts)
    status = 400 if request.method == "POST" else 200
    return render(request, "conversations/new.html", {"form": form, "guardian": guardian}, status=status)


def _report_delivery(request: HttpRequest, sent: actions.Sent) -> None:
    if sent.delivery.auto_replies:
        messages.info(request, _("The teacher is in quiet hours and will see your message when they end."))
    else:
        messages.success(request, _("Message sent."))


@login_required
@require_http_methods(["GET", "POST"])
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _thread(request, pk)
    participant = permissions.is_participant(request.user, thread)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not participant:
            raise NotFound
        if form.is_valid():
            data = form.cleaned_data
            try:
                sent = actions.send_message(
                    request.user,
                    thread.pk,
                    text=data["text"],
                    attachments=data["attachments"],
                    voice=data["voice"],
                    urgent=data["urgent"],
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                _report_delivery(request, sent)
                return redirect("conversations:thread", pk=thread.pk)
    actions.mark_thread_read(request.user, thread)
    context = _messages_context(request, thread)
    context.update(
        {
            "form": form,
            "participant": participant,
            "can_write": participant and permissions.may_still_write(request.user, thread),
            "guardian": _is_guardian_in(request.user, thread),
            "others": [
                str(p.user)
                for p in thread.participants.exclude(user_id=int(request.user.pk or 0)).select_related(
                    "user__person"
                )
            ],
            "can_export": thread.school_id in permissions.admin_school_ids(request.user),
            "export_form": ExportForm(),
        }
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "conversations/thread.html", context, status=status)


@login_required
@require_GET
def thread_after(request: HttpRequest, pk: int) -> HttpResponse:
    """The messages after ?after=<id> (for live updates and polling), marking them read."""
    thread = _thread(request, pk)
    after = _pk(request.GET.get("after", "")) or 0
    actions.mark_thread_read(request.user, thread)
    context = _messages_context(request, thread, after)
    # Receipts of the viewer's own earlier messages may have changed: send them again too.
    context["receipts_for"] = list(
        thread.messages.filter(sender_id=request.user.pk, pk__lte=after)
        .prefetch_related("receipts__user__person")
        .order_by("-pk")[:20]
    )
    return render(request, "conversations/_messages.html", context)


class RangeNotSatisfiable(ValueError):
    """No byte of the requested range lies in the file (answer 416)."""


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions asked for by a single-range `Range` header (RFC 9110),
    RangeNotSatisfiable when no byte of it lies in the file, or None when the header is absent, malformed
    or asks for several ranges (then the whole file is the answer)."""
    match = _RANGE.match((header or "").strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the final N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def _private(response: HttpResponseBase, att: Attachment) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{att.sha256}"'
    if not att.is_audio:
        response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    """An attachment or voice note, only for those who may see its thread. Never public media.

    Honours a single byte range (Safari plays <audio> only from a server that does): 206 with
    Content-Range, 416 when the range lies outside the file, otherwise (no, several or malformed
    ranges, or an If-Range that no longer matches) the whole file."""
    att = Attachment.objects.filter(
        pk=pk, message__thread__in=permissions.visible_threads(request.user).values("pk")
    ).first()
    if att is None:
        raise NotFound
    try:
        handle = att.file.open("rb")
    except FileNotFoundError:
        raise NotFound from None
    size = att.file.size
    if_range = request.headers.get("If-Range")
    try:
        wanted = byte_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        wanted = None
        if if_range is None or if_range.strip() == f'"{att.sha256}"':
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _private(response, att)
    if wanted is not None and if_range is not None and if_range.strip() != f'"{att.sha256}"':
        wanted = None
    if wanted is None:
        return _private(FileResponse(handle, content_type=att.content_type, filename=att.original_name), att)
    first, last = wanted
    with handle:
        handle.seek(first)
        data = handle.read(last - first + 1)
    response = HttpResponse(data, status=206, content_type=att.content_type)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Disposition"] = content_disposition_header(False, att.original_name) or "inline"
    return _private(response, att)


@login_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """Safeguarding export of a thread (?thread=) or of a class's threads (?klass=), for administrators."""
    form = ExportForm(request.POST)
    fmt = form.cleaned_data["format"] if form.is_valid() else "json"
    thread_id = request.POST.get("thread")
    result = actions.export_threads(
        request.user,
        thread_id=thread_id if thread_id else None,
        class_id=None if thread_id else request.POST.get("klass"),
        fmt=fmt,
    )
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- Q&A


@login_required
@require_GET
def boards(request: HttpRequest) -> HttpResponse:
    classes = list(permissions.board_classes(request.user).order_by("school__name", "grade__order", "name"))
    if len(classes) == 1:
        return redirect("conversations:board", class_id=classes[0].pk)
    return render(request, "conversations/boards.html", {"classes": classes})


def _board_class(request: HttpRequest, class_id: Any) -> Class:
    klass = permissions.board_classes(request.user).filter(pk=_pk(class_id) or 0).first()
    if klass is None:
        raise NotFound
    return klass


def _canned(user: Any, school_id: int) -> list[CannedReply]:
    from django.db.models import Q

    return list(CannedReply.objects.filter(Q(owner_id=user.pk) | Q(owner__isnull=True), school_id=school_id))


@login_required
@require_http_methods(["GET", "POST"])
def board(request: HttpRequest, class_id: int) -> HttpResponse:
    klass = _board_class(request, class_id)
    can_ask = klass.pk in permissions.asking_class_ids(request.user)
    can_answer = permissions.can_answer(request.user, klass)
    form = QuestionForm(request.POST or None)
    if request.method == "POST":
        if not can_ask:
            raise NotFound
        if form.is_valid():
            try:
                question, _delivery = actions.ask_question(request.user, klass.pk, form.cleaned_data["text"])
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("Your question was posted. You will be notified of the answer."))
                return redirect(f"{request.path}#question-{question.pk}")
    status_filter = request.GET.get("status", "")
    questions = (
        Question.objects.filter(klass=klass)
        .select_related("asked_by__person")
        .prefetch_related("answers__author__person")
    )
    if status_filter in Question.Status.values:
        questions = questions.filter(status=status_filter)
    context = {
        "klass": klass,
        "questions": list(questions[:100]),
        "form": form,
        "can_ask": can_ask,
        "can_answer": can_answer,
        "canned": _canned(request.user, klass.school_id) if can_answer else [],
        "answer_form": AnswerForm(),
        "status_filter": status_filter,
        "statuses": Question.Status.choices,
        "me": request.user.pk,
    }
    return render(
        request, "conversations/board.html", context, status=400 if request.method == "POST" else 200
    )


@login_required
@require_GET
def suggest(request: HttpRequest, class_id: int) -> HttpResponse:
    klass = _board_class(request, class_id)
    found = queries.suggest_answers(request.user, klass.pk, request.GET.get("text", "")[:2000])
    return render(request, "conversations/_suggestions.html", {"found": found, "klass": klass})


@login_required
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    form = AnswerForm(request.POST)
    question = permissions.visible_questions(request.user).filter(pk=_pk(pk) or 0).first()
    if question is None:
        raise NotFound
    if form.is_valid():
        try:
            actions.answer_question(request.user, question.pk, form.cleaned_data["text"])
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        else:
            messages.success(request, _("Your answer was posted for the whole class."))
    else:
        messages.error(request, _("Write an answer first."))
    return redirect(f"{actions.question_url(question)}")


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    question = actions.close_question(request.user, pk)
    messages.success(request, _("The question was closed."))
    return redirect(actions.question_url(question))


@login_required
@require_GET
def open_questions(request: HttpRequest) -> HttpResponse:
    classes = permissions.answering_classes(request.user)
    if not classes.exists():
        raise NotFound
    questions = list(queries.open_questions(request.user)[:200])
    return render(
        request,
        "conversations/open.html",
        {
            "questions": questions,
            "stats": queries.teacher_response_stats(request.user),
            "families": queries.family_response_rates(request.user)[:50],
        },
    )


# --------------------------------------------------------------------------- settings


@login_required
@require_http_methods(["GET", "POST"])
def quiet_hours(request: HttpRequest) -> HttpResponse:
    if not permissions.is_staff(request.user):
        raise NotFound
    setting = queries.quiet_hours_of(request.user)
    initial = (
        {
            "enabled": setting.enabled,
            "start": setting.start,
            "end": setting.end,
            "weekdays": list(setting.weekdays),
            "auto_reply": setting.auto_reply,
        }
        if setting
        else default_quiet_initial()
    )
    form = QuietHoursForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_quiet_hours(request.user, **form.action_data())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Your quiet hours were saved."))
            return redirect("conversations:quiet_hours")
    return render(
        request,
        "conversations/quiet_hours.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _canned_schools(user: Any) -> list[tuple[int, str]]:
    ids = {c.school_id for c in permissions.answering_classes(user)} | permissions.admin_school_ids(user)
    return list(School.objects.filter(pk__in=ids).values_list("pk", "name"))


@login_required
@require_http_methods(["GET", "POST"])
def canned(request: HttpRequest) -> HttpResponse:
    schools = _canned_schools(request.user)
    if not schools:
        raise NotFound
    form = CannedReplyForm(request.POST or None, schools=schools, initial={"school": schools[0][0]})
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_canned_reply(request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The reply was saved."))
            return redirect("conversations:canned")
    from django.db.models import Q

    replies = CannedReply.objects.filter(
        Q(owner_id=request.user.pk) | Q(owner__isnull=True), school_id__in=[s for s, _n in schools]
    ).select_related("school")
    admin = permissions.admin_school_ids(request.user)
    return render(
        request,
        "conversations/canned.html",
        {"form": form, "replies": replies, "admin_schools": admin},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def canned_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actions.delete_canned_reply(request.user, pk)
    messages.success(request, _("The reply was removed."))
    return redirect("conversations:canned")


@login_required
@require_http_methods(["GET", "POST"])
def moderation(request: HttpRequest, school_id: int) -> HttpResponse:
    if school_id not in permissions.admin_school_ids(request.user):
        raise NotFound
    school = School.objects.get(pk=school_id)
    form = LexiconForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_lexicon_word(request.user, school.pk, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The word list was updated."))
            return redirect("conversations:moderation", school_id=school.pk)
    show = request.GET.get("show", "open")
    flags = Flag.objects.filter(school=school).select_related(
        "author__person",
        "message__thread",
        "question__klass",
        "answer__question__klass",
        "reviewed_by__person",
    )
    blocked = BlockedAttempt.objects.filter(school=school).select_related(
        "author__person", "klass", "thread", "reviewed_by__person"
    )
    if show != "all":
        flags = flags.filter(reviewed_at__isnull=True)
        blocked = blocked.filter(reviewed_at__isnull=True)
    today_classes = Class.objects.filter(school=school).order_by("grade__order", "name")
    return render(
        request,
        "conversations/moderation.html",
        {
            "school": school,
            "flags": list(flags[:200]),
            "blocked": list(blocked[:100]),
            "show": show,
            "form": form,
            "entries": LexiconEntry.objects.filter(school=school),
            "classes": today_classes,
            "export_form": ExportForm(),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    flag = actions.review_flag(request.user, pk)
    return redirect("conversations:moderation", school_id=flag.school_id)


@login_required
@require_POST
def review_blocked(request: HttpRequest, pk: int) -> HttpResponse:
    blocked = actions.review_blocked(request.user, pk)
    return redirect(reverse("conversations:moderation", args=[blocked.school_id]) + "#blocked")


@login_required
@require_POST
def lexicon_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = LexiconEntry.objects.filter(pk=_pk(pk) or 0).first()
    actions.remove_lexicon_word(request.user, pk)
    return redirect("conversations:moderation", school_id=entry.school_id if entry else 0)
