"""Report cards as PDF (WeasyPrint, Noto Sans CJK SC): one page per student, in one document.

A constant number of queries whatever the number of students: the assessment's subjects, its
scores (one values() query), the comments and the head teachers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from schoolbridge.core.models import Class, Student

from . import stats
from .models import Assessment, AssessmentSubject, ReportComment, Score
from .queries import display_score


def report_pages(assessment: Assessment, students: Sequence[Student]) -> list[dict[str, Any]]:
    subjects = list(AssessmentSubject.objects.filter(assessment=assessment).select_related("subject"))
    by_pair: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    mine: dict[tuple[int, int], tuple[Decimal | None, str, int]] = {}
    wanted = {s.pk for s in students}
    for as_id, klass_id, sid, value, marker in Score.objects.filter(
        assessment_subject__assessment=assessment
    ).values_list("assessment_subject_id", "klass_id", "student_id", "value", "marker"):
        if marker == Score.Marker.NONE and value is not None:
            by_pair[(as_id, klass_id)].append(value)
        if sid in wanted:
            mine[(sid, as_id)] = (value, marker, klass_id)
    comments = dict(
        ReportComment.objects.filter(assessment=assessment, student_id__in=wanted).values_list(
            "student_id", "text"
        )
    )
    heads = {
        c.pk: (c.head_teacher.person.full_name if c.head_teacher else "")
        for c in Class.objects.filter(pk__in={s.current_class_id for s in students}).select_related(
            "head_teacher__person"
        )
    }
    pages = []
    for st in students:
        lines = []
        total = []
        for row in subjects:
            value, marker, klass_id = mine.get((st.pk, row.pk), (None, "", st.current_class_id or 0))
            values = by_pair.get((row.pk, klass_id), [])
            if value is not None:
                total.append((value, row.weight))
            lines.append(
                {
                    "subject": row.subject.name,
                    "full_marks": display_score(row.full_marks, Score.Marker.NONE),
                    "score": display_score(value, marker) if marker else "—",
                    "average": stats.mean(values),
                    "max": max(values) if values else None,
                }
            )
        pages.append(
            {
                "student": st,
                "klass": st.current_class,
                "head_teacher": heads.get(st.current_class_id or 0, ""),
                "lines": lines,
                "total": stats.weighted_total(total) if total else None,
                "comment": comments.get(st.pk, ""),
            }
        )
    return pages


def render_html(assessment: Assessment, students: Sequence[Student]) -> str:
    return render_to_string(
        "grades/report_card.html",
        {
            "assessment": assessment,
            "school": assessment.school,
            "pages": report_pages(assessment, students),
            "printed_on": timezone.localdate(),
        },
    )


def render_pdf(assessment: Assessment, students: Sequence[Student]) -> bytes:
    from weasyprint import HTML

    return HTML(string=render_html(assessment, students)).write_pdf() or b""
