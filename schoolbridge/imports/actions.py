"""Every write of the import hub: stage, map, check (validate + match + preview), commit, hold, roll back,
review decisions and saved sources.

Commit writes through schoolbridge.core.actions inside one transaction (their audit rows included) plus one
audit row for the batch; any refusal rolls the whole batch back and marks it failed with the row that was
refused. Rollback reverses the batch's creations and updates from the rows' before-snapshots, also in one
transaction.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core import actions as core
from schoolbridge.core.errors import InvalidInput, NotFound, Refused
from schoolbridge.core.models import (
    Class,
    Enrollment,
    Guardian,
    Guardianship,
    Person,
    School,
    Staff,
    Student,
)

from . import mapping as m
from . import pipeline
from .models import ImportBatch, ImportRow, ImportSource, ReviewItem, Target
from .sources import SourceError, Table

MAX_ROWS = 20_000
NOTIFY_CHECKED_FROM = 500  # rows; smaller checks finish while the page is still open
S = ImportBatch.Status


def _school(actor: Any, school: School | int) -> School:
    found = get_scope(actor).queryset("school.manage").filter(pk=getattr(school, "pk", school)).first()
    if found is None:
        raise NotFound
    return found


RECORD_TARGETS = ("students", "scores", "attendance")


def _require_records(actor: Any, school: School, target: str) -> None:
    """Students' records (and scores, attendance) are imported only by someone who may manage them in this school: a
    district administrator without a records grant manages the tree and staff, not the students (the
    preview would show them)."""
    if target not in RECORD_TARGETS:
        return
    scope = get_scope(actor)
    if scope.queryset("student.manage").filter(school=school).exists():
        return
    if not Student.objects.filter(school=school).exists() and scope.has_role("school_admin"):
        return
    raise NotFound


def _batch(actor: Any, batch: ImportBatch | int, lock: bool = True) -> ImportBatch:
    qs = ImportBatch.objects.select_for_update() if lock else ImportBatch.objects
    found = qs.filter(pk=getattr(batch, "pk", batch)).first()
    if found is None:
        raise NotFound
    _require_records(actor, _school(actor, found.school_id), found.target)
    return found


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------- stage


@transaction.atomic
def stage(
    actor: Any,
    school: School | int,
    target: str,
    table: Table,
    *,
    filename: str = "",
    digest: str = "",
    source: ImportSource | None = None,
) -> ImportBatch:
    """A staged batch holding the source's rows as read, with a suggested (or the source's saved) mapping."""
    school = _school(actor, school)
    if target not in Target.values:
        raise InvalidInput({"target": [_("Choose what to import.")]})
    _require_records(actor, school, target)
    if len(table.rows) > MAX_ROWS:
        raise InvalidInput(
            _("The file has %(count)s rows; at most %(max)s can be imported at once.")
            % {"count": len(table.rows), "max": MAX_ROWS}
        )
    suggested = m.suggest(target, table.headers)
    saved = {k: v for k, v in (source.mapping if source else {}).items() if v in table.headers}
    batch = ImportBatch.objects.create(
        district_id=school.district_id,
        school=school,
        source=source,
        target=target,
        filename=filename[:255],
        file_sha256=digest,
        details={"encoding": table.encoding, "delimiter": table.delimiter, "sheet": table.sheet},
        headers=table.headers,
        mapping=saved or suggested,
        progress_total=len(table.rows),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    ImportRow.objects.bulk_create(
        (
            ImportRow(
                district_id=school.district_id, school=school, batch=batch, number=r.number, raw=r.values
            )
            for r in table.rows
        ),
        batch_size=500,
    )
    record(
        actor,
        "imports.batch.stage",
        batch,
        None,
        {"rows": len(table.rows), "target": target, "file": filename},
    )
    return batch


def stage_failure(
    actor: Any, school: School | int, target: str, error: SourceError, filename: str = ""
) -> ImportBatch:
    """A batch that could not even be read: kept in the history with the located reason."""
    school = _school(actor, school)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            district_id=school.district_id,
            school=school,
            target=target,
            status=S.FAILED,
            filename=filename[:255],
            errors=[{"message": error.message, "where": error.where}],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(actor, "imports.batch.fail", batch, None, {"error": error.message, "where": error.where})
    return batch


@transaction.atomic
def set_mapping(
    actor: Any, batch: ImportBatch | int, mapping: dict[str, str], save_as: str = ""
) -> ImportBatch:
    """Choose source columns for the target fields; optionally save them as a template (a file source)."""
    batch = _batch(actor, batch)
    if batch.status not in (S.STAGED, S.VALIDATED, S.PREVIEWED, S.HELD):
        raise Refused(_("This batch can no longer be changed."))
    known = {f.name for f in m.fields(batch.target)}
    clean = {k: v for k, v in mapping.items() if k in known and v and v in batch.headers}
    errors: dict[str, list[Any]] = {}
    for f in m.missing_required(batch.target, clean):
        errors.setdefault(f.name, []).append(_("Choose the column for this field."))
    used: dict[str, str] = {}
    for name, column in clean.items():
        if column in used:
            errors.setdefault(name, []).append(_("This column is already used for another field."))
        used[column] = name
    if errors:
        raise InvalidInput(errors)
    before = {"mapping": batch.mapping}
    batch.mapping = clean
    batch.status = S.STAGED
    batch.save(update_fields=["mapping", "status"])
    if save_as.strip():
        source, _created = ImportSource.objects.get_or_create(
            school_id=batch.school_id,
            name=save_as.strip()[:120],
            defaults={"district_id": batch.district_id, "target": batch.target, "created_by": actor},
        )
        source.mapping, source.target = clean, batch.target
        source.save(update_fields=["mapping", "target"])
        batch.source = source
        batch.save(update_fields=["source"])
        record(actor, "imports.source.mapping", source, None, {"mapping": clean})
    record(actor, "imports.batch.map", batch, before, {"mapping": clean})
    return batch


# ------------------------------------------------------------------------------------------- check


def mark_validating(actor: Any, batch: ImportBatch | int) -> ImportBatch:
    with transaction.atomic():
        batch = _batch(actor, batch)
        if batch.status not in (S.STAGED, S.VALIDATED, S.PREVIEWED, S.HELD):
            raise Refused(_("This batch can no longer be checked."))
        if m.missing_required(batch.target, batch.mapping):
            raise InvalidInput(_("Choose the columns for the required fields first."))
        batch.status = S.VALIDATING
        batch.progress_done = 0
        batch.save(update_fields=["status", "progress_done"])
    return batch


def check(batch_id: int) -> ImportBatch:
    """Validate, match and preview a batch (the background job). Reads the school's records; the only
    writes are the batch's own rows, counts and progress."""
    batch = ImportBatch.objects.get(pk=batch_id)
    rows = list(ImportRow.objects.filter(batch=batch).order_by("number"))
    missing = m.missing_required(batch.target, batch.mapping)
    if missing:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=S.FAILED,
            errors=[
                {
                    "message": N("No column is chosen for the required field %(field)s."),
                    "params": {"field": f.label},
                }
                for f in missing
            ],  # fmt: skip
        )
        batch.refresh_from_db()
        return batch

    def progress(done: int) -> None:
        ImportBatch.objects.filter(pk=batch.pk).update(progress_done=done)

    outcomes = pipeline.evaluate(
        batch.target,
        batch.school_id,
        batch.district_id,
        batch.mapping,
        [(r.number, r.raw) for r in rows],
        progress,
    )
    with transaction.atomic():
        # The rows are written again rather than updated: one INSERT per 500 rows instead of Django's
        # CASE-per-field bulk UPDATE, which is an order of magnitude slower for JSON columns.
        ReviewItem.objects.filter(batch=batch).delete()
        ImportRow.objects.filter(batch=batch).delete()
        fresh = []
        for r in rows:
            o = outcomes[r.number]
            fresh.append(
                ImportRow(
                    district_id=r.district_id,
                    school_id=r.school_id,
                    batch=batch,
                    number=r.number,
                    raw=r.raw,
                    normalized=o.normalized,
                    errors=o.errors,
                    match=o.match,
                    action=o.action,
                    changes=o.changes,
                )  # fmt: skip
            )
        rows = ImportRow.objects.bulk_create(fresh, batch_size=500)
        if any(r.pk is None for r in rows):  # databases that cannot return ids from bulk inserts
            rows = list(ImportRow.objects.filter(batch=batch).order_by("number"))
        ReviewItem.objects.bulk_create(
            ReviewItem(
                district_id=batch.district_id,
                school_id=batch.school_id,
                batch=batch,
                row=r,
                candidate_type="core.student" if batch.target == "students" else "core.staff",
                candidate_id=r.match["id"],
                confidence=r.match["confidence"],
                reason=r.match["reason"],
            )
            for r in rows
            if r.action == "conflict"
        )
        counts = pipeline.count(outcomes)
        counts["guardians_new"] = _new_guardian_count(rows) if batch.target == "students" else 0
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=S.PREVIEWED, counts=counts, errors=[], progress_done=len(rows)
        )
        batch.refresh_from_db()
        if len(rows) >= NOTIFY_CHECKED_FROM and batch.created_by_id:
            # A long check: the one who started it may have left the page; the bell tells them.
            _notify(
                batch.created_by,
                batch,
                N("Import checked"),
                {k: counts[k] for k in ("create", "update", "conflict", "error")},
            )
    return batch


def job_crashed(batch_id: int) -> None:
    """A background job died on something unexpected: the batch must not stay "checking" for ever.
    A commit that died wrote nothing (its transaction rolled back)."""
    ImportBatch.objects.filter(pk=batch_id, status__in=[S.VALIDATING, S.COMMITTING]).update(
        status=S.FAILED,
        errors=[{"message": N("The job stopped unexpectedly. Nothing was imported; try again.")}],
    )


def _new_guardian_count(rows: list[ImportRow]) -> int:
    """Guardians the commit would create: distinct phones (siblings share one) not yet in the district."""
    phones = {
        g["phone"]
        for r in rows
        if r.action in ("create", "update")
        for g in r.normalized.get("guardians", [])
    }
    phones.discard("")
    if not phones:
        return 0
    district_id = rows[0].district_id
    known = set(
        Guardian.objects.filter(district_id=district_id, person__phone__in=list(phones)).values_list(
            "person__phone", flat=True
        )
    )
    return len(phones - known)


# ------------------------------------------------------------------------------------------- review


@transaction.atomic
def decide(actor: Any, item: ReviewItem | int, decision: str) -> ReviewItem:
    found = (
        ReviewItem.objects.select_for_update()
        .filter(pk=getattr(item, "pk", item))
        .select_related("row")
        .first()
    )
    if found is None:
        raise NotFound
    batch = _batch(actor, found.batch_id)
    if batch.status not in (S.PREVIEWED, S.HELD):
        raise Refused(_("This batch can no longer be changed."))
    if decision not in (ReviewItem.Decision.SAME, ReviewItem.Decision.NEW, ReviewItem.Decision.SKIP):
        raise InvalidInput({"decision": [_("Choose a decision.")]})
    before = {"decision": found.decision}
    found.decision, found.decided_by, found.decided_at = decision, actor, timezone.now()
    found.save(update_fields=["decision", "decided_by", "decided_at"])
    record(actor, "imports.review.decide", batch, before, {"row": found.row.number, "decision": decision})
    return found


# ------------------------------------------------------------------------------------------- commit


@transaction.atomic
def hold(actor: Any, batch: ImportBatch | int) -> ImportBatch:
    batch = _batch(actor, batch)
    if batch.status != S.PREVIEWED:
        raise Refused(_("Only a checked batch can be held."))
    batch.status = S.HELD
    batch.save(update_fields=["status"])
    record(actor, "imports.batch.hold", batch, None, {"counts": batch.counts})
    return batch


def mark_committing(actor: Any, batch: ImportBatch | int, include_errors: bool = True) -> ImportBatch:
    """Checks that the batch may be committed now and marks it (the job then does the writes)."""
    with transaction.atomic():
        batch = _batch(actor, batch)
        _may_commit(batch, include_errors)
        batch.status = S.COMMITTING
        batch.save(update_fields=["status"])
    return batch


COMMIT_PROGRESS_EVERY = 50


def commit_progress(
    batch_id: int, done: int | None = None, total: int | None = None
) -> tuple[int, int] | None:
    """The commit's progress, kept in the cache: the commit is one transaction, so its rows cannot say it.
    With Redis (REDIS_URL) other processes see it at once; the database cache shows it only at the end."""
    from django.core.cache import cache

    key = f"imports-commit-progress-{batch_id}"
    if done is None:
        value = cache.get(key)
        return tuple(value) if value else None  # type: ignore[return-value]
    cache.set(key, [done, total or 0], 3600)
    return None


def _may_commit(batch: ImportBatch, proceed_with_valid: bool) -> None:
    if batch.status not in (S.PREVIEWED, S.HELD, S.COMMITTING):
        raise Refused(_("Only a checked batch can be committed."))
    if batch.counts.get("error") and not proceed_with_valid:
        raise Refused(_("Some rows have errors. Fix the file, or choose to import only the valid rows."))


def commit(actor: Any, batch_id: int, proceed_with_valid: bool = True) -> ImportBatch:
    """Write the batch through the core actions in one transaction. On any refusal nothing is written and
    the batch is marked failed with the refused row and its reason."""
    try:
        with transaction.atomic():
            batch = _batch(actor, batch_id)
            _may_commit(batch, proceed_with_valid)
            school = batch.school
            rows = list(
                ImportRow.objects.filter(
                    batch=batch, action__in=["create", "update", "conflict"]
                ).select_related("review")
            )
            done = {"created": 0, "updated": 0, "skipped": 0, "guardians_created": 0}
            if batch.target in BULK_COMMITTERS:
                rows = [r for r in rows if r.action in ("create", "update")]
                BULK_COMMITTERS[batch.target](actor, school, rows)
                done["created"] = sum(r.action == "create" for r in rows)
                done["updated"] = sum(r.action == "update" for r in rows)
                rows_done = rows
                rows = []
            else:
                rows_done = rows
            for i, r in enumerate(rows, start=1):
                if i % COMMIT_PROGRESS_EVERY == 0:
                    commit_progress(batch.pk, i, len(rows))
                action = r.action
                if action == "conflict":
                    decision = getattr(getattr(r, "review", None), "decision", "")
                    if decision == ReviewItem.Decision.SAME:
                        action = "update"
                    elif decision == ReviewItem.Decision.NEW:
                        action = "create"
                    else:
                        done["skipped"] += 1
                        continue
                try:
                    r.result = COMMITTERS[batch.target](actor, school, r, action)
                except (InvalidInput, ValidationError) as exc:
                    raise _RowRefused(r.number, _messages(exc)) from None
                except (NotFound, Refused):
                    raise _RowRefused(r.number, [N("You may not change this record.")]) from None
                done["created" if action == "create" else "updated"] += 1
                done["guardians_created"] += len(r.result.get("guardians_created", []))
            ImportRow.objects.bulk_update(rows_done, ["result"], batch_size=500)
            before = {"status": batch.status}
            batch.status = S.COMMITTED
            batch.committed_by = actor if getattr(actor, "pk", None) else None
            batch.committed_at = timezone.now()
            batch.counts = {**batch.counts, "committed": done}
            batch.save(update_fields=["status", "committed_by", "committed_at", "counts"])
            record(actor, "imports.batch.commit", batch, before, {"status": batch.status, **done})
            _notify(actor, batch, N("Import committed"), done)
    except _RowRefused as exc:
        ImportBatch.objects.filter(pk=batch_id).update(
            status=S.FAILED,
            errors=[
                {
                    "message": N("Row %(row)s was refused: %(reason)s. Nothing was imported."),
                    "params": {"row": exc.row, "reason": "; ".join(exc.reasons)},
                }
            ],  # fmt: skip
        )
        failed = ImportBatch.objects.get(pk=batch_id)
        with transaction.atomic():
            record(actor, "imports.batch.fail", failed, None, {"row": exc.row, "reasons": exc.reasons})
            _notify(actor, failed, N("Import failed"), {})
        return failed
    return batch


class _RowRefused(Exception):
    def __init__(self, row: int, reasons: list[str]) -> None:
        super().__init__(row, reasons)
        self.row, self.reasons = row, reasons


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {msg}" for field, errs in exc.message_dict.items() for msg in errs]
    return [str(msg) for msg in exc.messages]


def _date(value: Any) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _commit_student(actor: Any, school: School, r: ImportRow, action: str) -> dict[str, Any]:
    row = r.normalized
    klass = Class.objects.filter(pk=row["klass"], school=school).first() if row.get("klass") else None
    result: dict[str, Any] = {"guardianships": [], "guardians_created": []}
    if action == "create":
        student = core.create_student(
            actor,
            school,
            family_name=row["family_name"],
            given_name=row["given_name"],
            student_number=row["student_number"],
            gender=row.get("gender") or Person.Gender.OTHER,
            birth_date=_date(row.get("birth_date")),
            national_student_id=row.get("national_student_id") or "",
            klass=klass,
            enrolled_on=_date(row.get("enrolled_on")),
        )
        result["created"] = {"student": student.pk, "person": student.person_id}
    else:
        student = Student.objects.select_related("person").get(pk=r.match["id"], school=school)
        person = student.person
        open_enrollment = Enrollment.objects.filter(student=student, end_date__isnull=True).first()
        result["before"] = {
            "person": {
                f: _plain(getattr(person, f)) for f in ("family_name", "given_name", "gender", "birth_date")
            },
            "student": {
                "student_number": student.student_number,
                "national_student_id": student.national_student_id,
                "current_class": student.current_class_id,
            },  # fmt: skip
            "open_enrollment": open_enrollment.pk if open_enrollment else None,
        }
        changes: dict[str, Any] = {}
        for f in ("family_name", "given_name", "gender", "national_student_id", "student_number"):
            if row.get(f):
                changes[f] = row[f]
        if row.get("birth_date"):
            changes["birth_date"] = _date(row["birth_date"])
        if klass is not None and student.current_class_id != klass.pk:
            changes["klass"] = klass
        core.update_student(actor, student, **changes)
        if "klass" in changes:
            new = Enrollment.objects.filter(student=student, end_date__isnull=True).first()
            result["enrollment_created"] = new.pk if new else None
        result["updated"] = {"student": student.pk}
    linked = set(
        Guardianship.objects.filter(student=student).values_list("guardian__person__phone", flat=True)
    )
    for g in row.get("guardians", []):
        if not g["phone"] or g["phone"] in linked:
            continue
        gs, created = core.add_guardian_to_student(
            actor,
            student,
            phone=g["phone"],
            family_name=g["family_name"],
            given_name=g["given_name"],
            relationship=g["relationship"],
        )
        linked.add(g["phone"])
        result["guardianships"].append(gs.pk)
        if created:
            result["guardians_created"].append(gs.guardian_id)
    return result


def _commit_staff(actor: Any, school: School, r: ImportRow, action: str) -> dict[str, Any]:
    row = r.normalized
    if action == "create":
        staff = core.create_staff(
            actor,
            school,
            family_name=row["family_name"],
            given_name=row["given_name"],
            staff_number=row["staff_number"],
            title=row.get("title") or "",
            gender=row.get("gender") or Person.Gender.OTHER,
            phone=row.get("phone") or "",
            email=row.get("email") or "",
        )
        if row.get("birth_date"):
            core.update_staff(actor, staff, birth_date=_date(row["birth_date"]))
        return {"created": {"staff": staff.pk, "person": staff.person_id}}
    staff = Staff.objects.select_related("person").get(pk=r.match["id"], school=school)
    p = staff.person
    before = {
        "person": {f: _plain(getattr(p, f)) for f in ("family_name", "given_name", "gender", "birth_date", "phone", "email")},
        "staff": {"title": staff.title, "staff_number": staff.staff_number},
    }  # fmt: skip
    changes = {
        f: row[f] for f in ("family_name", "given_name", "gender", "phone", "email", "title") if row.get(f)
    }
    if row.get("birth_date"):
        changes["birth_date"] = _date(row["birth_date"])
    if r.match.get("by") == "fuzzy":
        changes["staff_number"] = row["staff_number"]
    core.update_staff(actor, staff, **changes)
    return {"before": before, "updated": {"staff": staff.pk}}


def _commit_class(actor: Any, school: School, r: ImportRow, action: str) -> dict[str, Any]:
    from schoolbridge.core.models import GradeLevel, SchoolYear

    row = r.normalized
    grade = GradeLevel.objects.get(pk=row["grade"], school=school)
    head = (
        Staff.objects.filter(pk=row["head_teacher"], school=school).first()
        if row.get("head_teacher")
        else None
    )
    if action == "create":
        year = SchoolYear.objects.get(pk=row["year"], school=school)
        klass = core.create_class(actor, year, name=row["class_name"], grade=grade, head_teacher=head)
        return {"created": {"class": klass.pk}}
    klass = Class.objects.get(pk=r.match["id"], school=school)
    before = {"grade": klass.grade_id, "head_teacher": klass.head_teacher_id}
    changes: dict[str, Any] = {"grade": grade}
    if head is not None:
        changes["head_teacher"] = head
    core.update_class(actor, klass, **changes)
    return {"updated": {"class": klass.pk}, "before": before}


def _commit_assignment(actor: Any, school: School, r: ImportRow, action: str) -> dict[str, Any]:
    from schoolbridge.core.models import Subject, Term

    row = r.normalized
    ta = core.assign_teaching(
        actor,
        Staff.objects.get(pk=row["teacher"], school=school),
        Class.objects.get(pk=row["klass"], school=school),
        Subject.objects.get(pk=row["subject"], school=school),
        Term.objects.get(pk=row["term"], school=school),
    )
    return {"created": {"assignment": ta.pk}}


def _score_groups(
    items: list[tuple[int, dict[str, Any], str, str | None]],
) -> dict[tuple[int, int], list[tuple[int, str, Any]]]:
    """(assessment subject, class) → [(row, student number, value)] for grades.enter_scores."""
    groups: dict[tuple[int, int], list[tuple[int, str, Any]]] = {}
    for number, row, as_key, value in items:
        groups.setdefault((int(as_key), row["klass"]), []).append((number, row["student_number"], value))
    return groups


def _enter_groups(actor: Any, groups: dict[tuple[int, int], list[tuple[int, str, Any]]]) -> None:
    from schoolbridge.grades.actions import ScoreErrors, ScoreRow, enter_scores
    from schoolbridge.grades.models import AssessmentSubject

    for (as_id, klass_id), cells in groups.items():
        subject = AssessmentSubject.objects.get(pk=as_id)
        klass = Class.objects.get(pk=klass_id)
        try:
            enter_scores(actor, subject, klass, [ScoreRow(n, number, value) for n, number, value in cells])
        except ScoreErrors as exc:
            first = min(p.row for p in exc.problems)
            raise _RowRefused(first, [str(p) for p in exc.problems]) from None
        except Refused as exc:
            raise _RowRefused(min(n for n, _num, _v in cells), [str(exc.message)]) from None
        except NotFound:
            raise _RowRefused(
                min(n for n, _num, _v in cells), [N("You may not change this record.")]
            ) from None


def _commit_scores(actor: Any, school: School, rows: list[ImportRow]) -> None:
    """Scores go in through grades.enter_scores, one call per exam subject and class."""
    items = []
    for r in rows:
        for sc in r.normalized["scores"]:
            if sc.get("before") != sc["value"]:
                items.append((r.number, r.normalized, sc["as"], sc["value"]))
        r.result = {"scores": [{"as": sc["as"], "before": sc.get("before")} for sc in r.normalized["scores"]
                               if sc.get("before") != sc["value"]],
                    "klass": r.normalized["klass"], "student_number": r.normalized["student_number"]}  # fmt: skip
    _enter_groups(actor, _score_groups(items))


def _commit_attendance(actor: Any, school: School, rows: list[ImportRow]) -> None:
    """Past attendance goes in through attendance.import_marks, the whole batch in one call: no absence
    alerts, no notifications, no corrections. Each row keeps what it created or the mark's before-state."""
    from schoolbridge.attendance.actions import ImportedMark, import_marks

    marks = [
        ImportedMark(
            ref=r.number,
            student_id=r.normalized["student"],
            klass_id=r.normalized["klass"],
            day=datetime.date.fromisoformat(r.normalized["date"]),
            period=r.normalized["period"],
            status=r.normalized["status"],
            note=r.normalized.get("note") or "",
        )
        for r in rows
    ]
    try:
        results = import_marks(actor, school, marks)
    except InvalidInput as exc:
        problems = exc.message_dict
        first = min((int(k) for k in problems if k.isdigit()), default=rows[0].number if rows else 0)
        raise _RowRefused(first, [str(msg) for msg in problems.get(str(first), exc.messages)]) from None
    except (NotFound, Refused):
        raise _RowRefused(rows[0].number if rows else 0, [N("You may not change this record.")]) from None
    for r in rows:
        r.result = results.get(r.number, {})


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _notify(actor: Any, batch: ImportBatch, title: str, done: dict[str, Any]) -> None:
    from django.urls import reverse

    from schoolbridge.notify.actions import notify

    if not getattr(actor, "pk", None):
        return
    body = ", ".join(f"{k}: {v}" for k, v in done.items())
    notify(
        [actor],
        "imports",
        _(title),
        body,
        reverse("imports:batch", args=[batch.school_id, batch.pk]),
        batch.school_id,
    )


# ------------------------------------------------------------------------------------------- rollback


@transaction.atomic
def rollback(actor: Any, batch: ImportBatch | int) -> ImportBatch:
    """Undo a committed batch: restore what it updated (newest row first), then delete what it created.

    Refused, with nothing changed, when a record the batch created is in use elsewhere (attendance marks,
    scores, leave, a head-teacher post…): deleting it would silently take that data with it."""
    batch = _batch(actor, batch)
    if batch.status != S.COMMITTED:
        raise Refused(_("Only a committed batch can be rolled back."))
    results = [r.result for r in ImportRow.objects.filter(batch=batch).exclude(result={}).order_by("-number")]
    if batch.target == "attendance":
        _undo_attendance(actor, batch.school, results)
    else:
        UNDOERS[batch.target](actor, results)
    before = {"status": batch.status}
    batch.status = S.ROLLED_BACK
    batch.rolled_back_by = actor if getattr(actor, "pk", None) else None
    batch.rolled_back_at = timezone.now()
    batch.save(update_fields=["status", "rolled_back_by", "rolled_back_at"])
    record(actor, "imports.batch.rollback", batch, before, {"status": batch.status, "rows": len(results)})
    return batch


CHUNK = 2000


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _in_use(model: type[Any], ids: list[int], owned: set[type[Any]]) -> list[str]:
    """What else deleting these rows would delete or change (beyond the models the batch owns)."""
    from django.db.models.deletion import Collector

    found: set[str] = set()
    for chunk in _chunks(ids):
        collector = Collector(using=model._default_manager.db)
        try:
            collector.collect(list(model._default_manager.filter(pk__in=chunk)))
        except ProtectedError as exc:
            found.update(str(o._meta.verbose_name) for o in exc.protected_objects)
            continue
        for related, objs in collector.data.items():
            if related not in owned and objs:
                found.add(str(related._meta.verbose_name))
        for qs in collector.fast_deletes:
            if qs.model not in owned and qs.exists():
                found.add(str(qs.model._meta.verbose_name))
        for (fld, _value), batches in collector.field_updates.items():
            # Each entry is a list of querysets (or instance lists): a SET_NULL relation shows up even when
            # no row points at ours, so look.
            if fld.model not in owned and any(
                b.exists() if hasattr(b, "exists") else bool(b) for b in batches
            ):
                found.add(str(fld.model._meta.verbose_name))
    return sorted(found)


def _refuse_if_in_use(used: list[str]) -> None:
    if used:
        raise Refused(
            _("Records this batch created are already in use (%(what)s); it cannot be rolled back.")
            % {"what": ", ".join(used)}
        )


def _delete_all(actor: Any, model: type[Any], ids: list[int]) -> None:
    """Delete rows set-based, one audit row each (inserted together)."""
    from schoolbridge.audit.models import AuditEvent

    name = f"imports.rollback.{model._meta.model_name}.delete"
    for chunk in _chunks(ids):
        objs = list(model._default_manager.filter(pk__in=chunk))
        AuditEvent.objects.bulk_create(
            (
                AuditEvent(
                    actor=actor if getattr(actor, "pk", None) else None,
                    action=name,
                    object_type=model._meta.label_lower,
                    object_id=str(o.pk),
                    school_id=getattr(o, "school_id", None),
                    district_id=getattr(o, "district_id", None),
                    before=snapshot(o),
                    after=None,
                )
                for o in objs
            ),
            batch_size=500,
        )
        model._default_manager.filter(pk__in=[o.pk for o in objs]).delete()


def _undo_students(actor: Any, results: list[dict[str, Any]]) -> None:
    created = [r["created"]["student"] for r in results if "created" in r]
    _refuse_if_in_use(_in_use(Student, created, {Student, Enrollment, Guardianship}))
    _delete_all(actor, Guardianship, [gs for r in results for gs in r.get("guardianships", [])])
    for r in results:
        if "updated" in r:
            _restore_student(actor, r)
    persons = [
        p
        for chunk in _chunks(created)
        for p in Student.objects.filter(pk__in=chunk).values_list("person_id", flat=True)
    ]
    _delete_all(actor, Enrollment, [e for chunk in _chunks(created) for e in Enrollment.objects.filter(student_id__in=chunk).values_list("pk", flat=True)])  # fmt: skip
    _delete_all(actor, Student, created)
    _delete_all(actor, Person, persons)
    # Guardians the batch created go too, unless they have since been linked to another child, bound to an
    # account, or are also staff: then only their links to this batch's students went.
    new_guardians = [g for r in results for g in r.get("guardians_created", [])]
    orphans: list[tuple[int, int]] = []
    for chunk in _chunks(new_guardians):
        orphans.extend(
            Guardian.objects.filter(pk__in=chunk, guardianships__isnull=True, person__user__isnull=True)
            .exclude(person__staff_roles__isnull=False)
            .values_list("pk", "person_id")
        )
    _delete_all(actor, Guardian, [g for g, _p in orphans])
    _delete_all(actor, Person, [p for _g, p in orphans])


def _restore_student(actor: Any, result: dict[str, Any]) -> None:
    student = Student.objects.filter(pk=result["updated"]["student"]).select_related("person").first()
    if student is None:
        return
    before = result["before"]
    if result.get("enrollment_created"):
        created = Enrollment.objects.filter(pk=result["enrollment_created"]).first()
        if created is not None:
            record(actor, "imports.rollback.enrollment.delete", created, snapshot(created), None)
            created.delete()
        if before.get("open_enrollment"):
            Enrollment.objects.filter(pk=before["open_enrollment"]).update(end_date=None)
    person, p_before = student.person, snapshot(student.person)
    for f, v in before["person"].items():
        setattr(person, f, _date(v) if f == "birth_date" else v)
    person.save()
    record(actor, "imports.rollback.person.restore", person, p_before, snapshot(person))
    s_before = snapshot(student)
    student.student_number = before["student"]["student_number"]
    student.national_student_id = before["student"]["national_student_id"]
    student.current_class_id = before["student"]["current_class"]
    student.save(update_fields=["student_number", "national_student_id", "current_class"])
    record(actor, "imports.rollback.student.restore", student, s_before, snapshot(student))


def _undo_staff(actor: Any, results: list[dict[str, Any]]) -> None:
    created = [r["created"]["staff"] for r in results if "created" in r]
    _refuse_if_in_use(_in_use(Staff, created, {Staff}))
    for r in results:
        if "updated" in r:
            _restore_staff(actor, r)
    persons = [
        p
        for chunk in _chunks(created)
        for p in Staff.objects.filter(pk__in=chunk).values_list("person_id", flat=True)
    ]
    _delete_all(actor, Staff, created)
    keep = set(Staff.objects.filter(person_id__in=persons).values_list("person_id", flat=True))
    keep |= set(Guardian.objects.filter(person_id__in=persons).values_list("person_id", flat=True))
    _delete_all(actor, Person, [p for p in persons if p not in keep])


def _restore_staff(actor: Any, result: dict[str, Any]) -> None:
    staff = Staff.objects.filter(pk=result["updated"]["staff"]).select_related("person").first()
    if staff is None:
        return
    before = result["before"]
    person, p_before = staff.person, snapshot(staff.person)
    for f, v in before["person"].items():
        setattr(person, f, _date(v) if f == "birth_date" else v)
    person.save()
    record(actor, "imports.rollback.person.restore", person, p_before, snapshot(person))
    s_before = snapshot(staff)
    staff.title, staff.staff_number = before["staff"]["title"], before["staff"]["staff_number"]
    staff.save(update_fields=["title", "staff_number"])
    record(actor, "imports.rollback.staff.restore", staff, s_before, snapshot(staff))


def _undo_classes(actor: Any, results: list[dict[str, Any]]) -> None:
    created = [r["created"]["class"] for r in results if "created" in r]
    _refuse_if_in_use(_in_use(Class, created, {Class}))
    for r in results:
        if "updated" in r:
            klass = Class.objects.filter(pk=r["updated"]["class"]).first()
            if klass is None:
                continue
            before = snapshot(klass)
            klass.grade_id, klass.head_teacher_id = r["before"]["grade"], r["before"]["head_teacher"]
            klass.save(update_fields=["grade", "head_teacher"])
            record(actor, "imports.rollback.class.restore", klass, before, snapshot(klass))
    _delete_all(actor, Class, created)


def _undo_assignments(actor: Any, results: list[dict[str, Any]]) -> None:
    from schoolbridge.core.models import TeachingAssignment

    created = [r["created"]["assignment"] for r in results if "created" in r]
    _refuse_if_in_use(_in_use(TeachingAssignment, created, {TeachingAssignment}))
    _delete_all(actor, TeachingAssignment, created)


def _undo_attendance(actor: Any, school: School, results: list[dict[str, Any]]) -> None:
    """Delete the marks (and registers) the batch created and put back the marks it updated, through
    attendance.undo_imported_marks: refused when any of them has been changed since."""
    from schoolbridge.attendance.actions import undo_imported_marks

    undo_imported_marks(actor, school, results)


def _undo_scores(actor: Any, results: list[dict[str, Any]]) -> None:
    """Put the scores back as they were (blank where there was none), through grades.enter_scores."""
    items = [
        (0, {"klass": r["klass"], "student_number": r["student_number"]}, sc["as"], sc["before"] or "")
        for r in results
        for sc in r.get("scores", [])
    ]
    try:
        _enter_groups(actor, _score_groups(items))
    except _RowRefused as exc:
        raise Refused("; ".join(exc.reasons)) from None


COMMITTERS = {
    "students": _commit_student,
    "staff": _commit_staff,
    "classes": _commit_class,
    "assignments": _commit_assignment,
}
UNDOERS = {
    "students": _undo_students,
    "staff": _undo_staff,
    "classes": _undo_classes,
    "assignments": _undo_assignments,
    "scores": _undo_scores,
}
# Targets written in one call for the whole batch (rows: those to create or update) instead of row by row.
BULK_COMMITTERS = {
    "scores": _commit_scores,
    "attendance": _commit_attendance,
}


# ------------------------------------------------------------------------------------------- sources


@transaction.atomic
def save_source(
    actor: Any,
    school: School | int,
    *,
    name: str,
    kind: str,
    target: str,
    config: dict[str, Any],
    schedule: str = "",
) -> ImportSource:
    """A SQL or web API source (administrators of the school only; see docs/imports.md on network reach)."""
    school = _school(actor, school)
    scope = get_scope(actor)
    if not scope.has_role("school_admin", "district_admin"):
        raise NotFound
    errors: dict[str, list[Any]] = {}
    if not name.strip():
        errors["name"] = [_("Enter a name.")]
    if kind not in (ImportSource.Kind.SQL, ImportSource.Kind.API):
        errors["kind"] = [_("Choose a SQL database or a web API.")]
    if target not in Target.values:
        errors["target"] = [_("Choose what to import.")]
    if schedule not in ImportSource.Schedule.values:
        errors["schedule"] = [_("Choose a schedule.")]
    try:
        if kind == ImportSource.Kind.SQL:
            from .sources.sql import check_query

            check_query(config.get("query", ""))
            if not str(config.get("url", "")).strip():
                raise SourceError("Enter the database URL")
        elif kind == ImportSource.Kind.API:
            from django.conf import settings

            from .sources.webapi import check_url

            check_url(config.get("url", ""), getattr(settings, "IMPORTS_ALLOW_PRIVATE_HOSTS", False))
    except SourceError as exc:
        errors["config"] = [_(exc.message)]
    if ImportSource.objects.filter(school=school, name=name.strip()).exists():
        errors.setdefault("name", []).append(_("A source with this name already exists."))
    if errors:
        raise InvalidInput(errors)
    source = ImportSource.objects.create(
        district_id=school.district_id,
        school=school,
        name=name.strip(),
        kind=kind,
        target=target,
        config=config,
        schedule=schedule,
        created_by=actor,
    )
    safe = {k: v for k, v in config.items() if k not in ("url", "auth_header")}
    record(
        actor,
        "imports.source.create",
        source,
        None,
        {"name": source.name, "kind": kind, "target": target, **safe},
    )
    return source


@transaction.atomic
def delete_source(actor: Any, source: ImportSource | int) -> None:
    """Forget a saved source (its batches stay in the history)."""
    found = ImportSource.objects.select_for_update().filter(pk=getattr(source, "pk", source)).first()
    if found is None:
        raise NotFound
    _school(actor, found.school_id)
    if found.kind != ImportSource.Kind.FILE and not get_scope(actor).has_role(
        "school_admin", "district_admin"
    ):
        raise NotFound
    record(actor, "imports.source.delete", found, {"name": found.name, "kind": found.kind}, None)
    found.delete()


def read_source(source: ImportSource) -> Table:
    """Fetch a saved SQL or API source's rows now."""
    from django.conf import settings

    cfg = source.config
    if source.kind == ImportSource.Kind.SQL:
        from .sources.sql import read_sql

        return read_sql(cfg["url"], cfg["query"])
    if source.kind == ImportSource.Kind.API:
        from .sources.webapi import read_api

        return read_api(
            cfg["url"],
            records_path=cfg.get("records_path", ""),
            auth_header=cfg.get("auth_header", ""),
            pagination=cfg.get("pagination", "none"),
            page_param=cfg.get("page_param", "page"),
            next_path=cfg.get("next_path", ""),
            allow_private=getattr(settings, "IMPORTS_ALLOW_PRIVATE_HOSTS", False),
        )
    raise SourceError("A file source is imported by uploading the file")


def run_source(actor: Any, source: ImportSource) -> ImportBatch:
    """Read a saved source and stage + check a batch from it (no commit)."""
    try:
        table = read_source(source)
    except SourceError as exc:
        return stage_failure(actor, source.school_id, source.target, exc, source.name)
    digest = sha256(repr([r.values for r in table.rows]).encode())
    batch = stage(
        actor, source.school_id, source.target, table, filename=source.name, digest=digest, source=source
    )
    if source.mapping:
        batch.mapping = {k: v for k, v in source.mapping.items() if v in table.headers}
        batch.save(update_fields=["mapping"])
    mark_validating(actor, batch)
    return check(batch.pk)


def sync_source(source: ImportSource, now: datetime.datetime | None = None) -> ImportBatch:
    """Scheduled sync: the same check as by hand; commits only when there is nothing to decide (no errors,
    no conflicts). Otherwise the batch is held and the source's owner is told."""
    actor = source.created_by
    batch = run_source(actor, source)
    ImportSource.objects.filter(pk=source.pk).update(last_synced_at=now or timezone.now())
    if batch.status != S.PREVIEWED:
        with transaction.atomic():
            _notify(actor, batch, N("Scheduled import failed"), {})
        return batch
    if batch.counts.get("error") or batch.counts.get("conflict"):
        hold(actor, batch)
        with transaction.atomic():
            _notify(actor, batch, N("Scheduled import needs review"),
                    {"conflict": batch.counts.get("conflict", 0), "error": batch.counts.get("error", 0)})  # fmt: skip
        batch.refresh_from_db()
        return batch
    if not (batch.counts.get("create") or batch.counts.get("update")):
        return batch  # nothing to write
    return commit(actor, batch.pk, proceed_with_valid=False)


def due_sources(now: datetime.datetime | None = None) -> list[ImportSource]:
    now = now or timezone.now()
    out = []
    for source in (
        ImportSource.objects.exclude(schedule="")
        .exclude(kind=ImportSource.Kind.FILE)
        .select_related("created_by")
    ):
        every = datetime.timedelta(hours=1 if source.schedule == ImportSource.Schedule.HOURLY else 24)
        if source.last_synced_at is None or now - source.last_synced_at >= every:
            out.append(source)
    return out
