"""Reads for grades pages and the API. Each function uses a constant number of queries whatever the
number of students (statistics: one values() query over the scores, computed in Python by stats.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Max, QuerySet

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class, Guardianship, Student

from . import stats
from .models import Assessment, AssessmentSubject, ReportComment, Score

# --------------------------------------------------------------------------- statistics


@dataclass
class SubjectStats:
    subject: AssessmentSubject
    grade: stats.Summary | None
    classes: list[tuple[Class, stats.Summary]]

    @property
    def name(self) -> str:
        return self.subject.subject.name


@dataclass
class AssessmentStats:
    assessment: Assessment
    subjects: list[SubjectStats]
    classes: list[Class]
    whole_grade: bool

    def chart_data(self) -> dict[str, Any]:
        """For the distribution chart and the subject comparison (embedded with json_script)."""
        out: dict[str, Any] = {"subjects": []}
        for s in self.subjects:
            main = s.grade if s.grade is not None else (s.classes[0][1] if len(s.classes) == 1 else None)
            entry: dict[str, Any] = {
                "name": s.name,
                "full_marks": float(s.subject.full_marks),
                "series": [],
            }
            if s.grade is not None:
                entry["series"].append({"name": self.assessment.grade.name, "summary": s.grade.as_dict()})
            for klass, summary in s.classes:
                entry["series"].append({"name": klass.name, "summary": summary.as_dict()})
            if main is not None and main.mean is not None:
                entry["mean_percent"] = stats.percent(main.mean, s.subject.full_marks)
                entry["pass_rate"] = main.pass_rate
                entry["excellent_rate"] = main.excellent_rate
            out["subjects"].append(entry)
        return out


def _summary(rows: Sequence[tuple[Decimal | None, str]], subject: AssessmentSubject) -> stats.Summary:
    values = [v for v, marker in rows if marker == Score.Marker.NONE and v is not None]
    return stats.summarize(
        values,
        subject.full_marks,
        subject.pass_mark or 0,
        subject.excellent_mark or 0,
        absent=sum(1 for _v, m in rows if m == Score.Marker.ABSENT),
        exempt=sum(1 for _v, m in rows if m == Score.Marker.EXEMPT),
    )


def assessment_statistics(
    assessment: Assessment, classes: Sequence[Class], whole_grade: bool
) -> AssessmentStats:
    """Per subject: the grade's summary (when whole_grade) and each given class's. Two queries."""
    subjects = list(
        AssessmentSubject.objects.filter(assessment=assessment)
        .select_related("subject")
        .order_by("subject__code", "id")
    )
    scores = Score.objects.filter(assessment_subject__assessment=assessment)
    if not whole_grade:
        scores = scores.filter(klass_id__in=[c.pk for c in classes])
    by_subject: dict[int, list[tuple[Decimal | None, str]]] = defaultdict(list)
    by_class: dict[tuple[int, int], list[tuple[Decimal | None, str]]] = defaultdict(list)
    for as_id, klass_id, value, marker in scores.values_list(
        "assessment_subject_id", "klass_id", "value", "marker"
    ):
        by_subject[as_id].append((value, marker))
        by_class[(as_id, klass_id)].append((value, marker))
    result = []
    for s in subjects:
        result.append(
            SubjectStats(
                subject=s,
                grade=_summary(by_subject.get(s.pk, []), s) if whole_grade else None,
                classes=[(c, _summary(by_class.get((s.pk, c.pk), []), s)) for c in classes],
            )
        )
    return AssessmentStats(assessment, result, list(classes), whole_grade)


# --------------------------------------------------------------------------- entry grid


@dataclass
class GridRow:
    student: Student
    value: str


def entry_grid(subject_row: AssessmentSubject, klass: Class) -> list[GridRow]:
    """The class's enrolled students in student-number order with their current scores. Two queries."""
    students = list(
        Student.objects.filter(current_class_id=klass.pk, status=Student.Status.ENROLLED)
        .select_related("person")
        .order_by("student_number")
    )
    current = {
        sid: (value, marker)
        for sid, value, marker in Score.objects.filter(
            assessment_subject=subject_row, student_id__in=[s.pk for s in students]
        ).values_list("student_id", "value", "marker")
    }
    rows = []
    for st in students:
        cell = current.get(st.pk)
        rows.append(GridRow(st, display_score(*cell) if cell else ""))
    return rows


def display_score(value: Decimal | None, marker: str) -> str:
    if marker == Score.Marker.ABSENT:
        return "缺考"
    if marker == Score.Marker.EXEMPT:
        return "免考"
    if value is None:
        return ""
    return format(Decimal(value).quantize(Decimal("0.01")).normalize(), "f")


# --------------------------------------------------------------------------- a child's scores


@dataclass
class SubjectLine:
    subject_name: str
    full_marks: Decimal
    value: Decimal | None
    marker: str
    class_average: float | None
    class_max: float | None
    rank: int | None = None
    class_size: int | None = None

    @property
    def shown(self) -> str:
        return display_score(self.value, self.marker)


@dataclass
class AssessmentLines:
    assessment: Assessment
    klass_name: str
    lines: list[SubjectLine] = field(default_factory=list)
    comment: str = ""

    @property
    def percent(self) -> float | None:
        """The child's average share of full marks over scored subjects (for the trend)."""
        parts = [float(x.value) / float(x.full_marks) for x in self.lines if x.value is not None]
        return round(100 * sum(parts) / len(parts), 1) if parts else None


def child_scores(
    student: Student, with_ranks: bool = False, assessment_ids: Sequence[int] | None = None
) -> list[AssessmentLines]:
    """The student's published scores, newest assessment first, each subject with its class average and
    maximum (and the rank in the class if with_ranks). Three queries (four with ranks)."""
    mine = list(
        Score.objects.filter(
            student=student, assessment_subject__assessment__status=Assessment.Status.PUBLISHED
        )
        .select_related("assessment_subject__subject", "assessment_subject__assessment", "klass")
        .order_by(
            "-assessment_subject__assessment__date",
            "-assessment_subject__assessment_id",
            "assessment_subject__subject__code",
        )
    )
    if assessment_ids is not None:
        mine = [s for s in mine if s.assessment_subject.assessment_id in set(assessment_ids)]
    if not mine:
        return []
    pairs = {(s.assessment_subject_id, s.klass_id) for s in mine}
    as_ids = sorted({p[0] for p in pairs})
    klass_ids = sorted({p[1] for p in pairs})
    scored = Score.objects.filter(
        assessment_subject_id__in=as_ids,
        klass_id__in=klass_ids,
        marker=Score.Marker.NONE,
        value__isnull=False,
    )
    aggregates = {
        (row["assessment_subject_id"], row["klass_id"]): row
        for row in scored.values("assessment_subject_id", "klass_id").annotate(
            avg=Avg("value"), top=Max("value"), n=Count("id")
        )
    }
    ranks: dict[tuple[int, int], dict[int, int]] = {}
    if with_ranks:
        values: dict[tuple[int, int], dict[int, Decimal]] = defaultdict(dict)
        for as_id, klass_id, sid, value in scored.values_list(
            "assessment_subject_id", "klass_id", "student_id", "value"
        ):
            if value is not None and (as_id, klass_id) in pairs:
                values[(as_id, klass_id)][sid] = value
        ranks = {key: stats.ranks(vals) for key, vals in values.items()}
    comments = dict(
        ReportComment.objects.filter(
            student=student, assessment_id__in={s.assessment_subject.assessment_id for s in mine}
        ).values_list("assessment_id", "text")
    )
    out: list[AssessmentLines] = []
    by_assessment: dict[int, AssessmentLines] = {}
    for s in mine:
        a = s.assessment_subject.assessment
        group = by_assessment.get(a.pk)
        if group is None:
            group = AssessmentLines(a, s.klass.name, comment=comments.get(a.pk, ""))
            by_assessment[a.pk] = group
            out.append(group)
        agg = aggregates.get((s.assessment_subject_id, s.klass_id))
        key = (s.assessment_subject_id, s.klass_id)
        group.lines.append(
            SubjectLine(
                subject_name=s.assessment_subject.subject.name,
                full_marks=s.assessment_subject.full_marks,
                value=s.value,
                marker=s.marker,
                class_average=round(float(agg["avg"]), 1) if agg and agg["avg"] is not None else None,
                class_max=float(agg["top"]) if agg and agg["top"] is not None else None,
                rank=ranks.get(key, {}).get(student.pk) if with_ranks else None,
                class_size=agg["n"] if agg and with_ranks else None,
            )
        )
    return out


def trend(groups: Sequence[AssessmentLines]) -> list[dict[str, Any]]:
    """Oldest first: per assessment, the child's average share of full marks and each subject's."""
    points = []
    for g in reversed(groups):
        points.append(
            {
                "assessment": g.assessment.name,
                "date": g.assessment.date.isoformat(),
                "percent": g.percent,
                "subjects": {x.subject_name: stats.percent(x.value, x.full_marks) for x in g.lines},
            }
        )
    return points


# --------------------------------------------------------------------------- people


def guarded_children(user: Any) -> QuerySet[Guardianship]:
    """The user's own guardianships that allow seeing records (from their guardian grants)."""
    ids = [g.student_id for g in get_scope(user).grants_of("guardian") if g.include_records]
    return (
        Guardianship.objects.filter(guardian__person__user=user, may_see_records=True, student_id__in=ids)
        .select_related("student__person", "student__current_class", "student__school")
        .order_by("student__person__family_name", "student__person__given_name", "student_id")
    )


def class_students(klass: Class) -> list[Student]:
    """The enrolled students of a class the caller was authorised for, in student-number order."""
    return list(
        Student.objects.filter(current_class=klass, status=Student.Status.ENROLLED)
        .select_related("person", "current_class")
        .order_by("student_number")
    )
