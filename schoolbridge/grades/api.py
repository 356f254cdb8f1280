"""Grades over the JSON API: assessments, a class's scores in a subject, score entry, a child's scores."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema

from schoolbridge.access.helpers import NotFound
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.errors import ApiError
from schoolbridge.api_support.pagination import MAX_ID, PageMeta, PageParams, paginate
from schoolbridge.api_support.responses import ok
from schoolbridge.core.errors import Refused

from . import actions, permissions, queries, views

router = Router(tags=["grades"])

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class SubjectOut(Schema):
    subject_id: int
    name: str
    full_marks: float
    pass_mark: float
    excellent_mark: float
    weight: float


class AssessmentOut(Schema):
    id: int
    name: str
    kind: str
    status: str
    date: datetime.date
    school_id: int
    grade_id: int
    term_id: int
    subjects: list[SubjectOut]


class AssessmentPage(PageMeta):
    items: list[AssessmentOut]


class ScoreOut(Schema):
    student_id: int
    student_number: str
    name: str
    value: float | None
    marker: str = Field(..., description="`none` (a value), `absent`, `exempt`, or empty when not entered.")


class ClassScoresOut(Schema):
    assessment_id: int
    class_id: int
    subject_id: int
    locked: bool
    items: list[ScoreOut]


class ScoresFilter(Schema):
    klass: int = Field(..., ge=1, le=MAX_ID, alias="class", description="The class.")
    subject: int = Field(..., ge=1, le=MAX_ID, description="The subject.")


class ScoreIn(Schema):
    student_number: str = Field(..., max_length=40)
    value: str = Field(
        "", max_length=20, description="A number, `absent`/缺考, `exempt`/免考, or empty to clear."
    )


class ScoresIn(Schema):
    class_id: int = Field(..., ge=1, le=MAX_ID)
    subject_id: int = Field(..., ge=1, le=MAX_ID)
    rows: list[ScoreIn] = Field(..., max_length=2000)


class EntryOut(Schema):
    saved: int
    cleared: int
    changed: int


class ChildLineOut(Schema):
    subject: str
    full_marks: float
    value: float | None
    marker: str
    class_average: float | None
    class_max: float | None
    rank: int | None = Field(None, description="Only when the school shows ranks to guardians.")


class ChildAssessmentOut(Schema):
    assessment_id: int
    name: str
    date: datetime.date
    class_name: str
    comment: str
    lines: list[ChildLineOut]


class ChildScoresOut(Schema):
    student_id: int
    items: list[ChildAssessmentOut]


def _assessment_out(a: Any) -> dict[str, Any]:
    return {
        "id": a.pk,
        "name": a.name,
        "kind": a.kind,
        "status": a.status,
        "date": a.date,
        "school_id": a.school_id,
        "grade_id": a.grade_id,
        "term_id": a.term_id,
        "subjects": [
            {
                "subject_id": s.subject_id,
                "name": s.subject.name,
                "full_marks": float(s.full_marks),
                "pass_mark": float(s.pass_mark or 0),
                "excellent_mark": float(s.excellent_mark or 0),
                "weight": float(s.weight),
            }
            for s in a.subjects.all()
        ],
    }


@router.get("/assessments", response=ok(AssessmentPage), summary="Assessments you work with as staff")
def list_assessments(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    qs = (
        permissions.visible_assessments(caller(request))
        .prefetch_related("subjects__subject")
        .order_by("-date", "-id")
    )
    result = paginate(qs, page)
    result["items"] = [_assessment_out(a) for a in result["items"]]
    return result


@router.get(
    "/assessments/{assessment_id}/scores",
    response=ok(ClassScoresOut),
    summary="The scores of a class in one subject (its teachers, head teacher, school administrators)",
)
def class_scores(
    request: HttpRequest, assessment_id: ObjectId, filters: Query[ScoresFilter]
) -> dict[str, Any]:
    user = caller(request)
    assessment, klass, row = views.entry_target(user, assessment_id, filters.klass, filters.subject)
    items = []
    for line in queries.entry_grid(row, klass):
        shown = line.value
        marker = {"缺考": "absent", "免考": "exempt", "": ""}.get(shown, "none")
        items.append(
            {
                "student_id": line.student.pk,
                "student_number": line.student.student_number,
                "name": line.student.person.full_name,
                "value": float(shown) if marker == "none" else None,
                "marker": marker,
            }
        )
    return {
        "assessment_id": assessment.pk,
        "class_id": klass.pk,
        "subject_id": row.subject_id,
        "locked": assessment.is_published,
        "items": items,
    }


@router.post(
    "/assessments/{assessment_id}/scores",
    response=ok(EntryOut, write=True),
    summary="Enter a class's scores in one subject",
    description="All or nothing: any bad row answers 422 `validation_error` with every problem under "
    "`fields.rows`, each naming its row (1 = the first item) and column; nothing is saved. "
    "A published assessment answers 403 `forbidden`.",
)
def post_scores(request: HttpRequest, assessment_id: ObjectId, payload: ScoresIn) -> dict[str, Any]:
    user = caller(request)
    _assessment, klass, row = views.entry_target(user, assessment_id, payload.class_id, payload.subject_id)
    rows = [actions.ScoreRow(i, r.student_number, r.value) for i, r in enumerate(payload.rows, start=1)]
    try:
        result = actions.enter_scores(user, row, klass, rows)
    except actions.ScoreErrors as exc:
        raise ApiError(
            "validation_error", _("Some fields are not valid."), {"rows": [str(p) for p in exc.problems]}
        ) from None
    except Refused as exc:
        raise ApiError("forbidden", str(exc.message)) from None
    return {"saved": result.saved, "cleared": result.cleared, "changed": result.changed}


@router.get(
    "/children/{student_id}/scores",
    response=ok(ChildScoresOut),
    summary="Your child's published scores with class aggregates (guardians allowed to see records)",
)
def child_scores(request: HttpRequest, student_id: ObjectId) -> dict[str, Any]:
    user = caller(request)
    guardianship = views.guarded_children(user).filter(student_id=student_id).first()
    if guardianship is None:
        raise NotFound
    student = guardianship.student
    with_ranks = actions.show_ranks(student.school_id)
    groups = queries.child_scores(student, with_ranks=with_ranks)
    return {
        "student_id": student.pk,
        "items": [
            {
                "assessment_id": g.assessment.pk,
                "name": g.assessment.name,
                "date": g.assessment.date,
                "class_name": g.klass_name,
                "comment": g.comment,
                "lines": [
                    {
                        "subject": x.subject_name,
                        "full_marks": float(x.full_marks),
                        "value": float(x.value) if x.value is not None else None,
                        "marker": x.marker,
                        "class_average": x.class_average,
                        "class_max": x.class_max,
                        "rank": x.rank if with_ranks else None,
                    }
                    for x in g.lines
                ],
            }
            for g in groups
        ],
    }
