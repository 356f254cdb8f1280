"""Writes to notices: send (now or scheduled), fan out, read, confirm, edit, withdraw, remind, templates,
reminder policy.

Every action takes the acting user first, runs in one transaction, checks reach through
notices.permissions (out of scope gives the same NotFound as missing), validates into field-level
InvalidInput errors (nothing is saved when input is bad — uploaded files included), writes an audit
row, and delivers only after the commit.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.helpers import _pk
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.errors import Errors, InvalidInput, NotFound
from schoolbridge.core.models import Class, Guardianship, School, Staff, Student, TeachingAssignment
from schoolbridge.notify import channels as notify_channels
from schoolbridge.notify.actions import notify
from schoolbridge.notify.models import Notification

from . import richtext
from .files import MAX_ATTACHMENTS, check_upload
from .live import after_commit as _after_commit
from .live import push_progress
from .models import (
    AudienceKind,
    Notice,
    NoticeAttachment,
    NoticeAudience,
    NoticeGroup,
    NoticeTemplate,
    NoticeVersion,
    Priority,
    Receipt,
    ReceiptStudent,
    ReminderPolicy,
    Status,
)
from .permissions import (
    Reach,
    can_edit_group,
    can_edit_library,
    can_manage,
    members_in_reach,
    reach,
    sending_schools,
    visible_groups,
)

User = get_user_model()

TITLE_MAX = 120
BODY_MAX = 5000  # characters of text
BODY_HTML_MAX = 4 * BODY_MAX  # characters of text and formatting as posted
SIGNATURE_MAX = 60
MAX_SCHEDULE_DAYS = 90
MAX_HOURS = 720
MANUAL_REMIND_GAP = datetime.timedelta(minutes=10)
INSERT_BATCH = 1000


def fanout_batch() -> int:
    return int(getattr(settings, "NOTICES_FANOUT_BATCH", 500))


def fanout_delay() -> float:
    """Seconds to pause between fan-out batches (0 in production; tests slow the fan-out down with it)."""
    return float(getattr(settings, "NOTICES_FANOUT_BATCH_DELAY", 0))


class _Saved:
    """Files written to storage during an action, removed again if the action fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def discard(self) -> None:
        for name in self.names:
            default_storage.delete(name)


def _summary(body: str, limit: int = 140) -> str:
    text = " ".join(richtext.to_text(body).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _on_commit_push(notice_ids: Iterable[int]) -> None:
    _after_commit(push_progress, list(notice_ids))


def _notice_snapshot(notice: Notice) -> dict[str, Any]:
    out = snapshot(notice)
    out["audience"] = [f"{a.kind}:{a.target_id}" for a in notice.audiences.all()] if notice.pk else []
    return out


# --------------------------------------------------------------------------- validation


def _clean_text(data: dict[str, Any], errors: Errors) -> tuple[str, str]:
    title = " ".join(str(data.get("title") or "").split())
    raw = str(data.get("body") or "").replace("\r\n", "\n").strip()
    body = richtext.clean(raw) if len(raw) <= BODY_HTML_MAX else ""
    if not title:
        errors.add("title", _("Enter a title."))
    elif len(title) > TITLE_MAX:
        errors.add("title", _("Keep the title under %(n)d characters.") % {"n": TITLE_MAX})
    if len(raw) > BODY_HTML_MAX:
        errors.add(
            "body", _("The notice is too long with its formatting; shorten it or remove some formatting.")
        )
    elif not body:
        errors.add("body", _("Write the notice."))
    elif len(richtext.to_text(body)) > BODY_MAX:
        errors.add("body", _("Keep the notice under %(n)d characters.") % {"n": BODY_MAX})
    return title, body


def _clean_hours(data: dict[str, Any], errors: Errors) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name in ("remind_after_hours", "sms_after_hours", "escalate_after_hours"):
        value = data.get(name)
        if value in (None, ""):
            out[name] = None
            continue
        try:
            hours = int(value)
        except (TypeError, ValueError):
            errors.add(name, _("Enter a whole number of hours."))
            continue
        if not 0 <= hours <= MAX_HOURS:
            errors.add(name, _("Enter between 0 and %(n)d hours.") % {"n": MAX_HOURS})
            continue
        out[name] = hours
    return out


def _parse_audience(raw: Iterable[Any]) -> list[tuple[str, int]] | None:
    """("class", 5) pairs or "class:5" strings → pairs; None when something is malformed."""
    out: list[tuple[str, int]] = []
    for item in raw:
        if isinstance(item, str):
            kind, _sep, ident = item.partition(":")
        else:
            try:
                kind, ident = item
            except (TypeError, ValueError):
                return None
        pk = _pk(ident if not isinstance(ident, str) else ident.strip())
        if kind not in AudienceKind.values or pk is None:
            return None
        out.append((kind, pk))
    return list(dict.fromkeys(out))


def _check_audience(actor: Any, school_id: int, audience: list[tuple[str, int]], errors: Errors) -> None:
    if not audience:
        errors.add("audience", _("Choose who receives the notice."))
        return
    r = reach(actor, school_id)
    families = {pk for kind, pk in audience if kind == AudienceKind.GUARDIANS}
    allowed_families = r.family_ids(families)
    group_ids = {pk for kind, pk in audience if kind == AudienceKind.GROUP}
    if group_ids:
        groups = {g.pk: g for g in visible_groups(actor, school_id).filter(pk__in=group_ids)}
        if set(groups) != group_ids:
            errors.add("audience", _("The chosen recipients are not valid."))
            return
        for group in groups.values():
            _check_group_reach(r, group, errors)
    for kind, pk in audience:
        if kind == AudienceKind.GROUP:
            continue
        ok = pk in allowed_families if kind == AudienceKind.GUARDIANS else r.allows(kind, pk)
        if not ok:
            errors.add("audience", _("You cannot send notices to some of the chosen recipients."))
            return


def _group_members(group_ids: Iterable[int]) -> dict[int, tuple[set[int], set[int]]]:
    """group id -> (student ids, guardian account ids), in two queries."""
    out: dict[int, tuple[set[int], set[int]]] = {pk: (set(), set()) for pk in group_ids}
    for gid, sid in NoticeGroup.students.through.objects.filter(noticegroup_id__in=out).values_list(
        "noticegroup_id", "student_id"
    ):
        out[gid][0].add(sid)
    for gid, uid in NoticeGroup.guardians.through.objects.filter(noticegroup_id__in=out).values_list(
        "noticegroup_id", "user_id"
    ):
        out[gid][1].add(uid)
    return out


def _check_group_reach(r: Reach, group: NoticeGroup, errors: Errors) -> None:
    """Refuse a group that is empty or has members beyond the sender's reach (named in the error)."""
    students, users = _group_members([group.pk])[group.pk]
    if not students and not users:
        errors.add("audience", _("The group “%(group)s” has no members.") % {"group": group.name})
        return
    ok_students, ok_users = members_in_reach(r, students, users)
    beyond = [str(s) for s in Student.objects.filter(pk__in=students - ok_students).select_related("person")]
    beyond += [str(u) for u in User.objects.filter(pk__in=users - ok_users).select_related("person")]
    if beyond:
        errors.add(
            "audience",
            _(
                "The group “%(group)s” includes families you cannot send notices to: %(names)s. "
                "Edit the group or choose another audience."
            )
            % {"group": group.name, "names": "、".join(sorted(beyond))},
        )


def _check_files(files: Sequence[Any], errors: Errors) -> list[tuple[Any, str]]:
    if len(files) > MAX_ATTACHMENTS:
        errors.add("attachments", _("Attach at most %(n)d files.") % {"n": MAX_ATTACHMENTS})
        return []
    checked = []
    for f in files:
        content_type, problem = check_upload(f)
        if problem:
            errors.add("attachments", problem)
        else:
            checked.append((f, str(content_type)))
    return checked


def _store(notice: Notice, actor: Any, files: list[tuple[Any, str]], saved: _Saved) -> None:
    for f, content_type in files:
        name = str(getattr(f, "name", "") or "file")[-200:]
        att = NoticeAttachment(
            district_id=notice.district_id,
            school_id=notice.school_id,
            notice=notice,
            original_name=name,
            content_type=content_type,
            size=f.size,
            uploaded_by=actor,
        )
        att.file.save(name, File(f), save=False)
        saved.names.append(att.file.name)
        att.save()
        record(actor, "notice.attachment.add", att, None, snapshot(att, ("notice", "original_name", "size")))


# --------------------------------------------------------------------------- audience → recipients


def resolve_recipients(notice: Notice) -> dict[int, tuple[bool, set[tuple[int, int | None]]]]:
    """Recipient accounts of a notice: user id -> (reached only as staff, {(student id, class id)}).

    Guardians with an active account whose guardianship receives notices, of enrolled students of the
    notice's school; and active staff with an account for a staff audience. Never the author.
    """
    grade_ids: list[int] = []
    class_ids: list[int] = []
    student_ids: list[int] = []
    group_ids: list[int] = []
    staff_parts: dict[str, list[int]] = {}
    whole = staff = False
    for kind, target in notice.audiences.values_list("kind", "target_id"):
        if kind == AudienceKind.SCHOOL:
            whole = True
        elif kind == AudienceKind.STAFF:
            staff = True
        elif kind in STAFF_KINDS:
            staff_parts.setdefault(kind, []).append(target)
        elif kind == AudienceKind.GRADE:
            grade_ids.append(target)
        elif kind == AudienceKind.CLASS:
            class_ids.append(target)
        elif kind == AudienceKind.GUARDIANS:
            student_ids.append(target)
        elif kind == AudienceKind.GROUP:
            group_ids.append(target)
    out: dict[int, tuple[bool, set[tuple[int, int | None]]]] = {}
    from django.db.models import Q

    q = Q(pk__in=[])
    if group_ids and not whole:
        # A group's members, as of now and within the author's reach as of now.
        members = _group_members(
            NoticeGroup.objects.filter(pk__in=group_ids, school_id=notice.school_id).values_list(
                "pk", flat=True
            )
        )
        r = reach(notice.author, notice.school_id)
        ok_students, ok_users = members_in_reach(
            r, set().union(*(m[0] for m in members.values())), set().union(*(m[1] for m in members.values()))
        )
        student_ids.extend(ok_students)
        if ok_users:
            q |= Q(r.student_q("student__"), guardian__person__user_id__in=ok_users)
    if whole:
        q = Q()
    else:
        if grade_ids:
            q |= Q(student__current_class__grade_id__in=grade_ids)
        if class_ids:
            q |= Q(student__current_class_id__in=class_ids)
        if student_ids:
            q |= Q(student_id__in=student_ids)
    if whole or grade_ids or class_ids or student_ids or group_ids:
        rows = Guardianship.objects.filter(
            q,
            student__school_id=notice.school_id,
            student__status=Student.Status.ENROLLED,
            receives_notices=True,
            guardian__person__user__isnull=False,
            guardian__person__user__is_active=True,
        ).values_list("guardian__person__user_id", "student_id", "student__current_class_id")
        for user_id, student_id, class_id in rows.iterator(chunk_size=5000):
            entry = out.setdefault(user_id, (False, set()))
            entry[1].add((student_id, class_id))
    staff_q = Q() if staff else _staff_group_q(notice.school_id, staff_parts) if staff_parts else None
    if staff_q is not None:
        for user_id in Staff.objects.filter(
            staff_q,
            school_id=notice.school_id,
            active=True,
            person__user__isnull=False,
            person__user__is_active=True,
        ).values_list("person__user_id", flat=True):
            out.setdefault(user_id, (True, set()))
    out.pop(notice.author_id, None)
    return out


STAFF_KINDS = (AudienceKind.STAFF_HEADS, AudienceKind.STAFF_GRADE, AudienceKind.STAFF_SUBJECT)


def _staff_group_q(school_id: int, parts: dict[str, list[int]]) -> Any:
    """Staff groups as one filter on Staff: head teachers of this year's classes; the teachers (head and
    subject) of a grade's classes; the teachers of a subject — teaching assignments of the current term, or of
    this year's classes when no term covers today."""
    from django.db.models import Q

    today = timezone.localdate()
    classes = Class.objects.filter(
        school_id=school_id, year__start_date__lte=today, year__end_date__gte=today
    )
    assignments = TeachingAssignment.objects.filter(school_id=school_id, klass__in=classes)
    in_term = assignments.filter(term__start_date__lte=today, term__end_date__gte=today)
    if in_term.exists():
        assignments = in_term
    q = Q(pk__in=[])
    if AudienceKind.STAFF_HEADS in parts:
        q |= Q(pk__in=classes.exclude(head_teacher=None).values("head_teacher_id"))
    if grades := parts.get(AudienceKind.STAFF_GRADE):
        q |= Q(
            pk__in=classes.filter(grade_id__in=grades).exclude(head_teacher=None).values("head_teacher_id")
        )
        q |= Q(pk__in=assignments.filter(klass__grade_id__in=grades).values("teacher_id"))
    if subjects := parts.get(AudienceKind.STAFF_SUBJECT):
        q |= Q(pk__in=assignments.filter(subject_id__in=subjects).values("teacher_id"))
    return q


def _create_receipts(notice: Notice, now: datetime.datetime) -> int:
    """Insert every receipt (and the students each covers) in bulk, in the caller's transaction."""
    recipients = resolve_recipients(notice)
    receipts = [
        Receipt(
            district_id=notice.district_id,
            school_id=notice.school_id,
            notice_id=notice.pk,
            user_id=user_id,
            is_staff=is_staff and not students,
            created_at=now,
        )
        for user_id, (is_staff, students) in recipients.items()
    ]
    created = Receipt.objects.bulk_create(receipts, batch_size=INSERT_BATCH)
    if any(r.pk is None for r in created):  # databases that cannot return ids from bulk inserts
        ids = dict(Receipt.objects.filter(notice_id=notice.pk).values_list("user_id", "pk"))
    else:
        ids = {r.user_id: r.pk for r in created}
    links = [
        ReceiptStudent(receipt_id=ids[user_id], notice_id=notice.pk, student_id=student_id, klass_id=class_id)
        for user_id, (_staff, students) in recipients.items()
        for student_id, class_id in students
    ]
    ReceiptStudent.objects.bulk_create(links, batch_size=INSERT_BATCH)
    Notice.objects.filter(pk=notice.pk).update(recipient_count=len(receipts))
    notice.recipient_count = len(receipts)
    return len(receipts)


def _start_fanout(notice_id: int) -> None:
    from .tasks import fan_out_notice

    fan_out_notice.delay(notice_id)


# --------------------------------------------------------------------------- send


def send_notice(
    actor: Any,
    school_id: Any,
    *,
    title: str,
    body: str,
    audience: Iterable[Any],
    priority: str = Priority.NORMAL,
    confirmation_required: bool = False,
    signature_required: bool = False,
    send_at: datetime.datetime | None = None,
    attachments: Sequence[Any] = (),
    idempotency_key: str = "",
    **hours: Any,
) -> Notice:
    """Send a notice now (or schedule it for send_at). A repeated idempotency key returns the first notice."""
    pk = _pk(school_id)
    if pk is None or pk not in {s.pk for s in sending_schools(actor)}:
        raise NotFound
    key = str(idempotency_key or "").strip()[:64]
    if key:
        existing = Notice.objects.filter(author=actor, idempotency_key=key).first()
        if existing is not None:
            return existing
    saved = _Saved()
    try:
        return _send(
            actor,
            pk,
            title,
            body,
            audience,
            priority,
            confirmation_required,
            signature_required,
            send_at,
            list(attachments),
            key,
            hours,
            saved,
        )
    except IntegrityError:
        saved.discard()
        existing = Notice.objects.filter(author=actor, idempotency_key=key).first() if key else None
        if existing is not None:  # the other tap won the race
            return existing
        raise InvalidInput(
            _("This conflicts with a change saved at the same moment. Please try again.")
        ) from None
    except BaseException:
        saved.discard()
        raise


@transaction.atomic
def _send(
    actor: Any,
    school_id: int,
    title: str,
    body: str,
    audience_raw: Iterable[Any],
    priority: str,
    confirmation_required: bool,
    signature_required: bool,
    send_at: datetime.datetime | None,
    files: list[Any],
    key: str,
    hours_raw: dict[str, Any],
    saved: _Saved,
) -> Notice:
    now = timezone.now()
    errors = Errors()
    title, body = _clean_text({"title": title, "body": body}, errors)
    if priority not in Priority.values:
        errors.add("priority", _("Choose normal or urgent."))
    audience = _parse_audience(audience_raw)
    if audience is None:
        errors.add("audience", _("The chosen recipients are not valid."))
    else:
        _check_audience(actor, school_id, audience, errors)
    if send_at is not None:
        if timezone.is_naive(send_at):
            send_at = timezone.make_aware(send_at)
        if send_at <= now + datetime.timedelta(minutes=1):
            errors.add(
                "send_at", _("The scheduled time has passed. Choose a time in the future, or send now.")
            )
        elif send_at > now + datetime.timedelta(days=MAX_SCHEDULE_DAYS):
            errors.add("send_at", _("Schedule at most %(n)d days ahead.") % {"n": MAX_SCHEDULE_DAYS})
    hours = _clean_hours(hours_raw, errors)
    checked = _check_files(files, errors)
    errors.raise_if_any()
    school = School.objects.get(pk=school_id)
    notice = Notice.objects.create(
        district_id=school.district_id,
        school=school,
        author=actor,
        title=title,
        body=body,
        priority=priority,
        confirmation_required=bool(confirmation_required or signature_required),
        signature_required=bool(signature_required),
        status=Status.SCHEDULED if send_at else Status.SENT,
        scheduled_at=send_at,
        sent_at=None if send_at else now,
        created_at=now,
        updated_at=now,
        idempotency_key=key,
        **hours,
    )
    NoticeAudience.objects.bulk_create(
        [NoticeAudience(notice=notice, kind=k, target_id=t) for k, t in audience or []]
    )
    _store(notice, actor, checked, saved)
    if not send_at:
        _create_receipts(notice, now)
        _after_commit(_start_fanout, notice.pk)
    record(actor, "notice.schedule" if send_at else "notice.send", notice, None, _notice_snapshot(notice))
    return notice


def dispatch_due(now: datetime.datetime | None = None) -> int:
    """Send every scheduled notice whose time has come (beat). Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for pk in Notice.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            if not Notice.objects.filter(pk=pk, status=Status.SCHEDULED).update(
                status=Status.SENT, sent_at=now
            ):
                continue  # another dispatcher took it, or it was withdrawn
            notice = Notice.objects.get(pk=pk)
            _create_receipts(notice, now)
            record(None, "notice.send", notice, None, _notice_snapshot(notice))
            _after_commit(_start_fanout, pk)
        sent += 1
    return sent


# --------------------------------------------------------------------------- fan-out


def deliver_pending(notice_id: int, batch: int | None = None, delay: float | None = None) -> int:
    """Deliver the notice to every receipt not yet delivered, batch by batch. Idempotent.

    Each batch is one transaction: the inbox rows are inserted and the receipts marked delivered
    together, so a worker killed at any point leaves each receipt either delivered with exactly one
    inbox row or undelivered with none; running this again finishes the rest. Returns how many
    receipts this call delivered.
    """
    batch = batch or fanout_batch()
    delay = fanout_delay() if delay is None else delay
    skip_locked = connection.features.has_select_for_update_skip_locked
    total = 0
    while True:
        with transaction.atomic():
            notice = Notice.objects.select_for_update().filter(pk=notice_id, status=Status.SENT).first()
            if notice is None:
                return total
            qs = Receipt.objects.filter(notice_id=notice_id, delivered_at__isnull=True).order_by("pk")
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            rows = list(qs.values_list("pk", "user_id")[:batch])
            if not rows:
                return total
            now = timezone.now()
            created = notify(
                [user_id for _pk_, user_id in rows],
                "notice.urgent" if notice.is_urgent else "notice",
                notice.title,
                _summary(notice.body),
                notice.link,
                school=notice.school_id,
                channels=(),
            )
            _after_commit(push_inbox, created)
            Receipt.objects.filter(pk__in=[p for p, _u in rows], delivered_at__isnull=True).update(
                delivered_at=now
            )
            _on_commit_push([notice_id])
        total += len(rows)
        if delay:
            time.sleep(delay)


PUSH_CONCURRENCY = 80


def push_inbox(notifications: Sequence[Notification]) -> None:
    """Push freshly committed inbox rows to their users' open sockets, as the notification core's in-app
    channel does, but many users at a time (a fan-out batch reaches hundreds of users; one channel-layer
    round trip after another would make the last of them wait): first every notification, then every
    user's new unread count."""
    if not notifications:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    rows = sorted(notifications, key=lambda n: n.pk)
    counts = notify_channels.unread_counts(n.user_id for n in rows)

    async def send_all() -> None:
        gate = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def one(uid: int, event: dict[str, Any]) -> None:
            async with gate:
                await layer.group_send(notify_channels.user_group(uid), event)

        await asyncio.gather(
            *(one(n.user_id, {"type": "notify.notification", "notification": n.as_message()}) for n in rows)
        )
        await asyncio.gather(*(one(uid, {"type": "notify.unread", "count": c}) for uid, c in counts.items()))

    async_to_sync(send_all)()


def undelivered_notice_ids(older_than: datetime.timedelta = datetime.timedelta(minutes=2)) -> list[int]:
    """Sent notices with receipts still undelivered some time after sending (a fan-out that died)."""
    cutoff = timezone.now() - older_than
    return sorted(
        set(
            Receipt.objects.filter(
                notice__status=Status.SENT, delivered_at__isnull=True, created_at__lte=cutoff
            ).values_list("notice_id", flat=True)
        )
    )


# --------------------------------------------------------------------------- the recipient's side


def _own_receipt(actor: Any, notice_id: Any, lock: bool = False) -> Receipt:
    pk = _pk(notice_id)
    if pk is None or not getattr(actor, "is_authenticated", False):
        raise NotFound
    qs = Receipt.objects.select_related("notice")
    if lock:
        qs = qs.select_for_update()
    receipt = qs.filter(notice_id=pk, user=actor, notice__status=Status.SENT).first()
    if receipt is None:
        raise NotFound
    return receipt


def _read_inbox(actor: Any, notice: Notice, now: datetime.datetime) -> None:
    changed = Notification.objects.filter(
        user=actor, link=notice.link, kind__startswith="notice", read_at__isnull=True
    ).update(read_at=now)
    if changed:
        _after_commit(notify_channels.push_unread, [actor.pk])


@transaction.atomic
def mark_read(actor: Any, notice_id: Any) -> Receipt:
    """The recipient opened the notice: the first time sets read_at (and delivered_at if still empty)."""
    receipt = _own_receipt(actor, notice_id, lock=True)
    if receipt.read_at is None:
        now = timezone.now()
        before = snapshot(receipt, ("read_at", "delivered_at"))
        receipt.read_at = now
        receipt.delivered_at = receipt.delivered_at or now
        receipt.save(update_fields=["read_at", "delivered_at"])
        _read_inbox(actor, receipt.notice, now)
        record(actor, "notice.read", receipt, before, snapshot(receipt, ("read_at", "delivered_at")))
        _on_commit_push([receipt.notice_id])
    return receipt


@transaction.atomic
def confirm(actor: Any, notice_id: Any, signature: str = "") -> Receipt:
    """The recipient confirms (回执), typing their name when a signature is required. Idempotent."""
    receipt = _own_receipt(actor, notice_id, lock=True)
    notice = receipt.notice
    errors = Errors()
    if not notice.confirmation_required:
        errors.add(None, _("This notice does not ask for a confirmation."))
    signature = " ".join(str(signature or "").split())
    if notice.signature_required and not signature:
        errors.add("signature", _("Type your name to sign."))
    elif len(signature) > SIGNATURE_MAX:
        errors.add("signature", _("Keep the signature under %(n)d characters.") % {"n": SIGNATURE_MAX})
    errors.raise_if_any()
    if receipt.confirmed_at is not None:
        return receipt
    now = timezone.now()
    before = snapshot(receipt, ("read_at", "confirmed_at", "signature"))
    receipt.confirmed_at = now
    receipt.read_at = receipt.read_at or now
    receipt.delivered_at = receipt.delivered_at or now
    receipt.signature = signature if notice.signature_required else ""
    receipt.save(update_fields=["confirmed_at", "read_at", "delivered_at", "signature"])
    _read_inbox(actor, notice, now)
    record(
        actor, "notice.confirm", receipt, before, snapshot(receipt, ("read_at", "confirmed_at", "signature"))
    )
    _on_commit_push([notice.pk])
    return receipt


# --------------------------------------------------------------------------- the sender's side


def _managed(actor: Any, notice_id: Any, lock: bool = True) -> Notice:
    pk = _pk(notice_id)
    if pk is None:
        raise NotFound
    qs = Notice.objects.select_for_update() if lock else Notice.objects.all()
    notice = qs.filter(pk=pk).first()
    if notice is None or not can_manage(actor, notice):
        raise NotFound
    return notice


@transaction.atomic
def edit_notice(actor: Any, notice_id: Any, *, title: str, body: str) -> Notice:
    """Change the text; the previous text is kept as a version. Inbox titles follow."""
    notice = _managed(actor, notice_id)
    errors = Errors()
    if notice.status == Status.WITHDRAWN:
        errors.add(None, _("A withdrawn notice cannot be changed."))
    title, body = _clean_text({"title": title, "body": body}, errors)
    errors.raise_if_any()
    if title == notice.title and body == notice.body:
        return notice
    before = snapshot(notice, ("title", "body", "version"))
    NoticeVersion.objects.create(
        notice=notice, version=notice.version, title=notice.title, body=notice.body, edited_by=actor
    )
    notice.title, notice.body = title, body
    notice.version += 1
    notice.updated_at = timezone.now()
    notice.save(update_fields=["title", "body", "version", "updated_at"])
    Notification.objects.filter(link=notice.link, kind__in=["notice", "notice.urgent"]).update(
        title=title[:200], body=_summary(body)
    )
    record(actor, "notice.edit", notice, before, snapshot(notice, ("title", "body", "version")))
    return notice


@transaction.atomic
def withdraw_notice(actor: Any, notice_id: Any) -> Notice:
    """Take the notice out of every inbox (scheduled ones are never sent). Receipts and audit stay."""
    notice = _managed(actor, notice_id)
    if notice.status == Status.WITHDRAWN:
        return notice
    before = snapshot(notice, ("status", "withdrawn_at"))
    notice.status = Status.WITHDRAWN
    notice.withdrawn_at = timezone.now()
    notice.save(update_fields=["status", "withdrawn_at"])
    inbox = Notification.objects.filter(link=notice.link, kind__startswith="notice")
    user_ids = sorted(set(inbox.values_list("user_id", flat=True)))
    inbox.delete()
    if user_ids:
        _after_commit(notify_channels.push_unread, user_ids)
    record(actor, "notice.withdraw", notice, before, snapshot(notice, ("status", "withdrawn_at")))
    _on_commit_push([notice.pk])
    return notice


def remind_unread(actor: Any, notice_id: Any) -> int:
    """One click: an in-app reminder to every recipient who has not read (and only them)."""
    from .sweep import remind_in_app

    with transaction.atomic():
        notice = _managed(actor, notice_id)
        now = timezone.now()
        if notice.status != Status.SENT:
            raise InvalidInput(_("Only a sent notice can be reminded."))
        if notice.last_manual_reminder_at and now - notice.last_manual_reminder_at < MANUAL_REMIND_GAP:
            raise InvalidInput(_("Reminders were sent a few minutes ago. Please wait before sending more."))
        notice.last_manual_reminder_at = now
        notice.save(update_fields=["last_manual_reminder_at"])
        count = remind_in_app([notice.pk], now, first_only=False)
        record(actor, "notice.remind", notice, None, {"reminded": count, "at": now.isoformat()})
    return count


# --------------------------------------------------------------------------- templates and policy


@transaction.atomic
def save_template(
    actor: Any,
    school_id: Any,
    *,
    name: str,
    title: str,
    body: str,
    library: bool = False,
    confirmation_required: bool = False,
) -> NoticeTemplate:
    pk = _pk(school_id)
    if pk is None or pk not in {s.pk for s in sending_schools(actor)}:
        raise NotFound
    errors = Errors()
    name = " ".join(str(name or "").split())
    if not name:
        errors.add("name", _("Give the template a name."))
    elif len(name) > 80:
        errors.add("name", _("Keep the name under 80 characters."))
    title, body = _clean_text({"title": title, "body": body}, errors)
    if library and not can_edit_library(actor, pk):
        errors.add("library", _("Only school administrators add to the school's library."))
    errors.raise_if_any()
    school = School.objects.get(pk=pk)
    template = NoticeTemplate.objects.create(
        district_id=school.district_id,
        school=school,
        owner=None if library else actor,
        name=name,
        title=title,
        body=body,
        confirmation_required=bool(confirmation_required),
        created_by=actor,
    )
    record(actor, "notice.template.add", template, None, snapshot(template))
    return template


def templates_for(actor: Any, school_id: int) -> list[NoticeTemplate]:
    from django.db.models import Q

    return list(
        NoticeTemplate.objects.filter(Q(owner__isnull=True) | Q(owner=actor), school_id=school_id).order_by(
            F("owner").asc(nulls_first=True), "name"
        )
    )


@transaction.atomic
def delete_template(actor: Any, template_id: Any) -> None:
    pk = _pk(template_id)
    template = NoticeTemplate.objects.filter(pk=pk).first() if pk else None
    if template is None:
        raise NotFound
    if template.owner_id != actor.pk and not (
        template.owner_id is None and can_edit_library(actor, template.school_id)
    ):
        raise NotFound
    record(actor, "notice.template.delete", template, snapshot(template), None)
    template.delete()


# --------------------------------------------------------------------------- custom groups

GROUP_NAME_MAX = 80
GROUP_MAX_MEMBERS = 2000


def _group_snapshot(group: NoticeGroup) -> dict[str, Any]:
    out = snapshot(group, ("school", "owner", "name", "shared"))
    members = _group_members([group.pk])[group.pk]
    out["students"] = sorted(members[0])
    out["guardians"] = sorted(members[1])
    return out


def _ids(raw: Iterable[Any]) -> set[int] | None:
    out = set()
    for item in raw:
        pk = _pk(item)
        if pk is None:
            return None
        out.add(pk)
    return out


@transaction.atomic
def save_group(
    actor: Any,
    school_id: Any,
    *,
    name: str,
    students: Iterable[Any] = (),
    guardians: Iterable[Any] = (),
    shared: bool = False,
    group_id: Any = None,
) -> NoticeGroup:
    """Create (or, with group_id, edit) a custom group of families and guardian accounts within reach."""
    pk = _pk(school_id)
    if pk is None or pk not in {s.pk for s in sending_schools(actor)}:
        raise NotFound
    group: NoticeGroup | None = None
    before = None
    if group_id is not None:
        gid = _pk(group_id)
        group = NoticeGroup.objects.select_for_update().filter(pk=gid or 0, school_id=pk).first()
        if group is None or not can_edit_group(actor, group):
            raise NotFound
        before = _group_snapshot(group)
    errors = Errors()
    name = " ".join(str(name or "").split())
    if not name:
        errors.add("name", _("Give the group a name."))
    elif len(name) > GROUP_NAME_MAX:
        errors.add("name", _("Keep the name under %(n)d characters.") % {"n": GROUP_NAME_MAX})
    student_ids = _ids(students)
    user_ids = _ids(guardians)
    if student_ids is None or user_ids is None:
        errors.add("members", _("The chosen members are not valid."))
    elif not student_ids and not user_ids:
        errors.add("members", _("Choose at least one family or guardian."))
    elif len(student_ids) + len(user_ids) > GROUP_MAX_MEMBERS:
        errors.add("members", _("A group has at most %(n)d members.") % {"n": GROUP_MAX_MEMBERS})
    else:
        ok_students, ok_users = members_in_reach(reach(actor, pk), student_ids, user_ids)
        if ok_students != student_ids or ok_users != user_ids:
            errors.add("members", _("You can only add families of your own classes."))
    errors.raise_if_any()
    assert student_ids is not None and user_ids is not None
    now = timezone.now()
    if group is None:
        school = School.objects.get(pk=pk)
        group = NoticeGroup.objects.create(
            district_id=school.district_id,
            school=school,
            owner=actor,
            name=name,
            shared=bool(shared),
            created_at=now,
            updated_at=now,
        )
    else:
        group.name = name
        group.shared = bool(shared)
        group.updated_at = now
        group.save(update_fields=["name", "shared", "updated_at"])
    group.students.set(student_ids)
    group.guardians.set(user_ids)
    record(
        actor, "notice.group.edit" if before else "notice.group.add", group, before, _group_snapshot(group)
    )
    return group


@transaction.atomic
def delete_group(actor: Any, group_id: Any) -> None:
    pk = _pk(group_id)
    group = NoticeGroup.objects.filter(pk=pk or 0).first()
    if group is None or not can_edit_group(actor, group):
        raise NotFound
    record(actor, "notice.group.delete", group, _group_snapshot(group), None)
    group.delete()


DEFAULT_POLICY = {"remind_after_hours": 4, "sms_after_hours": 24, "escalate_after_hours": 48}


def current_policy(school_id: int) -> dict[str, int]:
    row = ReminderPolicy.objects.filter(school_id=school_id).values(*DEFAULT_POLICY).first()
    return dict(row) if row else dict(DEFAULT_POLICY)


@transaction.atomic
def set_policy(actor: Any, school_id: Any, **data: Any) -> ReminderPolicy:
    pk = _pk(school_id)
    if pk is None or not can_edit_library(actor, pk):
        raise NotFound
    errors = Errors()
    hours = _clean_hours(data, errors)
    for name, value in hours.items():
        if value is None:
            errors.add(name, _("Enter a number of hours (0 turns this step off)."))
    errors.raise_if_any()
    school = School.objects.get(pk=pk)
    policy = ReminderPolicy.objects.select_for_update().filter(school=school).first()
    before = snapshot(policy)
    if policy is None:
        policy = ReminderPolicy(district_id=school.district_id, school=school)
    for name, value in hours.items():
        setattr(policy, name, value)
    policy.updated_by = actor
    policy.updated_at = timezone.now()
    policy.save()
    record(actor, "notice.policy", policy, before, snapshot(policy))
    return policy


__all__ = [
    "confirm",
    "delete_group",
    "save_group",
    "current_policy",
    "delete_template",
    "deliver_pending",
    "dispatch_due",
    "edit_notice",
    "mark_read",
    "remind_unread",
    "resolve_recipients",
    "save_template",
    "send_notice",
    "set_policy",
    "templates_for",
    "undelivered_notice_ids",
    "withdraw_notice",
]
