"""Reads for notices: progress counts (overall and per class), the unread, a user's notices."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

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
