"""Conversations over the JSON API: your threads, a thread's messages, writing in a thread, and the
class Q&A board (questions of a class, ask, answer).

Messages with attachments or a voice note are posted as a multipart form (`…/messages/upload`), checked like
the web form's; the API lists attachments with their download links (which honour `Range`). A thread you may
not see answers exactly like a missing one.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile

from schoolbridge.access.helpers import NotFound
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.pagination import MAX_ID, PageMeta, PageParams, paginate
from schoolbridge.api_support.responses import ok

from . import actions, permissions
from .models import Message, Participant, Question, Receipt, Thread

router = Router(tags=["messages"])

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    voice_note: bool
    url: str


class ReadByOut(Schema):
    user_id: int
    read_at: datetime.datetime


class MessageOut(Schema):
    id: int
    thread_id: int
    sender_id: int
    sender: str
    mine: bool
    text: str
    urgent: bool
    auto_reply: bool
    created_at: datetime.datetime
    attachments: list[AttachmentOut]
    read_by: list[ReadByOut]


class MessagePage(PageMeta):
    items: list[MessageOut]


class ThreadOut(Schema):
    id: int
    subject: str
    school_id: int
    student_id: int | None
    class_id: int | None
    others: list[str]
    created_at: datetime.datetime
    last_message_at: datetime.datetime
    unread: int


class ThreadPage(PageMeta):
    items: list[ThreadOut]


class MessageIn(Schema):
    text: str = Field(..., max_length=actions.MAX_TEXT)
    urgent: bool = Field(
        False,
        description=f"Breaks through the teacher's quiet hours. Guardians may send {actions.URGENT_PER_DAY} a day.",
    )


class SentOut(Schema):
    message: MessageOut
    quiet_hours: bool = Field(description="A recipient is in quiet hours: they are notified when those end.")
    auto_replies: list[MessageOut] = Field(
        description="Automatic replies sent on a quiet recipient's behalf."
    )


class MessageFilter(Schema):
    since_id: int | None = Field(
        None,
        ge=0,
        le=MAX_ID,
        description="Cursor for polling: only messages with an id greater than this.",
    )


class AnswerOut(Schema):
    id: int
    author_id: int
    author: str
    text: str
    created_at: datetime.datetime


class QuestionOut(Schema):
    id: int
    class_id: int
    asked_by_id: int
    asked_by: str
    text: str
    status: str
    created_at: datetime.datetime
    first_response_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    answers: list[AnswerOut]


class QuestionPage(PageMeta):
    items: list[QuestionOut]


class QuestionFilter(Schema):
    status: Literal["open", "answered", "closed"] | None = Field(
        None, description="Only questions in this state."
    )


class QuestionIn(Schema):
    text: str = Field(..., max_length=actions.MAX_QUESTION)


class AnswerIn(Schema):
    text: str = Field(..., max_length=actions.MAX_TEXT)


def _message_out(m: Message, me: int) -> dict[str, Any]:
    return {
        "id": m.pk,
        "thread_id": m.thread_id,
        "sender_id": m.sender_id,
        "sender": str(m.sender),
        "mine": m.sender_id == me,
        "text": m.text,
        "urgent": m.urgent,
        "auto_reply": m.auto_reply,
        "created_at": m.created_at,
        "attachments": [
            {
                "id": a.pk,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "voice_note": a.voice,
                "url": reverse("conversations:attachment", args=[a.pk]),
            }
            for a in m.attachments.all()
        ],
        "read_by": [{"user_id": r.user_id, "read_at": r.read_at} for r in m.receipts.all()],
    }


def _messages(qs: Any) -> Any:
    return qs.select_related("sender__person").prefetch_related("attachments", "receipts")


def _visible_thread(user: Any, pk: int) -> Thread:
    thread = permissions.visible_threads(user).filter(pk=pk).first()
    if thread is None:
        raise NotFound
    return thread


@router.get("/threads", response=ok(ThreadPage), summary="Your conversations, newest activity first")
def list_threads(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    user = caller(request)
    unread = Count(
        "messages",
        filter=~Q(messages__sender_id=user.pk)
        & ~Exists(Receipt.objects.filter(message=OuterRef("messages"), user_id=user.pk)),
    )
    qs = permissions.own_threads(user).annotate(unread=unread).order_by("-last_message_at", "-pk")
    result = paginate(qs, page)
    threads: list[Thread] = result["items"]
    others: dict[int, list[str]] = {}
    participants = (
        Participant.objects.filter(thread_id__in=[t.pk for t in threads])
        .exclude(user_id=user.pk)
        .select_related("user__person")
        .order_by("pk")
    )
    for p in participants:
        others.setdefault(p.thread_id, []).append(str(p.user))
    result["items"] = [
        {
            "id": t.pk,
            "subject": t.subject,
            "school_id": t.school_id,
            "student_id": t.student_id,
            "class_id": t.klass_id,
            "others": others.get(t.pk, []),
            "created_at": t.created_at,
            "last_message_at": t.last_message_at,
            "unread": t.unread,  # type: ignore[attr-defined]
        }
        for t in threads
    ]
    return result


@router.get(
    "/threads/{thread_id}/messages",
    response=ok(MessagePage),
    summary="A conversation's messages, oldest first (since_id for polling)",
)
def list_messages(
    request: HttpRequest, thread_id: ObjectId, filters: Query[MessageFilter], page: Query[PageParams]
) -> dict[str, Any]:
    user = caller(request)
    thread = _visible_thread(user, thread_id)
    qs = _messages(thread.messages.order_by("pk"))
    if filters.since_id is not None:
        qs = qs.filter(pk__gt=filters.since_id)
    result = paginate(qs, page)
    result["items"] = [_message_out(m, user.pk) for m in result["items"]]
    return result


@router.post(
    "/threads/{thread_id}/read",
    response={204: None, **ok(None)},
    summary="Mark every message of the conversation read (a read receipt for the other side)",
)
def read_thread(request: HttpRequest, thread_id: ObjectId) -> Status:
    user = caller(request)
    actions.mark_thread_read(user, _visible_thread(user, thread_id))
    return Status(204, None)


@router.post(
    "/threads/{thread_id}/messages",
    response=ok(SentOut, status=201, write=True),
    summary="Write in a conversation you take part in",
)
def post_message(request: HttpRequest, thread_id: ObjectId, payload: MessageIn) -> Status:
    user = caller(request)
    return _sent_out(user, actions.send_message(user, thread_id, text=payload.text, urgent=payload.urgent))


@router.post(
    "/threads/{thread_id}/messages/upload",
    response=ok(SentOut, status=201, write=True),
    summary="Write in a conversation with attachments or a voice note (multipart form)",
)
def post_message_with_files(
    request: HttpRequest,
    thread_id: ObjectId,
    text: Form[str] = "",
    urgent: Form[bool] = False,
    files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    voice: File[UploadedFile] = None,  # type: ignore[assignment]
) -> Status:
    user = caller(request)
    sent = actions.send_message(
        user, thread_id, text=text, attachments=files or [], voice=voice, urgent=urgent
    )
    return _sent_out(user, sent)


def _sent_out(user: Any, sent: Any) -> Status:
    ids = [sent.message.pk, *(m.pk for m in sent.delivery.auto_replies)]
    rows = {m.pk: m for m in _messages(Message.objects.filter(pk__in=ids))}
    return Status(
        201,
        {
            "message": _message_out(rows[sent.message.pk], user.pk),
            "quiet_hours": bool(sent.delivery.deferred),
            "auto_replies": [_message_out(rows[m.pk], user.pk) for m in sent.delivery.auto_replies],
        },
    )


# --------------------------------------------------------------------------- Q&A


def _question_out(q: Question) -> dict[str, Any]:
    return {
        "id": q.pk,
        "class_id": q.klass_id,
        "asked_by_id": q.asked_by_id,
        "asked_by": str(q.asked_by),
        "text": q.text,
        "status": q.status,
        "created_at": q.created_at,
        "first_response_at": q.first_response_at,
        "closed_at": q.closed_at,
        "answers": [
            {
                "id": a.pk,
                "author_id": a.author_id,
                "author": str(a.author),
                "text": a.text,
                "created_at": a.created_at,
            }
            for a in q.answers.all()
        ],
    }


def _questions(qs: Any) -> Any:
    return qs.select_related("asked_by__person").prefetch_related("answers__author__person")


def _one_question(pk: int) -> dict[str, Any]:
    return _question_out(_questions(Question.objects.filter(pk=pk)).get())


@router.get(
    "/classes/{class_id}/questions",
    response=ok(QuestionPage),
    summary="The questions of a class's Q&A board, newest first",
)
def list_questions(
    request: HttpRequest, class_id: ObjectId, filters: Query[QuestionFilter], page: Query[PageParams]
) -> dict[str, Any]:
    user = caller(request)
    if not permissions.board_classes(user).filter(pk=class_id).exists():
        raise NotFound
    qs = _questions(Question.objects.filter(klass_id=class_id).order_by("-created_at", "-pk"))
    if filters.status:
        qs = qs.filter(status=filters.status)
    result = paginate(qs, page)
    result["items"] = [_question_out(q) for q in result["items"]]
    return result


@router.post(
    "/classes/{class_id}/questions",
    response=ok(QuestionOut, status=201, write=True),
    summary="Ask on your child's class board (the class's teachers answer for everyone)",
)
def ask(request: HttpRequest, class_id: ObjectId, payload: QuestionIn) -> Status:
    question, _delivery = actions.ask_question(caller(request), class_id, payload.text)
    return Status(201, _one_question(question.pk))


@router.post(
    "/questions/{question_id}/answers",
    response=ok(QuestionOut, status=201, write=True),
    summary="Answer a question of a class you teach (or of a school you administer)",
)
def answer(request: HttpRequest, question_id: ObjectId, payload: AnswerIn) -> Status:
    answer = actions.answer_question(caller(request), question_id, payload.text)
    return Status(201, _one_question(answer.question_id))
