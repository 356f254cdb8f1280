"""Reads for conversations. ``in_quiet_hours`` is also used by notices (escalation to staff)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from . import wordfilter
from .models import LexiconEntry, QuietHours


def _user_id(user: Any) -> int | None:
    if user is None or isinstance(user, bool):
        return None
    if isinstance(user, int):
        return user
    return getattr(user, "pk", None)


def quiet_hours_of(user: Any) -> QuietHours | None:
    """The user's quiet hours setting if they have one (enabled or not)."""
    uid = _user_id(user)
    if uid is None:
        return None
    return QuietHours.objects.filter(user_id=uid).first()


def quiet_period_end(
    setting: QuietHours | None, at: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When the quiet period containing ``at`` ends (aware, local time zone), or None if ``at`` is not
    in quiet hours under this setting."""
    if setting is None or not setting.enabled or setting.start == setting.end:
        return None
    local = timezone.localtime(at or timezone.now())
    t, day = local.time(), local.date()
    weekday = local.isoweekday()
    days = set(setting.weekdays)
    tz = local.tzinfo

    def _at(d: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(d, setting.end, tzinfo=tz)

    if setting.start < setting.end:
        if str(weekday) in days and setting.start <= t < setting.end:
            return _at(day)
        return None
    # Overnight span: from start on a listed day until end the next morning.
    if t >= setting.start and str(weekday) in days:
        return _at(day + datetime.timedelta(days=1))
    previous = 7 if weekday == 1 else weekday - 1
    if t < setting.end and str(previous) in days:
        return _at(day)
    return None


def in_quiet_hours(user: Any, at: datetime.datetime | None = None) -> bool:
    """Whether ``user`` (a user or user id) is in their quiet hours at ``at`` (default now).
    Users without a setting, or with it switched off, are never in quiet hours."""
    return quiet_period_end(quiet_hours_of(user), at) is not None


def school_lexicon(school_id: int | None) -> dict[str, wordfilter.Level]:
    """The built-in lexicon extended and overridden by the school's own entries."""
    overrides: list[tuple[str, str | None]] = []
    if school_id is not None:
        for word, level in LexiconEntry.objects.filter(school_id=school_id).values_list("word", "level"):
            overrides.append((word, None if level == LexiconEntry.Level.OFF else level))
    return wordfilter.merge(wordfilter.DEFAULT_LEXICON, overrides)


def check_text(
    school_id: int | None, text: str, lexicon: Mapping[str, str] | None = None
) -> list[wordfilter.Hit]:
    return wordfilter.check(text, lexicon if lexicon is not None else school_lexicon(school_id))


# --------------------------------------------------------------------------- inbox


def inbox(user: Any, limit: int = 200) -> list[dict[str, Any]]:
    """The user's threads, newest activity first, with the other participants and unread counts."""
    from django.db.models import Count, Exists, OuterRef, Q

    from .models import Message, Participant, Receipt
    from .permissions import own_threads

    unread = Count(
        "messages",
        filter=~Q(messages__sender_id=user.pk)
        & ~Exists(Receipt.objects.filter(message=OuterRef("messages"), user_id=user.pk)),
    )
    threads = list(
        own_threads(user)
        .select_related("student__person", "klass")
        .annotate(unread=unread)
        .order_by("-last_message_at", "-pk")[:limit]
    )
    ids = [t.pk for t in threads]
    others: dict[int, list[str]] = {}
    for p in (
        Participant.objects.filter(thread_id__in=ids).exclude(user_id=user.pk).select_related("user__person")
    ):
        others.setdefault(p.thread_id, []).append(str(p.user))
    last: dict[int, Message] = {}
    for m in Message.objects.filter(thread_id__in=ids).order_by("thread_id", "-created_at", "-pk"):
        last.setdefault(m.thread_id, m)
    return [
        {"thread": t, "others": others.get(t.pk, []), "last": last.get(t.pk), "unread": t.unread}
        for t in threads
    ]


# --------------------------------------------------------------------------- FAQ suggestions

_LATIN = re.compile(r"[0-9a-z]+")
_STOP = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "to",
    "of",
    "and",
    "or",
    "in",
    "on",
    "for",
    "what",
    "when",
    "how",
    "do",
    "does",
    "i",
    "my",
    "we",
    "our",
    "it",
    "be",
    "can",
    "will",
    "there",
    "this",
    "that",
    "you",
}


def tokens(text: str) -> set[str]:
    """Simple tokens for matching questions: Latin words (lower-cased, without a few stop words) and
    overlapping pairs of CJK characters (Chinese has no spaces; pairs catch most words)."""
    folded = wordfilter.normalise(text or "")
    out = {w for w in _LATIN.findall(folded) if len(w) > 1 and w not in _STOP}
    cjk = [ch if "\u3400" <= ch <= "\u9fff" else " " for ch in folded]
    for run in "".join(cjk).split():
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def suggest_answers(user: Any, class_id: int, text: str, limit: int = 3) -> list[dict[str, Any]]:
    """Answered questions like this one, to show while a guardian types (FAQ suggestions).

    Good enough, by design: the share of the new text's tokens that a previous question shares
    (token overlap, see ``tokens``), over the answered questions of the boards the user may read —
    this class first, then the others of the same school. At least two shared tokens, or half the
    tokens of a short text, are needed.
    """
    from .models import Question
    from .permissions import board_classes

    wanted = tokens(text)
    if len(wanted) < 2:
        return []
    boards = board_classes(user)
    school_id = boards.filter(pk=class_id).values_list("school_id", flat=True).first()
    if school_id is None:
        return []
    candidates = (
        Question.objects.filter(klass__in=boards.filter(school_id=school_id).values("pk"))
        .exclude(status=Question.Status.OPEN)
        .select_related("klass")
        .prefetch_related("answers")
        .order_by("-created_at")[:500]
    )
    scored = []
    for q in candidates:
        shared = len(wanted & tokens(q.text))
        score = shared / len(wanted)
        if shared >= 2 and score >= 0.3:
            scored.append((score + (0.01 if q.klass_id == class_id else 0), q))
    scored.sort(key=lambda pair: (-pair[0], -pair[1].pk))
    out = []
    for _score, q in scored[:limit]:
        answers = list(q.answers.all())
        out.append({"question": q, "answer": answers[0] if answers else None})
    return out


# --------------------------------------------------------------------------- engagement data


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) // 2


def teacher_response_stats(user: Any) -> dict[str, Any]:
    """A member of staff's response times: to guardians in threads (from each reply's
    response_seconds) and to Q&A questions (first-response times of questions they answered first)."""
    from .models import Message, Participant, Question

    staff_threads = Participant.objects.filter(user_id=user.pk, role__in=["staff", "admin"]).values(
        "thread_id"
    )
    replies: list[int] = list(
        Message.objects.filter(
            sender_id=user.pk, thread_id__in=staff_threads, auto_reply=False, response_seconds__isnull=False
        ).values_list("response_seconds", flat=True)  # type: ignore[arg-type]
    )
    firsts = [
        int((a - c).total_seconds())
        for c, a in Question.objects.filter(
            first_responder_id=user.pk, first_response_at__isnull=False
        ).values_list("created_at", "first_response_at")
        if a is not None
    ]
    return {
        "thread_replies": len(replies),
        "thread_median_seconds": _median(replies),
        "questions_answered_first": len(firsts),
        "question_median_seconds": _median(firsts),
    }


def family_response_rates(user: Any) -> list[dict[str, Any]]:
    """Per guardian in the staff member's threads: how many of the staff side's turns (a run of staff
    messages) got a reply from the guardian, and the guardian's median reply time."""
    from .models import Message, Participant

    staff_threads = list(
        Participant.objects.filter(user_id=user.pk, role__in=["staff", "admin"]).values_list(
            "thread_id", flat=True
        )
    )
    guardians = Participant.objects.filter(thread_id__in=staff_threads, role="guardian").select_related(
        "user__person"
    )
    by_thread: dict[int, list[Any]] = {}
    for p in guardians:
        by_thread.setdefault(p.thread_id, []).append(p.user)
    stats: dict[int, dict[str, Any]] = {}
    msgs = Message.objects.filter(thread_id__in=list(by_thread), auto_reply=False).order_by(
        "thread_id", "created_at", "pk"
    )
    current: int | None = None
    previous_staff = False
    for m in msgs.values("thread_id", "sender_id", "response_seconds"):
        if m["thread_id"] != current:
            current, previous_staff = m["thread_id"], False
        family = {u.pk: u for u in by_thread.get(m["thread_id"], [])}
        if m["sender_id"] in family:
            row = stats.setdefault(
                m["sender_id"], {"user": family[m["sender_id"]], "turns": 0, "replied": 0, "times": []}
            )
            if previous_staff:
                row["replied"] += 1
                if m["response_seconds"] is not None:
                    row["times"].append(m["response_seconds"])
            previous_staff = False
        else:
            if not previous_staff:
                for u in family.values():
                    stats.setdefault(u.pk, {"user": u, "turns": 0, "replied": 0, "times": []})["turns"] += 1
            previous_staff = True
    out = []
    for row in stats.values():
        turns = row["turns"]
        out.append(
            {
                "user": row["user"],
                "turns": turns,
                "replied": row["replied"],
                "rate": (row["replied"] / turns) if turns else None,
                "median_seconds": _median(row["times"]),
            }
        )
    out.sort(key=lambda r: (r["rate"] if r["rate"] is not None else 2, str(r["user"])))
    return out


def open_questions(user: Any) -> Any:
    """Open questions across every class the user answers for, oldest first."""
    from .models import Question
    from .permissions import answering_classes

    return (
        Question.objects.filter(klass__in=answering_classes(user).values("pk"), status=Question.Status.OPEN)
        .select_related("klass", "asked_by__person")
        .order_by("created_at", "pk")
    )
