"""Writes for conversations: threads and messages, read receipts, quiet hours, the Q&A board, canned
replies, the lexicon, moderation and the safeguarding export.

Every action takes the acting user first, runs in one transaction, checks access (out of scope gives
the same NotFound as missing), validates into field-level InvalidInput errors (nothing is saved —
uploaded files included — when input is bad), writes an audit row and notifies through
notify.actions.notify, whose deliveries wait for the commit. Threads, messages, questions and answers
have no delete action: they are an archive.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import functools
import hashlib
import io
import json
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.helpers import _pk
from schoolbridge.accounts.models import User
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.errors import Errors, InvalidInput, NotFound
from schoolbridge.core.filetypes import sniff_content_type
from schoolbridge.core.models import Class
from schoolbridge.notify.actions import notify

from . import permissions, wordfilter
from .models import (
    ALL_WEEKDAYS,
    Answer,
    Attachment,
    BlockedAttempt,
    CannedReply,
    DeferredNotification,
    Flag,
    LexiconEntry,
    Message,
    Participant,
    Question,
    QuietHours,
    Receipt,
    Thread,
)
from .queries import quiet_hours_of, quiet_period_end, school_lexicon

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_QUESTION = 2000
MAX_SUBJECT = 120
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_VOICE_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 4
URGENT_PER_DAY = 2

FILE_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}
VOICE_TYPES = {"audio/webm", "audio/ogg", "audio/mp4"}


# --------------------------------------------------------------------------- shared checks


def _mask(word: str) -> str:
    return word[:1] + "*" * max(len(word) - 1, 1)


def _filter(school_id: int, text: str, field_name: str, errors: Errors) -> list[str]:
    """Check text against the school's lexicon: a block is a field error naming the masked words;
    warn-level words are returned (the item is saved and flagged)."""
    hits = wordfilter.check(text, school_lexicon(school_id))
    blocked = list(dict.fromkeys(h.word for h in hits if h.level == "block"))
    if blocked:
        pending = _pending_blocks.get()
        if pending is not None:
            excerpt = wordfilter.masked_excerpt(text, [h for h in hits if h.level == "block"])
            pending.append({"school_id": school_id, "words": blocked, "excerpt": excerpt[:120]})
        errors.add(
            field_name,
            _(
                "This contains language that is not allowed in school messages (%(words)s). "
                "Please rephrase it and send again."
            )
            % {"words": ", ".join(f"“{_mask(w)}”" for w in blocked[:3])},
        )
        return []
    return list(dict.fromkeys(h.word for h in hits))


# Blocked attempts found while an action validates; written after its transaction has rolled back.
_pending_blocks: ContextVar[list[dict[str, Any]] | None] = ContextVar("conversations_blocked", default=None)


@contextlib.contextmanager
def _recording_blocks(
    actor: Any,
    kind: str,
    *,
    thread_id: int | None = None,
    class_id: int | None = None,
    question_id: int | None = None,
) -> Iterator[None]:
    """Record the word filter's refusals of this action (who, when, which words, a masked excerpt)
    for the school administrator, in their own transaction: the refused write itself rolls back."""
    pending: list[dict[str, Any]] = []
    token = _pending_blocks.set(pending)
    try:
        yield
    except InvalidInput:
        if pending:
            _save_blocked(
                actor, kind, pending, thread_id=thread_id, class_id=class_id, question_id=question_id
            )
        raise
    finally:
        _pending_blocks.reset(token)


def _save_blocked(
    actor: Any,
    kind: str,
    pending: list[dict[str, Any]],
    *,
    thread_id: int | None,
    class_id: int | None,
    question_id: int | None,
) -> None:
    from schoolbridge.core.models import School

    if question_id is not None:
        class_id = Question.objects.filter(pk=question_id).values_list("klass_id", flat=True).first()
    try:
        with transaction.atomic():
            for item in pending:
                attempt = BlockedAttempt.objects.create(
                    district_id=School.objects.values_list("district_id", flat=True).get(
                        pk=item["school_id"]
                    ),
                    school_id=item["school_id"],
                    author=actor,
                    kind=kind,
                    thread_id=thread_id,
                    klass_id=class_id,
                    words=item["words"],
                    excerpt=item["excerpt"],
                )
                record(actor, "conversations.blocked", attempt, None, snapshot(attempt))
    except Exception:  # pragma: no cover - the refusal still reaches the user
        log.exception("could not record a blocked attempt")


def _check_text(text: str, limit: int, field_name: str, errors: Errors, required: bool = True) -> str:
    text = (text or "").strip()
    if required and not text:
        errors.add(field_name, _("This field is required."))
    elif len(text) > limit:
        errors.add(
            field_name,
            _("Please keep it to %(limit)d characters (it has %(n)d).") % {"limit": limit, "n": len(text)},
        )
    return text


def _check_files(files: Sequence[Any], voice: Any, errors: Errors) -> list[tuple[Any, str, bool]]:
    """Every upload checked: count, size, real type by its first bytes. Returns (file, type, is voice)."""
    checked: list[tuple[Any, str, bool]] = []
    files = [f for f in files if f]
    if len(files) > MAX_ATTACHMENTS:
        errors.add("attachments", _("At most %(n)d attachments per message.") % {"n": MAX_ATTACHMENTS})
        return checked
    for f, is_voice in [(f, False) for f in files] + ([(voice, True)] if voice else []):
        field_name = "voice" if is_voice else "attachments"
        name = str(getattr(f, "name", "") or "file")
        size = getattr(f, "size", None) or 0
        limit = MAX_VOICE_BYTES if is_voice else MAX_ATTACHMENT_BYTES
        if size > limit:
            errors.add(
                field_name,
                _("“%(name)s” is %(size).1f MB; the limit is %(limit)d MB.")
                % {"name": name, "size": size / 1024 / 1024, "limit": limit // 1024 // 1024},
            )
            continue
        if size == 0:
            errors.add(field_name, _("“%(name)s” is empty.") % {"name": name})
            continue
        f.seek(0)
        head = f.read(16)
        f.seek(0)
        content_type = sniff_content_type(head)
        allowed = VOICE_TYPES if is_voice else FILE_TYPES
        if content_type not in allowed:
            errors.add(
                field_name,
                _("The voice note is not a WebM, Ogg or MP4 recording.")
                if is_voice
                else _("“%(name)s” is not a JPEG, PNG or WebP image or a PDF document.") % {"name": name},
            )
            continue
        checked.append((f, content_type, is_voice))
    return checked


class _Saved:
    """Files written during an action, removed again if it fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def discard(self) -> None:
        for name in self.names:
            try:
                default_storage.delete(name)
            except OSError:  # pragma: no cover - best effort
                log.warning("could not remove %s", name)


def _store(message: Message, files: list[tuple[Any, str, bool]], saved: _Saved) -> list[Attachment]:
    out = []
    for f, content_type, is_voice in files:
        f.seek(0)
        digest = hashlib.sha256()
        for chunk in f.chunks() if hasattr(f, "chunks") else [f.read()]:
            digest.update(chunk)
        f.seek(0)
        default_name = "voice-note" if is_voice else "file"
        att = Attachment(
            district_id=message.district_id,
            school_id=message.school_id,
            message=message,
            original_name=str(getattr(f, "name", "") or default_name)[-200:],
            content_type=content_type,
            size=f.size,
            sha256=digest.hexdigest(),
            voice=is_voice,
        )
        att.file.save("upload", File(f), save=False)
        saved.names.append(att.file.name)
        att.save()
        out.append(att)
    return out


def _push_thread(thread_id: int, message_id: int) -> None:
    """Tell open thread pages that a message arrived (they fetch it through the access-checked view)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(thread_group(thread_id), {"type": "thread.message", "id": message_id})
    except Exception:  # pragma: no cover - a push is best effort; pages also poll
        log.exception("thread push failed")


def thread_group(thread_id: int) -> str:
    return f"thread-{int(thread_id)}"


def thread_url(thread: Thread) -> str:
    return reverse("conversations:thread", args=[thread.pk])


def question_url(question: Question) -> str:
    return reverse("conversations:board", args=[question.klass_id]) + f"#question-{question.pk}"


# --------------------------------------------------------------------------- quiet hours and delivery


@dataclass
class Delivery:
    """What happened to the notifications of one write."""

    notified: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    auto_replies: list[Message] = field(default_factory=list)


def _deliver(
    recipients: list[tuple[int, str]],
    *,
    school_id: int,
    kind: str,
    title: str,
    body: str,
    link: str,
    urgent: bool,
    thread: Thread | None = None,
    question: Question | None = None,
    now: datetime.datetime,
) -> tuple[Delivery, dict[int, QuietHours]]:
    """Notify each (user id, role) now, or — for staff in their quiet hours, unless urgent — hold the
    notification until their quiet hours end."""
    delivery = Delivery()
    quiet: dict[int, QuietHours] = {}
    for uid, role in recipients:
        setting = quiet_hours_of(uid) if role in (Participant.Role.STAFF, Participant.Role.ADMIN) else None
        end = quiet_period_end(setting, now)
        if end is None or urgent:
            delivery.notified.append(uid)
            continue
        assert setting is not None
        quiet[uid] = setting
        delivery.deferred.append(uid)
        pending = (
            DeferredNotification.objects.select_for_update()
            .filter(user_id=uid, thread=thread, question=question, delivered_at__isnull=True)
            .first()
        )
        if pending is not None:
            pending.count += 1
            pending.deliver_at = min(pending.deliver_at, end)
            pending.save(update_fields=["count", "deliver_at"])
        else:
            DeferredNotification.objects.create(
                user_id=uid,
                school_id=school_id,
                thread=thread,
                question=question,
                kind=kind,
                title=title,
                link=link,
                deliver_at=end,
                created_at=now,
            )
    if delivery.notified:
        notify(delivery.notified, kind, title, body=body[:200], link=link, school=school_id)
    return delivery, quiet


def deliver_deferred(now: datetime.datetime | None = None) -> int:
    """Deliver every held-back notification whose quiet hours have ended. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            DeferredNotification.objects.select_for_update(skip_locked=True)
            .filter(delivered_at__isnull=True, deliver_at__lte=now)
            .order_by("deliver_at", "pk")[:1000]
        )
        for item in due:
            title = item.title
            if item.count > 1:
                title = gettext("%(title)s (%(n)d new)") % {"title": item.title, "n": item.count}
            notify([item.user_id], item.kind, title, link=item.link, school=item.school_id)
            sent += 1
        DeferredNotification.objects.filter(pk__in=[d.pk for d in due]).update(delivered_at=now)
    return sent


def set_quiet_hours(
    actor: Any,
    *,
    start: datetime.time,
    end: datetime.time,
    weekdays: str = ALL_WEEKDAYS,
    auto_reply: str = "",
    enabled: bool = True,
) -> QuietHours:
    errors = Errors()
    if start == end:
        errors.add("end", _("The end must differ from the start."))
    days = "".join(sorted(set(str(weekdays or "")) & set(ALL_WEEKDAYS)))
    if enabled and not days:
        errors.add("weekdays", _("Choose at least one day."))
    auto_reply = _check_text(auto_reply, 1000, "auto_reply", errors, required=False)
    errors.raise_if_any()
    with transaction.atomic():
        setting = QuietHours.objects.select_for_update().filter(user=actor).first()
        before = snapshot(setting)
        if setting is None:
            setting = QuietHours(user=actor)
        setting.start, setting.end, setting.weekdays = start, end, days or ALL_WEEKDAYS
        setting.auto_reply, setting.enabled, setting.updated_at = auto_reply, enabled, timezone.now()
        setting.save()
        record(actor, "conversations.quiet_hours.set", setting, before, snapshot(setting))
    return setting


# --------------------------------------------------------------------------- threads and messages


@dataclass
class Sent:
    message: Message
    delivery: Delivery


def _check_urgent(actor: Any, role: str, now: datetime.datetime, errors: Errors) -> None:
    """Guardians may send URGENT_PER_DAY urgent messages a day (they break through quiet hours)."""
    if role != Participant.Role.GUARDIAN:
        return
    User.objects.select_for_update().filter(pk=actor.pk).first()  # serialise a guardian's sends
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    used = Message.objects.filter(sender_id=actor.pk, urgent=True, created_at__gte=midnight).count()
    if used >= URGENT_PER_DAY:
        errors.add(
            "urgent",
            _(
                "You have already sent %(n)d urgent messages today, the daily limit. Send this one as an "
                "ordinary message, or telephone the school if it cannot wait."
            )
            % {"n": used},
        )


def _response_seconds(thread: Thread, sender_id: int, now: datetime.datetime) -> int | None:
    """Seconds since the oldest message from the other side that this message answers."""
    msgs = thread.messages.filter(auto_reply=False)
    mine = (
        msgs.filter(sender_id=sender_id).order_by("-created_at", "-pk").values_list("created_at", flat=True)
    )
    last_mine = mine.first()
    waiting = msgs.exclude(sender_id=sender_id)
    if last_mine is not None:
        waiting = waiting.filter(created_at__gt=last_mine)
    oldest = waiting.order_by("created_at", "pk").values_list("created_at", flat=True).first()
    return None if oldest is None else max(int((now - oldest).total_seconds()), 0)


def _post(
    actor: Any,
    thread: Thread,
    role: str,
    *,
    text: str,
    attachments: Sequence[Any],
    voice: Any,
    urgent: bool,
    errors: Errors,
    saved: _Saved,
    now: datetime.datetime,
) -> Sent:
    text = _check_text(text, MAX_TEXT, "text", errors, required=False)
    files = _check_files(attachments, voice, errors)
    if not text and not files and not errors.has("attachments") and not errors.has("voice"):
        errors.add("text", _("Write a message, attach a file or record a voice note."))
    flagged = _filter(thread.school_id, text, "text", errors) if text else []
    if urgent:
        _check_urgent(actor, role, now, errors)
    errors.raise_if_any()

    message = Message.objects.create(
        district_id=thread.district_id,
        school_id=thread.school_id,
        thread=thread,
        sender=actor,
        text=text,
        urgent=bool(urgent),
        flagged_words=flagged,
        response_seconds=_response_seconds(thread, actor.pk, now),
        created_at=now,
    )
    stored = _store(message, files, saved)
    after = snapshot(message)
    after["attachments"] = [
        snapshot(a, ("original_name", "content_type", "size", "sha256", "voice")) for a in stored
    ]
    record(actor, "conversations.message.send", message, None, after)
    if flagged:
        flag = Flag.objects.create(
            district_id=thread.district_id,
            school_id=thread.school_id,
            author=actor,
            message=message,
            words=flagged,
        )
        record(actor, "conversations.flag", flag, None, snapshot(flag))
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)

    recipients = list(thread.participants.exclude(user_id=actor.pk).values_list("user_id", "role"))
    name = str(actor)
    title = (gettext("Urgent message from %(name)s") if urgent else gettext("New message from %(name)s")) % {
        "name": name
    }
    body = text or (gettext("Voice note") if any(v for _f, _t, v in files) else gettext("Attachment"))
    delivery, quiet = _deliver(
        recipients,
        school_id=thread.school_id,
        kind="conversation.message",
        title=title,
        body=body,
        link=thread_url(thread),
        urgent=bool(urgent),
        thread=thread,
        now=now,
    )
    # The automatic reply: once per quiet period and thread, for messages from guardians.
    if role == Participant.Role.GUARDIAN:
        for uid, setting in quiet.items():
            end = quiet_period_end(setting, now)
            if (
                not setting.auto_reply
                or thread.messages.filter(sender_id=uid, auto_reply=True, quiet_until=end).exists()
            ):
                continue
            reply = Message.objects.create(
                district_id=thread.district_id,
                school_id=thread.school_id,
                thread=thread,
                sender_id=uid,
                text=setting.auto_reply,
                auto_reply=True,
                quiet_until=end,
                created_at=now,
            )
            record(actor, "conversations.message.auto_reply", reply, None, snapshot(reply))
            delivery.auto_replies.append(reply)
    for m in [message, *delivery.auto_replies]:
        transaction.on_commit(functools.partial(_push_thread, thread.pk, m.pk), robust=True)
    return Sent(message, delivery)


def _run_with_files(fn: Any) -> Any:
    """Run fn(saved) in one transaction; files written by a failed run are removed."""
    saved = _Saved()
    try:
        with transaction.atomic():
            return fn(saved)
    except BaseException:
        saved.discard()
        raise


def start_thread(
    actor: Any,
    contact_key: str,
    *,
    subject: str,
    text: str = "",
    attachments: Sequence[Any] = (),
    voice: Any = None,
    urgent: bool = False,
) -> Sent:
    """Begin a thread with a contact (see permissions.contacts) and send its first message."""
    contact = permissions.find_contact(actor, str(contact_key or ""))
    if contact is None:
        raise NotFound
    now = timezone.now()

    def run(saved: _Saved) -> Sent:
        errors = Errors()
        title = _check_text(subject, MAX_SUBJECT, "subject", errors)
        if title:
            _filter(contact.school_id, title, "subject", errors)
        from schoolbridge.core.models import School

        district_id = School.objects.values_list("district_id", flat=True).get(pk=contact.school_id)
        thread = Thread(
            district_id=district_id,
            school_id=contact.school_id,
            student_id=contact.student_id,
            klass_id=contact.class_id,
            subject=title,
            created_by=actor,
            created_at=now,
            last_message_at=now,
        )
        if errors:
            # Validate the message too, so every problem shows at once.
            _check_text(text, MAX_TEXT, "text", errors, required=False)
            _check_files(attachments, voice, errors)
            errors.raise_if_any()
        thread.save()
        Participant.objects.bulk_create(
            [
                Participant(thread=thread, user=actor, role=contact.sender_role, joined_at=now),
                Participant(thread=thread, user_id=contact.user_id, role=contact.role, joined_at=now),
            ]
        )
        record(actor, "conversations.thread.start", thread, None, snapshot(thread))
        return _post(
            actor,
            thread,
            contact.sender_role,
            text=text,
            attachments=attachments,
            voice=voice,
            urgent=urgent,
            errors=errors,
            saved=saved,
            now=now,
        )

    with _recording_blocks(actor, BlockedAttempt.Kind.THREAD, class_id=contact.class_id):
        return _run_with_files(run)


def send_message(
    actor: Any,
    thread_id: Any,
    *,
    text: str = "",
    attachments: Sequence[Any] = (),
    voice: Any = None,
    urgent: bool = False,
) -> Sent:
    """A participant writes in a thread."""
    pk = _pk(thread_id)
    now = timezone.now()

    def run(saved: _Saved) -> Sent:
        thread = permissions.own_threads(actor).filter(pk=pk).first() if pk else None
        if thread is None:
            raise NotFound
        role = (
            Participant.objects.filter(thread=thread, user_id=actor.pk).values_list("role", flat=True).first()
        )
        if not permissions.may_still_write(actor, thread):
            raise InvalidInput(
                _(
                    "You can no longer write in this conversation (the class or its teachers changed). It stays here to read."
                )
            )
        return _post(
            actor,
            thread,
            str(role),
            text=text,
            attachments=attachments,
            voice=voice,
            urgent=urgent,
            errors=Errors(),
            saved=saved,
            now=now,
        )

    with _recording_blocks(actor, BlockedAttempt.Kind.MESSAGE, thread_id=pk):
        return _run_with_files(run)


def mark_thread_read(actor: Any, thread: Thread) -> int:
    """Receipts for every message of the thread the participant has not read yet (not their own).
    Returns how many were written; non-participants (administrators reading) leave no receipts."""
    if not permissions.is_participant(actor, thread):
        return 0
    with transaction.atomic():
        unread = list(
            thread.messages.exclude(sender_id=actor.pk)
            .exclude(receipts__user_id=actor.pk)
            .values_list("pk", flat=True)
        )
        if not unread:
            return 0
        now = timezone.now()
        Receipt.objects.bulk_create(
            [Receipt(message_id=mid, user_id=actor.pk, read_at=now) for mid in unread], ignore_conflicts=True
        )
        for mid in unread:
            transaction.on_commit(functools.partial(_push_thread, thread.pk, mid), robust=True)
    return len(unread)


# --------------------------------------------------------------------------- Q&A


def _class_recipients(klass: Class) -> list[tuple[int, str]]:
    staff = permissions._class_staff({klass.pk}).get(klass.pk, [])
    return [(uid, Participant.Role.STAFF.value) for uid, _name, _label in staff]


def ask_question(actor: Any, class_id: Any, text: str) -> tuple[Question, Delivery]:
    pk = _pk(class_id)
    if pk is None or pk not in permissions.asking_class_ids(actor):
        raise NotFound
    klass = Class.objects.get(pk=pk)
    now = timezone.now()
    with _recording_blocks(actor, BlockedAttempt.Kind.QUESTION, class_id=pk), transaction.atomic():
        errors = Errors()
        text = _check_text(text, MAX_QUESTION, "text", errors)
        flagged = _filter(klass.school_id, text, "text", errors) if text else []
        errors.raise_if_any()
        question = Question.objects.create(
            district_id=klass.district_id,
            school_id=klass.school_id,
            klass=klass,
            asked_by=actor,
            text=text,
            flagged_words=flagged,
            created_at=now,
        )
        record(actor, "conversations.question.ask", question, None, snapshot(question))
        if flagged:
            flag = Flag.objects.create(
                district_id=klass.district_id,
                school_id=klass.school_id,
                author=actor,
                question=question,
                words=flagged,
            )
            record(actor, "conversations.flag", flag, None, snapshot(flag))
        delivery, _quiet = _deliver(
            _class_recipients(klass),
            school_id=klass.school_id,
            kind="conversation.question",
            title=gettext("New question in %(klass)s") % {"klass": klass.name},
            body=text,
            link=question_url(question),
            urgent=False,
            question=question,
            now=now,
        )
    return question, delivery


def _answerable(actor: Any, question_id: Any) -> Question:
    pk = _pk(question_id)
    question = (
        Question.objects.select_for_update()
        .filter(pk=pk, klass__in=permissions.answering_classes(actor))
        .first()
        if pk
        else None
    )
    if question is None:
        raise NotFound
    return question


def answer_question(actor: Any, question_id: Any, text: str) -> Answer:
    """A teacher of the class (or a school administrator) answers; the first answer records the
    first-response time and marks the question answered."""
    now = timezone.now()
    with (
        _recording_blocks(actor, BlockedAttempt.Kind.ANSWER, question_id=_pk(question_id)),
        transaction.atomic(),
    ):
        question = _answerable(actor, question_id)
        errors = Errors()
        if question.status == Question.Status.CLOSED:
            errors.add(None, _("This question is closed; it can no longer be answered."))
        text = _check_text(text, MAX_TEXT, "text", errors)
        flagged = _filter(question.school_id, text, "text", errors) if text else []
        errors.raise_if_any()
        before = snapshot(question)
        answer = Answer.objects.create(
            district_id=question.district_id,
            school_id=question.school_id,
            question=question,
            author=actor,
            text=text,
            flagged_words=flagged,
            created_at=now,
        )
        record(actor, "conversations.answer", answer, None, snapshot(answer))
        if question.first_response_at is None:
            question.first_response_at, question.first_responder = now, actor
        if question.status == Question.Status.OPEN:
            question.status = Question.Status.ANSWERED
        question.save(update_fields=["first_response_at", "first_responder", "status"])
        record(actor, "conversations.question.answered", question, before, snapshot(question))
        if flagged:
            flag = Flag.objects.create(
                district_id=question.district_id,
                school_id=question.school_id,
                author=actor,
                answer=answer,
                words=flagged,
            )
            record(actor, "conversations.flag", flag, None, snapshot(flag))
        if question.asked_by_id != actor.pk:
            notify(
                [question.asked_by_id],
                "conversation.answer",
                gettext("Your question was answered"),
                body=text[:200],
                link=question_url(question),
                school=question.school_id,
            )
    return answer


def close_question(actor: Any, question_id: Any) -> Question:
    """The asker or a teacher of the class closes a question."""
    pk = _pk(question_id)
    with transaction.atomic():
        question = Question.objects.select_for_update().filter(pk=pk).first() if pk else None
        if question is None or not (
            (question.asked_by_id == actor.pk and question.klass_id in permissions.asking_class_ids(actor))
            or permissions.answering_classes(actor).filter(pk=question.klass_id).exists()
        ):
            raise NotFound
        if question.status == Question.Status.CLOSED:
            return question
        before = snapshot(question)
        question.status, question.closed_at = Question.Status.CLOSED, timezone.now()
        question.save(update_fields=["status", "closed_at"])
        record(actor, "conversations.question.close", question, before, snapshot(question))
    return question


# --------------------------------------------------------------------------- canned replies


def save_canned_reply(
    actor: Any, school_id: Any, *, title: str, text: str, school_wide: bool = False
) -> CannedReply:
    from schoolbridge.core.models import School

    pk = _pk(school_id)
    mine = {c.school_id for c in permissions.answering_classes(actor)} | permissions.admin_school_ids(actor)
    if pk is None or pk not in mine:
        raise NotFound
    errors = Errors()
    if school_wide and pk not in permissions.admin_school_ids(actor):
        errors.add("school_wide", _("Only the school's administrators keep school-wide replies."))
    title = _check_text(title, 80, "title", errors)
    text = _check_text(text, 2000, "text", errors)
    errors.raise_if_any()
    school = School.objects.get(pk=pk)
    with transaction.atomic():
        reply = CannedReply.objects.create(
            district_id=school.district_id,
            school=school,
            owner=None if school_wide else actor,
            title=title,
            text=text,
        )
        record(actor, "conversations.canned.add", reply, None, snapshot(reply))
    return reply


def delete_canned_reply(actor: Any, reply_id: Any) -> None:
    """Canned replies are templates, not the archive: their owner (or, for school-wide ones, an
    administrator) may remove them."""
    pk = _pk(reply_id)
    with transaction.atomic():
        reply = CannedReply.objects.select_for_update().filter(pk=pk).first() if pk else None
        if reply is None or not (
            reply.owner_id == actor.pk
            or (reply.owner_id is None and reply.school_id in permissions.admin_school_ids(actor))
        ):
            raise NotFound
        record(actor, "conversations.canned.delete", reply, snapshot(reply), None)
        reply.delete()


# --------------------------------------------------------------------------- lexicon and moderation


def _admin_school(actor: Any, school_id: Any) -> int:
    pk = _pk(school_id)
    if pk is None or pk not in permissions.admin_school_ids(actor):
        raise NotFound
    return pk


def set_lexicon_word(actor: Any, school_id: Any, word: str, level: str) -> LexiconEntry:
    from schoolbridge.core.models import School

    pk = _admin_school(actor, school_id)
    errors = Errors()
    word = " ".join(wordfilter.normalise(word or "").split())
    if not word:
        errors.add("word", _("This field is required."))
    elif len(word) > 60:
        errors.add(
            "word",
            _("Please keep it to %(limit)d characters (it has %(n)d).") % {"limit": 60, "n": len(word)},
        )
    if level not in LexiconEntry.Level.values:
        errors.add("level", _("Choose warn, block or off."))
    errors.raise_if_any()
    with transaction.atomic():
        entry = LexiconEntry.objects.select_for_update().filter(school_id=pk, word=word).first()
        before = snapshot(entry)
        if entry is None:
            entry = LexiconEntry(
                district_id=School.objects.values_list("district_id", flat=True).get(pk=pk),
                school_id=pk,
                word=word,
                created_by=actor,
            )
        entry.level = level
        entry.save()
        record(actor, "conversations.lexicon.set", entry, before, snapshot(entry))
    return entry


def remove_lexicon_word(actor: Any, entry_id: Any) -> None:
    pk = _pk(entry_id)
    with transaction.atomic():
        entry = (
            LexiconEntry.objects.filter(pk=pk, school_id__in=permissions.admin_school_ids(actor)).first()
            if pk
            else None
        )
        if entry is None:
            raise NotFound
        record(actor, "conversations.lexicon.remove", entry, snapshot(entry), None)
        entry.delete()


def _mark_reviewed(actor: Any, model: Any, item_id: Any, verb: str) -> Any:
    """Mark a flag or blocked attempt of the actor's schools as reviewed (once; repeating changes nothing)."""
    pk = _pk(item_id)
    with transaction.atomic():
        item = (
            model.objects.select_for_update()
            .filter(pk=pk, school_id__in=permissions.admin_school_ids(actor))
            .first()
            if pk
            else None
        )
        if item is None:
            raise NotFound
        if item.reviewed_at is None:
            before = snapshot(item)
            item.reviewed_at, item.reviewed_by = timezone.now(), actor
            item.save(update_fields=["reviewed_at", "reviewed_by"])
            record(actor, verb, item, before, snapshot(item))
    return item


def review_flag(actor: Any, flag_id: Any) -> Flag:
    flag: Flag = _mark_reviewed(actor, Flag, flag_id, "conversations.flag.review")
    return flag


def review_blocked(actor: Any, blocked_id: Any) -> BlockedAttempt:
    blocked: BlockedAttempt = _mark_reviewed(
        actor, BlockedAttempt, blocked_id, "conversations.blocked.review"
    )
    return blocked


# --------------------------------------------------------------------------- safeguarding export

EXPORT_FORMATS = ("json", "csv")
CSV_COLUMNS = [
    "thread_id",
    "subject",
    "school",
    "class",
    "student",
    "message_id",
    "sent_at",
    "sender_id",
    "sender",
    "sender_role",
    "urgent",
    "auto_reply",
    "flagged_words",
    "text",
    "attachments",
    "read_by",
]


@dataclass
class Export:
    filename: str
    content_type: str
    content: bytes
    threads: int
    messages: int


def _export_rows(threads: list[Thread]) -> list[dict[str, Any]]:
    out = []
    for thread in threads:
        roles = dict(thread.participants.values_list("user_id", "role"))
        people = {u.pk: str(u) for u in User.objects.filter(pk__in=roles.keys()).select_related("person")}
        participants = [
            {"user_id": uid, "name": people.get(uid, ""), "role": role} for uid, role in roles.items()
        ]
        messages = []
        for m in thread.messages.select_related("sender__person").prefetch_related("attachments", "receipts"):
            messages.append(
                {
                    "id": m.pk,
                    "sent_at": timezone.localtime(m.created_at).isoformat(),
                    "sender_id": m.sender_id,
                    "sender": str(m.sender),
                    "sender_role": roles.get(m.sender_id, ""),
                    "urgent": m.urgent,
                    "auto_reply": m.auto_reply,
                    "flagged_words": m.flagged_words,
                    "text": m.text,
                    "attachments": [
                        {
                            "id": a.pk,
                            "name": a.original_name,
                            "content_type": a.content_type,
                            "size": a.size,
                            "sha256": a.sha256,
                            "voice_note": a.voice,
                            "path": a.file.name,
                        }
                        for a in m.attachments.all()
                    ],
                    "read_by": [
                        {"user_id": r.user_id, "read_at": timezone.localtime(r.read_at).isoformat()}
                        for r in m.receipts.all()
                    ],
                }
            )
        out.append(
            {
                "id": thread.pk,
                "subject": thread.subject,
                "school": thread.school.name,
                "class": thread.klass.name if thread.klass else "",
                "student": str(thread.student) if thread.student else "",
                "started_at": timezone.localtime(thread.created_at).isoformat(),
                "participants": participants,
                "messages": messages,
            }
        )
    return out


def export_threads(actor: Any, *, thread_id: Any = None, class_id: Any = None, fmt: str = "json") -> Export:
    """A safeguarding export of one thread or of every thread of a class, for the school's
    administrators. Audited (who exported what, in which format)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput({"format": [_("Choose JSON or CSV.")]})
    schools = permissions.admin_school_ids(actor)
    base = Thread.objects.filter(school_id__in=schools).select_related("school", "klass", "student__person")
    target: Any
    if thread_id is not None:
        pk = _pk(thread_id)
        threads = list(base.filter(pk=pk)) if pk else []
        if not threads:
            raise NotFound
        target, stem = threads[0], f"conversation-{pk}"
    else:
        pk = _pk(class_id)
        klass = Class.objects.filter(pk=pk, school_id__in=schools).first() if pk else None
        if klass is None:
            raise NotFound
        threads = list(base.filter(klass=klass).order_by("created_at", "pk"))
        target, stem = klass, f"conversations-class-{klass.pk}"
    rows = _export_rows(threads)
    count = sum(len(t["messages"]) for t in rows)
    exported_at = timezone.localtime().isoformat()
    if fmt == "json":
        payload = {"exported_at": exported_at, "exported_by": actor.pk, "threads": rows}
        content = json.dumps(payload, ensure_ascii=False, indent=2).encode()
        content_type = "application/json"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for t in rows:
            for m in t["messages"]:
                writer.writerow(
                    {
                        "thread_id": t["id"],
                        "subject": t["subject"],
                        "school": t["school"],
                        "class": t["class"],
                        "student": t["student"],
                        "message_id": m["id"],
                        "sent_at": m["sent_at"],
                        "sender_id": m["sender_id"],
                        "sender": m["sender"],
                        "sender_role": m["sender_role"],
                        "urgent": m["urgent"],
                        "auto_reply": m["auto_reply"],
                        "flagged_words": " ".join(m["flagged_words"]),
                        "text": m["text"],
                        "attachments": "; ".join(
                            f"{a['name']} ({a['content_type']}, {a['size']} B, sha256 {a['sha256']})"
                            for a in m["attachments"]
                        ),
                        "read_by": "; ".join(f"{r['user_id']}@{r['read_at']}" for r in m["read_by"]),
                    }
                )
        content = ("\ufeff" + buffer.getvalue()).encode()  # BOM: spreadsheet programs read UTF-8
        content_type = "text/csv; charset=utf-8"
    with transaction.atomic():
        record(
            actor,
            "conversations.export",
            target,
            None,
            {"format": fmt, "threads": [t["id"] for t in rows], "messages": count},
        )
    return Export(f"{stem}.{fmt}", content_type, content, len(rows), count)
