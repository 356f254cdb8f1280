"""Writes for exams and grades: assessments, score entry, corrections, publication, comments, settings.

Each action takes the acting user first, runs in one transaction, checks authorisation (out-of-scope
objects raise the same NotFound as missing ones), validates everything before writing (nothing is
half-saved), and writes an audit row. Notifications are written in the transaction; their pushes go
out after commit (notify.actions.notify defers them itself).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, InvalidInput, NotFound, Refused
from schoolbridge.core.models import Class, GradeLevel, Guardianship, School, Student, Subject, Term
from schoolbridge.notify.actions import notify

from . import permissions
from .models import Assessment, AssessmentSubject, GradesSettings, ReportComment, Score

ABSENT_WORDS = {"缺考", "absent", "缺"}
EXEMPT_WORDS = {"免考", "exempt", "免"}
COMMENT_MAX = 1000
CENT = Decimal("0.01")

COLUMN_LABELS = {"student_number": _("student number"), "score": _("score")}


# --------------------------------------------------------------------------- parsing one cell


@dataclass(frozen=True)
class Parsed:
    value: Decimal | None
    marker: str  # Score.Marker value, or "" for a blank cell (no score)


def parse_score(raw: Any, full_marks: Decimal) -> Parsed:
    """A cell's text as a score: a number from 0 to the full marks (two decimals at most), 缺考/absent,
    免考/exempt, or blank. Raises ValueError with a message for people."""
    if raw is None:
        return Parsed(None, "")
    if isinstance(raw, Decimal | int | float) and not isinstance(raw, bool):
        text = str(raw)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return Parsed(None, "")
    word = text.lower()
    if word in ABSENT_WORDS:
        return Parsed(None, Score.Marker.ABSENT)
    if word in EXEMPT_WORDS:
        return Parsed(None, Score.Marker.EXEMPT)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValueError(
            gettext("“%(value)s” is not a score. Enter a number, 缺考 (absent) or 免考 (exempt).")
            % {"value": text}
        )
    if value < 0 or value > full_marks:
        raise ValueError(
            gettext("%(value)s is out of range: scores go from 0 to %(full)s.")
            % {"value": text, "full": _plain(full_marks)}
        )
    if value != value.quantize(CENT):
        raise ValueError(gettext("%(value)s has more than two decimal places.") % {"value": text})
    return Parsed(value.quantize(CENT), Score.Marker.NONE)


def _plain(d: Decimal | None) -> str:
    if d is None:
        return ""
    return format(Decimal(d).quantize(CENT).normalize(), "f")


# --------------------------------------------------------------------------- score entry


@dataclass(frozen=True)
class ScoreRow:
    row: int  # as the person sees it: grid line, pasted line or spreadsheet row
    student_number: str
    value: Any


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # "student_number" or "score"
    message: str

    def __str__(self) -> str:
        return gettext("Row %(row)s, %(column)s: %(message)s") % {
            "row": self.row,
            "column": COLUMN_LABELS.get(self.column, self.column),
            "message": self.message,
        }


class ScoreErrors(InvalidInput):
    """Every problem of a batch of scores, each naming its row and column. Nothing was saved."""

    def __init__(self, problems: Sequence[RowError]) -> None:
        super().__init__({"rows": [str(p) for p in problems]})
        self.problems = list(problems)


def rows_from_pairs(pairs: Iterable[tuple[Any, Any]], first_row: int = 1) -> list[ScoreRow]:
    return [ScoreRow(i, str(n or "").strip(), v) for i, (n, v) in enumerate(pairs, start=first_row)]


@dataclass(frozen=True)
class EntryResult:
    saved: int
    cleared: int
    changed: int


def _as_locked(assessment_subject: AssessmentSubject) -> tuple[AssessmentSubject, Assessment]:
    found = (
        AssessmentSubject.objects.select_related("assessment")
        .filter(pk=getattr(assessment_subject, "pk", assessment_subject))
        .first()
    )
    if found is None:
        raise NotFound
    # Lock the assessment: publication and entry do not interleave.
    assessment = Assessment.objects.select_for_update().filter(pk=found.assessment_id).first()
    if assessment is None:
        raise NotFound
    found.assessment = assessment
    return found, assessment


@action
def enter_scores(
    actor: Any, assessment_subject: AssessmentSubject, klass: Class, rows: Iterable[ScoreRow]
) -> EntryResult:
    """Save a batch of scores of one class in one subject: a set-based upsert with a constant number of
    queries whatever the class size. A blank score removes an entered one. Any problem in any row →
    ScoreErrors listing all of them, and nothing is saved."""
    subject_row, assessment = _as_locked(assessment_subject)
    if (
        klass.school_id != assessment.school_id
        or klass.grade_id != assessment.grade_id
        or not permissions.may_enter(actor, klass, subject_row.subject_id)
    ):
        raise NotFound
    if assessment.is_published:
        raise Refused(_("These scores are published and locked. Ask the head teacher to correct a score."))

    students = dict(
        Student.objects.filter(current_class_id=klass.pk, status=Student.Status.ENROLLED).values_list(
            "student_number", "pk"
        )
    )
    full = Decimal(subject_row.full_marks)
    problems: list[RowError] = []
    seen: dict[str, int] = {}
    parsed: dict[int, Parsed] = {}
    numbers: dict[int, str] = {}
    for r in rows:
        number = unicodedata.normalize("NFKC", r.student_number or "").strip()
        if not number:
            problems.append(RowError(r.row, "student_number", gettext("The student number is missing.")))
        elif number in seen:
            problems.append(
                RowError(
                    r.row,
                    "student_number",
                    gettext("Student number %(number)s is already on row %(first)s.")
                    % {"number": number, "first": seen[number]},
                )
            )
        elif number not in students:
            seen[number] = r.row
            problems.append(
                RowError(
                    r.row,
                    "student_number",
                    gettext("No student with number %(number)s in %(klass)s.")
                    % {"number": number, "klass": klass.name},
                )
            )
        else:
            seen[number] = r.row
        try:
            cell = parse_score(r.value, full)
        except ValueError as exc:
            problems.append(RowError(r.row, "score", str(exc)))
            continue
        if number in students and seen.get(number) == r.row:
            parsed[students[number]] = cell
            numbers[students[number]] = number
    if problems:
        raise ScoreErrors(sorted(problems, key=lambda p: (p.row, p.column != "student_number")))

    existing = {
        sid: (value, marker)
        for sid, value, marker in Score.objects.filter(
            assessment_subject_id=subject_row.pk, student_id__in=list(parsed)
        ).values_list("student_id", "value", "marker")
    }
    now = timezone.now()
    upserts: list[Score] = []
    clears: list[int] = []
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for sid, cell in parsed.items():
        old = existing.get(sid)
        old_shown = None if old is None else (_plain(old[0]) if old[1] == Score.Marker.NONE else old[1])
        if cell.marker == "":
            if old is not None:
                clears.append(sid)
                before[numbers[sid]], after[numbers[sid]] = old_shown, None
            continue
        new_shown = _plain(cell.value) if cell.marker == Score.Marker.NONE else cell.marker
        if old_shown != new_shown:
            before[numbers[sid]], after[numbers[sid]] = old_shown, new_shown
        upserts.append(
            Score(
                district_id=assessment.district_id,
                school_id=assessment.school_id,
                assessment_subject_id=subject_row.pk,
                student_id=sid,
                klass_id=klass.pk,
                value=cell.value,
                marker=cell.marker,
                entered_by=actor,
                updated_at=now,
            )
        )
    if upserts:
        Score.objects.bulk_create(
            upserts,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["assessment_subject", "student"],
            update_fields=["value", "marker", "klass", "entered_by", "updated_at"],
        )
    if clears:
        Score.objects.filter(assessment_subject_id=subject_row.pk, student_id__in=clears).delete()
    if before or after:
        record(
            actor,
            "grades.scores.enter",
            subject_row,
            {"class_id": klass.pk, "scores": before},
            {"class_id": klass.pk, "scores": after},
        )
    return EntryResult(saved=len(upserts), cleared=len(clears), changed=len(after))


@action
def correct_score(actor: Any, score: Score, value: Any, reason: str) -> Score:
    """Change a published score (head teacher of the class or school administrator), with a reason."""
    found = (
        Score.objects.select_for_update()
        .select_related("assessment_subject__assessment")
        .filter(pk=getattr(score, "pk", score))
        .first()
    )
    if found is None or not permissions.may_correct(actor, found.klass_id, found.school_id):
        raise NotFound
    assessment = found.assessment_subject.assessment
    if not assessment.is_published:
        raise Refused(_("This assessment is not published yet: change the score in the entry grid."))
    errors = Errors()
    reason = " ".join(str(reason or "").split())
    if not reason:
        errors.add("reason", _("Give the reason for the correction."))
    elif len(reason) > 500:
        errors.add("reason", _("Keep the reason under 500 characters."))
    try:
        cell = parse_score(value, Decimal(found.assessment_subject.full_marks))
        if cell.marker == "":
            errors.add("value", _("Enter the corrected score, 缺考 (absent) or 免考 (exempt)."))
    except ValueError as exc:
        errors.add("value", str(exc))
    errors.raise_if_any()
    before = snapshot(found, ["value", "marker", "entered_by"])
    found.value, found.marker = cell.value, cell.marker
    found.entered_by = actor
    found.updated_at = timezone.now()
    found.save(update_fields=["value", "marker", "entered_by", "updated_at"])
    after = {**snapshot(found, ["value", "marker", "entered_by"]), "reason": reason}
    record(actor, "grades.score.correct", found, before, after)
    return found


# --------------------------------------------------------------------------- assessments


@dataclass(frozen=True)
class SubjectSpec:
    subject: Subject
    full_marks: Decimal = Decimal("100")
    pass_mark: Decimal | None = None
    excellent_mark: Decimal | None = None
    weight: Decimal = Decimal("1")


@action
def create_assessment(
    actor: Any,
    term: Term,
    grade: GradeLevel,
    name: str,
    kind: str,
    date: Any,
    subjects: Sequence[SubjectSpec],
) -> Assessment:
    if term.school_id != grade.school_id or not permissions.may_manage(actor, grade.school_id, grade.pk):
        raise NotFound
    errors = Errors()
    name = " ".join(str(name or "").split())
    if not name:
        errors.add("name", _("Give the assessment a name."))
    elif Assessment.objects.filter(term=term, grade=grade, name=name).exists():
        errors.add("name", _("This grade already has an assessment of this name in the term."))
    if kind not in Assessment.Kind.values:
        errors.add("kind", _("Select a valid choice. That choice is not one of the available choices."))
    if date is None:
        errors.add("date", _("This field is required."))
    if not subjects:
        errors.add("subjects", _("Choose at least one subject."))
    seen: set[int] = set()
    rows: list[AssessmentSubject] = []
    for spec in subjects:
        if spec.subject.school_id != grade.school_id or spec.subject.pk in seen:
            errors.add("subjects", _("Each subject of the school may appear once."))
            continue
        seen.add(spec.subject.pk)
        row = AssessmentSubject(
            district_id=grade.district_id,
            school_id=grade.school_id,
            subject=spec.subject,
            full_marks=spec.full_marks,
            pass_mark=spec.pass_mark,
            excellent_mark=spec.excellent_mark,
            weight=spec.weight,
        )
        row.fill_defaults()
        full = Decimal(row.full_marks)
        if full <= 0 or full > Decimal("1000"):
            errors.add("subjects", _("Full marks go from 1 to 1000."))
        elif not (0 <= Decimal(row.pass_mark or 0) <= full and 0 <= Decimal(row.excellent_mark or 0) <= full):
            errors.add("subjects", _("Pass and excellent marks must lie between 0 and the full marks."))
        if Decimal(spec.weight) < 0:
            errors.add("subjects", _("Weights cannot be negative."))
        rows.append(row)
    errors.raise_if_any()
    assessment = Assessment.objects.create(
        district_id=grade.district_id,
        school_id=grade.school_id,
        term=term,
        grade=grade,
        name=name,
        kind=kind,
        date=date,
    )
    for row in rows:
        row.assessment = assessment
    AssessmentSubject.objects.bulk_create(rows)
    record(
        actor,
        "grades.assessment.create",
        assessment,
        None,
        {**snapshot(assessment), "subjects": [r.subject_id for r in rows]},
    )
    return assessment


@action
def publish(actor: Any, assessment: Assessment) -> int:
    """Publish: scores are locked and the guardians of every student with a score are told (one
    notification each, in one bulk write). Returns the number of guardians notified."""
    found = Assessment.objects.select_for_update().filter(pk=getattr(assessment, "pk", assessment)).first()
    if found is None or not permissions.may_manage(actor, found.school_id, found.grade_id):
        raise NotFound
    if found.is_published:
        raise Refused(_("This assessment is already published."))
    before = snapshot(found, ["status", "published_at", "published_by"])
    found.status = Assessment.Status.PUBLISHED
    found.published_at = timezone.now()
    found.published_by = actor
    found.save(update_fields=["status", "published_at", "published_by"])
    record(
        actor,
        "grades.assessment.publish",
        found,
        before,
        snapshot(found, ["status", "published_at", "published_by"]),
    )
    scored = Score.objects.filter(assessment_subject__assessment=found).values("student_id")
    recipients = list(
        Guardianship.objects.filter(
            student_id__in=scored,
            receives_notices=True,
            may_see_records=True,
            guardian__person__user__isnull=False,
            guardian__person__user__is_active=True,
        )
        .values_list("guardian__person__user_id", flat=True)
        .distinct()
    )
    notify(
        recipients,
        "grades",
        gettext("Scores published: %(name)s") % {"name": found.name},
        gettext("The scores of %(name)s are available, with the class averages.") % {"name": found.name},
        link="/grades/",
        school=found.school_id,
    )
    return len(recipients)


@action
def set_comment(actor: Any, assessment: Assessment, student: Student, text: str) -> ReportComment | None:
    """The head teacher's report-card comment for a student (blank removes it)."""
    found = Assessment.objects.filter(pk=getattr(assessment, "pk", assessment)).first()
    if (
        found is None
        or student.school_id != found.school_id
        or student.current_class_id is None
        or not permissions.may_correct(actor, student.current_class_id, found.school_id)
    ):
        raise NotFound
    text = str(text or "").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput({"text": [_("Keep the comment under 1000 characters.")]})
    existing = ReportComment.objects.select_for_update().filter(assessment=found, student=student).first()
    before = snapshot(existing, ["text"]) if existing else None
    if not text:
        if existing is not None:
            record(actor, "grades.comment.delete", existing, before, None)
            existing.delete()
        return None
    if existing is None:
        existing = ReportComment(
            district_id=found.district_id, school_id=found.school_id, assessment=found, student=student
        )
    existing.text, existing.author, existing.updated_at = text, actor, timezone.now()
    existing.save()
    record(actor, "grades.comment.set", existing, before, snapshot(existing, ["text"]))
    return existing


@action
def set_grades_settings(actor: Any, school: School, show_rank_to_guardians: bool) -> GradesSettings:
    if not permissions.is_school_admin(actor, school.pk):
        raise NotFound
    found, _created = GradesSettings.objects.select_for_update().get_or_create(
        school=school, defaults={"district_id": school.district_id}
    )
    before = snapshot(found, ["show_rank_to_guardians"])
    found.show_rank_to_guardians = bool(show_rank_to_guardians)
    found.save(update_fields=["show_rank_to_guardians"])
    record(actor, "grades.settings.change", found, before, snapshot(found, ["show_rank_to_guardians"]))
    return found


def show_ranks(school_id: int) -> bool:
    return bool(
        GradesSettings.objects.filter(school_id=school_id)
        .values_list("show_rank_to_guardians", flat=True)
        .first()
    )


__all__ = [
    "EntryResult",
    "Parsed",
    "RowError",
    "ScoreErrors",
    "ScoreRow",
    "SubjectSpec",
    "correct_score",
    "create_assessment",
    "enter_scores",
    "parse_score",
    "publish",
    "rows_from_pairs",
    "set_comment",
    "set_grades_settings",
    "show_ranks",
]
