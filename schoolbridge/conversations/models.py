"""Conversations: guardian–teacher threads, the class Q&A board, quiet hours, canned replies and the
per-school sensitive-word lexicon.

Threads and their messages are an archive: no participant can delete them (there is no delete action,
and the foreign keys from messages protect the rows they point at).
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from schoolbridge.core.models import Class, District, School, Student

ALL_WEEKDAYS = "1234567"  # ISO weekdays, Monday = 1


class QuietHours(models.Model):
    """A staff member's quiet hours: messages arriving then get the auto-reply and the staff member's
    notification waits until the quiet hours end. A span whose end is before its start runs overnight
    and belongs to the weekday it starts on (Friday 21:00–07:00 is quiet until Saturday 07:00)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours"
    )
    start = models.TimeField(_("quiet from"), default=datetime.time(21, 0))
    end = models.TimeField(_("quiet until"), default=datetime.time(7, 0))
    weekdays = models.CharField(_("days"), max_length=7, default=ALL_WEEKDAYS)
    auto_reply = models.TextField(_("automatic reply"), blank=True, max_length=1000)
    enabled = models.BooleanField(_("quiet hours on"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("quiet hours")
        verbose_name_plural = _("quiet hours")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.start:%H:%M}–{self.end:%H:%M} ({self.weekdays})"


class LexiconEntry(models.Model):
    """One word of a school's sensitive-word lexicon. It extends the built-in default list, or
    overrides a default word's level ("off" removes a default word for this school)."""

    class Level(models.TextChoices):
        WARN = "warn", _("warn (allow and flag)")
        BLOCK = "block", _("block (refuse)")
        OFF = "off", _("off (allow)")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="lexicon_entries")
    word = models.CharField(_("word or phrase"), max_length=60)
    level = models.CharField(_("level"), max_length=5, choices=Level.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("lexicon entry")
        verbose_name_plural = _("lexicon entries")
        ordering = ["word"]
        constraints = [
            models.UniqueConstraint(fields=["school", "word"], name="lexicon_word_unique_in_school")
        ]

    def __str__(self) -> str:
        return f"{self.word} ({self.level})"


def _attachment_path(instance: Attachment, filename: str) -> str:
    now = timezone.now()
    return f"conversations/{instance.school_id}/{now:%Y/%m}/{uuid.uuid4().hex}"


class Thread(models.Model):
    """A direct conversation between a guardian and a member of staff (or an administrator and anyone
    in the school), about one child where there is one."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The child's class when the thread began (for a class's safeguarding export).
    klass = models.ForeignKey(Class, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(pgettext_lazy("message", "subject"), max_length=120)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("conversation")
        ordering = ["-last_message_at", "-pk"]

    def __str__(self) -> str:
        return self.subject


class Participant(models.Model):
    class Role(models.TextChoices):
        GUARDIAN = "guardian", _("guardian")
        STAFF = "staff", _("staff")
        ADMIN = "admin", _("school administration")

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="participant_unique")]
        indexes = [models.Index(fields=["user", "thread"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.thread_id}"


class Message(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("message"), blank=True, max_length=4000)
    urgent = models.BooleanField(_("urgent"), default=False)
    # An automatic reply sent on the recipient's behalf during their quiet hours.
    auto_reply = models.BooleanField(default=False)
    quiet_until = models.DateTimeField(null=True, blank=True)
    # Sensitive words found at the "warn" level (the message was sent and flagged).
    flagged_words = models.JSONField(default=list, blank=True)
    # Seconds since the other side's oldest message this one answers (engagement data).
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("message")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["sender", "urgent", "created_at"])]

    def __str__(self) -> str:
        return f"{self.sender_id}: {self.text[:40]}"


class Attachment(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    voice = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_audio(self) -> bool:
        return self.content_type.startswith("audio/")


class Receipt(models.Model):
    """A participant has read a message (one row per message per reader; the sender needs none)."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="receipt_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.message_id}"


class DeferredNotification(models.Model):
    """A notification held back by the recipient's quiet hours; the beat task delivers it at deliver_at.
    One undelivered row per recipient and thread (or question) gathers the messages of that quiet period."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    question = models.ForeignKey(
        "Question", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    link = models.CharField(max_length=300)
    count = models.PositiveIntegerField(default=1)
    deliver_at = models.DateTimeField(db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class Question(models.Model):
    """A question on a class's Q&A board, asked by a guardian and answered for the whole class."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    klass = models.ForeignKey(Class, on_delete=models.PROTECT, related_name="questions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("question"), max_length=2000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    flagged_words = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["klass", "status"])]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def first_response_seconds(self) -> int | None:
        if self.first_response_at is None:
            return None
        return int((self.first_response_at - self.created_at).total_seconds())


class Answer(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("answer"), max_length=4000)
    flagged_words = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("answer")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class CannedReply(models.Model):
    """A reusable answer: personal (owner set) or school-wide (owner empty, kept by administrators)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("title"), max_length=80)
    text = models.TextField(_("text"), max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("canned reply")
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class Flag(models.Model):
    """A message, question or answer that contained sensitive words at the warn level, for review."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    words = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"flag {self.pk}: {', '.join(self.words)}"

    @property
    def text(self) -> str:
        item = self.message or self.question or self.answer
        return item.text if item is not None else ""


class BlockedAttempt(models.Model):
    """A message, subject, question or answer refused by the word filter ("block" level), for the
    school administrator. The text itself is not kept: only the blocked words and a short excerpt
    around the first of them, with the blocked words masked."""

    class Kind(models.TextChoices):
        THREAD = "thread", _("new conversation")
        MESSAGE = "message", _("message")
        QUESTION = "question", _("question")
        ANSWER = "answer", _("answer")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    klass = models.ForeignKey(Class, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    words = models.JSONField(default=list)
    excerpt = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["school", "created_at"])]

    def __str__(self) -> str:
        return f"blocked {self.pk}: {', '.join(self.words)}"
