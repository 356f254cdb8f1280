"""Reads for the import pages, bounded by the reader's scope (school.manage)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from schoolbridge.access.helpers import NotFound
from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import School, Staff, Student

from .models import ImportBatch, ImportRow, ImportSource, ReviewItem


def managed_school(user: Any, school_id: Any) -> School:
    school = get_scope(user).queryset("school.manage").filter(pk=school_id).first()
    if school is None:
        raise NotFound
    return school


def batches(school: School) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(school=school).select_related("created_by", "committed_by", "source")


def batch(school: School, pk: Any, user: Any = None) -> ImportBatch:
    """One batch of the school; batches of students' records only for those who may manage them."""
    found = batches(school).filter(pk=pk).first()
    if found is None:
        raise NotFound
    if user is not None:
        from .actions import _require_records

        _require_records(user, school, found.target)
    return found


def rows(b: ImportBatch, action: str | None = None) -> QuerySet[ImportRow]:
    qs = ImportRow.objects.filter(batch=b)
    return qs.filter(action=action) if action else qs


def error_rows(b: ImportBatch) -> QuerySet[ImportRow]:
    return ImportRow.objects.filter(batch=b).exclude(errors=[])


def reviews(b: ImportBatch) -> list[tuple[ReviewItem, Any]]:
    """Review items with their candidate record (student or staff of the batch's school)."""
    items = list(ReviewItem.objects.filter(batch=b).select_related("row"))
    model = Student if b.target == "students" else Staff
    ids = [i.candidate_id for i in items]
    found = {
        o.pk: o for o in model.objects.filter(pk__in=ids, school_id=b.school_id).select_related("person")
    }
    return [(i, found.get(i.candidate_id)) for i in items]


def sources(school: School) -> QuerySet[ImportSource]:
    return ImportSource.objects.filter(school=school)


def source(school: School, pk: Any) -> ImportSource:
    found = sources(school).filter(pk=pk).first()
    if found is None:
        raise NotFound
    return found


def students_for_export(user: Any, school: School) -> QuerySet[Student]:
    return (
        get_scope(user)
        .queryset("student.view")
        .filter(school=school)
        .select_related("person", "current_class")
        .order_by("current_class__grade__order", "current_class__name", "student_number")
    )


def staff_for_export(user: Any, school: School) -> QuerySet[Staff]:
    managed = get_scope(user).queryset("school.manage")
    return (
        Staff.objects.filter(school=school, school__in=managed)
        .select_related("person")
        .order_by("-active", "staff_number")
    )


def review_item(school: School, pk: Any) -> ReviewItem:
    found = ReviewItem.objects.filter(pk=pk, school=school).first()
    if found is None:
        raise NotFound
    return found
