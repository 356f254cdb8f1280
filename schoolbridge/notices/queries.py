"""Reads for notices: progress counts (overall and per class), the unread, a user's notices."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Q, QuerySet

from schoolbridge.core.models import Person, Student

from .models import Notice, Receipt, ReceiptStudent, Status


def totals(notice_id: int) -> dict[str, int]:
    """Accounts (recipients, delivered, read, confirmed) and families (covered, reached, confirmed)."""
    accounts = Receipt.objects.filter(notice_id=notice_id).aggregate(
        recipients=Count("pk"),
        delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
        read=Count("pk", filter=Q(read_at__isnull=False)),
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
    )
    families = ReceiptStudent.objects.filter(notice_id=notice_id).aggregate(
        families=Count("student", distinct=True),
        reached=Count("student", filter=Q(receipt__read_at__isnull=False), distinct=True),
        families_confirmed=Count("student", filter=Q(receipt__confirmed_at__isnull=False), distinct=True),
    )
    return {k: int(v or 0) for k, v in {**accounts, **families}.items()}


def per_class(notice_id: int) -> list[dict[str, Any]]:
    """Families per class: covered, reached (any guardian read), confirmed."""
    rows = (
        ReceiptStudent.objects.filter(notice_id=notice_id)
        .values("klass_id", "klass__name")
        .annotate(
            families=Count("student", distinct=True),
            reached=Count("student", filter=Q(receipt__read_at__isnull=False), distinct=True),
            confirmed=Count("student", filter=Q(receipt__confirmed_at__isnull=False), distinct=True),
        )
        .order_by("klass__grade__order", "klass__name")
    )
    return [
        {
            "class_id": r["klass_id"],
            "name": r["klass__name"] or "—",
            "families": r["families"],
            "reached": r["reached"],
            "confirmed": r["confirmed"],
            "percent": round(100 * r["reached"] / r["families"]) if r["families"] else 0,
        }
        for r in rows
    ]


def unread(notice_id: int, limit: int = 300) -> list[dict[str, Any]]:
    """Accounts that have not read yet, with the children (and classes) they were reached through."""
    receipts = list(
        Receipt.objects.filter(notice_id=notice_id, read_at__isnull=True)
        .select_related("user__person")
        .order_by("pk")[:limit]
    )
    children: dict[int, list[str]] = {}
    for rid, family, given, klass in ReceiptStudent.objects.filter(
        receipt_id__in=[r.pk for r in receipts]
    ).values_list("receipt_id", "student__person__family_name", "student__person__given_name", "klass__name"):
        from schoolbridge.core.models import Person

        name = Person(family_name=family, given_name=given).full_name
        children.setdefault(rid, []).append(f"{name} · {klass}" if klass else name)
    out = []
    for r in receipts:
        person = getattr(r.user, "person", None)
        out.append(
            {
                "receipt": r.pk,
                "user_id": r.user_id,
                "name": person.full_name if person else r.user.username,
                "children": children.get(r.pk, []),
                "staff": r.is_staff,
                "reminded": r.reminded_count,
            }
        )
    return out


def sent_by(user: Any) -> QuerySet[Notice]:
    return Notice.objects.filter(author=user).select_related("school")


def received_by(user: Any) -> QuerySet[Receipt]:
    return (
        Receipt.objects.filter(user=user, notice__status=Status.SENT)
        .select_related("notice", "notice__school")
        .order_by("-notice__sent_at", "-pk")
    )


def receipt_of(user: Any, notice_id: int) -> Receipt | None:
    return Receipt.objects.filter(user=user, notice_id=notice_id).select_related("notice").first()


@dataclass
class FamilyRate:
    """Notices a family (a student, or one guardian account) received, read and confirmed since a moment."""

    key: int  # the student id (by="student") or the account id (by="account")
    name: str
    class_name: str
    received: int
    read: int
    confirmed: int
    median_read_seconds: float | None

    @property
    def read_percent(self) -> int:
        return round(100 * self.read / self.received) if self.received else 0

    @property
    def median_read_hm(self) -> str:
        """The median time to read as h:mm ("" when nothing was read)."""
        if self.median_read_seconds is None:
            return ""
        minutes = round(self.median_read_seconds / 60)
        return f"{minutes // 60}:{minutes % 60:02d}"

    @property
    def confirmed_percent(self) -> int:
        return round(100 * self.confirmed / self.received) if self.received else 0


def family_read_rates(school: Any, since: datetime.datetime, by: str = "student") -> list[FamilyRate]:
    """Per family, the sent (not withdrawn) notices of a school since ``since``: received, read, confirmed,
    and the median time from sending to the first read. Two queries whatever the number of families.

    by="student": a family is a student, reached when any of its guardians read (the earliest read counts);
    by="account": one row per guardian account.
    """
    school_id = getattr(school, "pk", school)
    rows: QuerySet[Any, tuple[int, Any, Any, Any]]
    if by == "student":
        rows = (
            ReceiptStudent.objects.filter(
                notice__school_id=school_id, notice__status=Status.SENT, notice__sent_at__gte=since
            )
            .values("student_id", "notice_id")
            .annotate(
                read=Min("receipt__read_at"),
                confirmed=Min("receipt__confirmed_at"),
                sent=Min("notice__sent_at"),
            )
            .values_list("student_id", "read", "confirmed", "sent")
        )
    elif by == "account":
        rows = Receipt.objects.filter(
            school_id=school_id, is_staff=False, notice__status=Status.SENT, notice__sent_at__gte=since
        ).values_list("user_id", "read_at", "confirmed_at", "notice__sent_at")
    else:
        raise ValueError(by)
    counts: dict[int, list[int]] = {}
    delays: dict[int, list[float]] = {}
    for key, read, confirmed, sent in rows.iterator(chunk_size=5000):
        c = counts.setdefault(key, [0, 0, 0])
        c[0] += 1
        if read is not None and sent is not None:
            c[1] += 1
            delays.setdefault(key, []).append(max(0.0, (read - sent).total_seconds()))
        if confirmed is not None:
            c[2] += 1
    if by == "student":
        labels = {
            pk: (Person(family_name=f, given_name=g).full_name, cls or "")
            for pk, f, g, cls in Student.objects.filter(pk__in=counts).values_list(
                "pk", "person__family_name", "person__given_name", "current_class__name"
            )
        }
    else:
        labels = {
            pk: (Person(family_name=f or "", given_name=g or "").full_name or u, "")
            for pk, u, f, g in get_user_model()
            .objects.filter(pk__in=counts)
            .values_list("pk", "username", "person__family_name", "person__given_name")
        }
    out = [
        FamilyRate(
            key=key,
            name=labels.get(key, ("", ""))[0],
            class_name=labels.get(key, ("", ""))[1],
            received=c[0],
            read=c[1],
            confirmed=c[2],
            median_read_seconds=statistics.median(delays[key]) if key in delays else None,
        )
        for key, c in counts.items()
    ]
    out.sort(key=lambda r: (r.read / r.received, r.class_name, r.name))
    return out
