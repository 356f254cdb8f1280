"""The reminder sweep (Celery beat): set-based, a few statements per stage whatever the number of receipts.

Stages, in hours after sending (per notice, else the school's ReminderPolicy, else 4 / 24 / 48; 0 = off):

1. in-app reminder to every recipient who has not read (once);
2. SMS through the notify "sms" channel to every recipient with a phone who has not read (once);
3. escalation: the head teacher of each class gets ONE notification listing the families of that class
   nobody in which has read, with the guardians' phone numbers. Not while the head teacher is in quiet
   hours, unless the notice is urgent (it waits for the next sweep).

Nobody who has read is ever reminded: every statement requires read_at IS NULL. Each stage first
marks the receipts it acts on (with the sweep's timestamp) and then inserts the inbox rows for exactly
the marked receipts with one INSERT ... SELECT, in one transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import Class, Guardianship, Person
from schoolbridge.notify import channels as notify_channels
from schoolbridge.notify.actions import notify
from schoolbridge.notify.models import Notification

from .live import after_commit as _after_commit
from .live import push_progress
from .models import Notice, NoticeStat, Priority, Receipt, ReceiptStudent, ReminderPolicy, Status

log = logging.getLogger(__name__)

ACTIVE_DAYS = 14
KIND_REMINDER = "notice.reminder"
KIND_SMS = "notice.sms"
KIND_ESCALATION = "notice.escalation"
DEFAULTS = {"remind_after_hours": 4, "sms_after_hours": 24, "escalate_after_hours": 48}


def in_quiet_hours(user: Any, at: datetime.datetime) -> bool:
    """Staff quiet hours, from the conversations app once it provides them (never quiet before)."""
    try:
        from schoolbridge.conversations.queries import in_quiet_hours as quiet  # type: ignore[import-not-found]
    except ImportError:
        return False
    try:
        return bool(quiet(user, at))
    except Exception:  # noqa: BLE001 - a broken setting must not stop the sweep
        log.exception("quiet hours check failed for user %s", getattr(user, "pk", user))
        return False


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _ts(value: datetime.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _in(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def _insert_inbox(
    kind: str, prefix: str, marker_column: str, notice_ids: list[int], now: datetime.datetime
) -> int:
    """One INSERT ... SELECT: an inbox row for every receipt of these notices marked at `now`."""
    n, r, note = _table(Notice), _table(Receipt), _table(Notification)
    sql = f"""
        INSERT INTO {note} (user_id, district_id, school_id, kind, title, body, link, created_at)
        SELECT r.user_id, n.district_id, n.school_id, %s, SUBSTR(CAST(%s AS TEXT) || n.title, 1, 200), '',
               '/notices/' || CAST(n.id AS TEXT) || '/', %s
          FROM {r} r JOIN {n} n ON n.id = r.notice_id
         WHERE r.notice_id IN ({_in(notice_ids)}) AND r.{marker_column} = %s AND r.read_at IS NULL
    """
    with connection.cursor() as cur:
        cur.execute(sql, [kind, prefix, _ts(now), _ts(now)])
        return int(cur.rowcount or 0)


def _deliver_after_commit(kind: str, now: datetime.datetime, channel_names: tuple[str, ...]) -> None:
    def deliver() -> None:
        rows = list(Notification.objects.filter(kind=kind, created_at=now))
        for name in channel_names:
            notify_channels.get_channel(name).deliver(rows)

    transaction.on_commit(deliver, robust=True)


def _reminder_prefix() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("Reminder: ")


def _sms_prefix() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("Please read: ")


def remind_in_app(notice_ids: list[int], now: datetime.datetime, first_only: bool = True) -> int:
    """Stage 1 (and the sender's one-click reminder): mark the unread, insert their reminders. In the
    caller's transaction; pushes after commit."""
    if not notice_ids:
        return 0
    qs = Receipt.objects.filter(notice_id__in=notice_ids, read_at__isnull=True, delivered_at__isnull=False)
    if first_only:
        qs = qs.filter(reminded_count=0)
    from django.db.models import F

    marked = qs.update(reminded_count=F("reminded_count") + 1, last_reminded_at=now)
    if not marked:
        return 0
    inserted = _insert_inbox(KIND_REMINDER, _reminder_prefix(), "last_reminded_at", notice_ids, now)
    _deliver_after_commit(KIND_REMINDER, now, ("inapp",))
    return inserted


def _sms(notice_ids: list[int], now: datetime.datetime) -> int:
    if not notice_ids:
        return 0
    with_phone = get_user_model().objects.filter(is_active=True, phone__isnull=False).exclude(phone="")
    marked = Receipt.objects.filter(
        notice_id__in=notice_ids,
        read_at__isnull=True,
        sms_sent_at__isnull=True,
        user__in=with_phone.values("pk"),
    ).update(sms_sent_at=now)
    if not marked:
        return 0
    inserted = _insert_inbox(KIND_SMS, _sms_prefix(), "sms_sent_at", notice_ids, now)
    _deliver_after_commit(KIND_SMS, now, ("sms",))
    return inserted


def _escalate(notices: dict[int, Notice], notice_ids: list[int], now: datetime.datetime) -> int:
    """Stage 3: one notification per (notice, class) to the class's head teacher. Returns how many were sent."""
    if not notice_ids:
        return 0
    candidates = list(
        ReceiptStudent.objects.filter(
            notice_id__in=notice_ids, receipt__read_at__isnull=True, receipt__escalated_at__isnull=True
        ).values_list("notice_id", "klass_id", "student_id", "receipt_id")
    )
    if not candidates:
        return 0
    reached = set(
        ReceiptStudent.objects.filter(notice_id__in=notice_ids, receipt__read_at__isnull=False).values_list(
            "notice_id", "student_id"
        )
    )
    groups: dict[tuple[int, int | None], set[int]] = defaultdict(set)
    receipts_of: dict[tuple[int, int | None], set[int]] = defaultdict(set)
    for notice_id, class_id, student_id, receipt_id in candidates:
        receipts_of[(notice_id, class_id)].add(receipt_id)
        if (notice_id, student_id) not in reached:
            groups[(notice_id, class_id)].add(student_id)
    class_ids = {c for _n, c in receipts_of if c}
    heads = dict(
        Class.objects.filter(
            pk__in=class_ids, head_teacher__active=True, head_teacher__person__user__isnull=False
        ).values_list("pk", "head_teacher__person__user_id")
    )
    class_names = dict(Class.objects.filter(pk__in=class_ids).values_list("pk", "name"))
    school_admins: dict[int, list[int]] = defaultdict(list)
    for school_id, user_id in RoleGrant.objects.filter(
        role="school_admin", school_id__in={n.school_id for n in notices.values()}
    ).values_list("school_id", "user_id"):
        school_admins[school_id].append(user_id)
    students = {s for ids in groups.values() for s in ids}
    contacts: dict[int, list[str]] = defaultdict(list)
    child_names: dict[int, str] = {}
    for student_id, sf, sg, gf, gg, person_phone, user_phone, relationship in Guardianship.objects.filter(
        student_id__in=students
    ).values_list(
        "student_id",
        "student__person__family_name",
        "student__person__given_name",
        "guardian__person__family_name",
        "guardian__person__given_name",
        "guardian__person__phone",
        "guardian__person__user__phone",
        "relationship",
    ):
        child_names[student_id] = Person(family_name=sf, given_name=sg).full_name
        phone = user_phone or person_phone or "—"
        contacts[student_id].append(
            f"{Person(family_name=gf, given_name=gg).full_name} ({relationship}) {phone}"
        )
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=set(heads.values()))}
    done_receipts: set[int] = set()
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for (notice_id, klass_id), receipt_ids in receipts_of.items():
            notice = notices[notice_id]
            family_ids = groups.get((notice_id, klass_id), set())
            if not family_ids:  # every family of this class has been reached by another guardian
                done_receipts |= receipt_ids
                continue
            head = heads.get(klass_id) if klass_id else None
            recipients = [head] if head else school_admins.get(notice.school_id, [])
            if head and notice.priority != Priority.URGENT and in_quiet_hours(users.get(head), now):
                continue  # waits for the next sweep after the quiet hours
            if not recipients:
                done_receipts |= receipt_ids
                continue
            lines = [
                f"{child_names.get(s, '?')}: {'; '.join(contacts.get(s, [])) or '—'}"
                for s in sorted(family_ids, key=lambda s: child_names.get(s, ""))
            ]
            title = gettext("Not reached: %(n)d families of %(class)s — %(title)s") % {
                "n": len(family_ids),
                "class": class_names.get(klass_id, "—") if klass_id else "—",
                "title": notice.title,
            }
            notify(
                recipients,
                KIND_ESCALATION,
                title,
                "\n".join(lines),
                f"/notices/{notice_id}/progress/",
                school=notice.school_id,
            )
            done_receipts |= receipt_ids
            sent += 1
    if done_receipts:
        ids = sorted(done_receipts)
        for start in range(0, len(ids), 5000):
            Receipt.objects.filter(pk__in=ids[start : start + 5000], escalated_at__isnull=True).update(
                escalated_at=now
            )
    return sent


def _snapshot_stats(notice_ids: list[int], now: datetime.datetime) -> int:
    if not notice_ids:
        return 0
    s, r = _table(NoticeStat), _table(Receipt)
    sql = f"""
        INSERT INTO {s} (notice_id, at, recipients, delivered, read, confirmed)
        SELECT notice_id, %s, COUNT(*), COUNT(delivered_at), COUNT(read_at), COUNT(confirmed_at)
          FROM {r} WHERE notice_id IN ({_in(notice_ids)}) GROUP BY notice_id
    """
    with connection.cursor() as cur:
        cur.execute(sql, [_ts(now)])
        return int(cur.rowcount or 0)


def _threshold(notice: Notice, policy: dict[str, int], name: str) -> int:
    value = getattr(notice, name)
    return int(policy.get(name, DEFAULTS[name]) if value is None else value)


def run_sweep(now: datetime.datetime | None = None) -> dict[str, int]:
    """One sweep over every notice sent in the last two weeks. Returns counts per stage."""
    now = now or timezone.now()
    notices = {
        n.pk: n
        for n in Notice.objects.filter(
            status=Status.SENT, sent_at__gte=now - datetime.timedelta(days=ACTIVE_DAYS)
        )
    }
    if not notices:
        return {"notices": 0, "reminded": 0, "texted": 0, "escalated": 0}
    policies = {
        p["school_id"]: p
        for p in ReminderPolicy.objects.filter(school_id__in={n.school_id for n in notices.values()}).values(
            "school_id", *DEFAULTS
        )
    }

    def due(name: str) -> list[int]:
        out = []
        for n in notices.values():
            hours = _threshold(n, policies.get(n.school_id, {}), name)
            if hours > 0 and n.sent_at is not None and n.sent_at <= now - datetime.timedelta(hours=hours):
                out.append(n.pk)
        return sorted(out)

    with transaction.atomic():
        reminded = remind_in_app(due("remind_after_hours"), now)
        texted = _sms(due("sms_after_hours"), now)
        escalated = _escalate(notices, due("escalate_after_hours"), now)
        _snapshot_stats(sorted(notices), now)
        _after_commit(push_progress, sorted(notices))
    return {"notices": len(notices), "reminded": reminded, "texted": texted, "escalated": escalated}
