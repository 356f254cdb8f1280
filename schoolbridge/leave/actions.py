"""Writes to leave requests: apply, edit, cancel, decide, remind.

Every action takes the acting user first, runs in one transaction, checks access (out of scope gives
the same NotFound as missing), validates into field-level InvalidInput errors (nothing is saved —
uploaded files included — when input is bad), writes an audit row and notifies through
notify.actions.notify (whose deliveries wait for the commit).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.helpers import _pk, access_guarded_child_by_id
from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.errors import Errors, InvalidInput, NotFound
from schoolbridge.core.filetypes import sniff_content_type
from schoolbridge.core.models import Guardianship, Staff, Student
from schoolbridge.notify.actions import notify

from .models import (
    ACTIVE_STATUSES,
    ApprovalPolicy,
    ApprovalStep,
    ApproverRole,
    Attachment,
    Audience,
    Decision,
    Half,
    Kind,
    LeaveRequest,
    Reason,
    Status,
)
from .queries import decidable_q, leave_day_cover
from .signals import leave_decided

P = ParamSpec("P")
R = TypeVar("R")

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 3
MAX_LEAVE_DAYS = 60
MAX_DAYS_BACK = 30
MAX_PERIOD = 12
DEFAULT_REMIND_HOURS = 24
# The default chain: the head teacher; the grade director as well when the leave is longer than 3 days.
DEFAULT_STUDENT_STEPS: tuple[tuple[str, Decimal | None], ...] = (
    (ApproverRole.HEAD_TEACHER, None),
    (ApproverRole.GRADE_DIRECTOR, Decimal(3)),
)
DEFAULT_STAFF_STEPS: tuple[tuple[str, Decimal | None], ...] = ((ApproverRole.PRINCIPAL, None),)

# File types by their first bytes (the extension and the browser's content type are not trusted).
ALLOWED_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}


class _Saved:
    """Files written to storage during an action, removed again if the action fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def discard(self) -> None:
        for name in self.names:
            default_storage.delete(name)


def leave_action(fn: Callable[P, R]) -> Callable[P, R]:
    """One transaction; a race on a unique constraint becomes a form error."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except IntegrityError:
            raise InvalidInput(
                _("This conflicts with a change saved at the same moment. Please reload and try again.")
            ) from None

    return wrapper


# --------------------------------------------------------------------------- validation


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _clean_fields(data: dict[str, Any], today: datetime.date, errors: Errors) -> dict[str, Any]:
    """Validate and normalise the request fields. Adds field errors; returns what it could clean."""
    kind = data.get("kind") or Kind.DAYS
    if kind not in Kind.values:
        errors.add("kind", _("Choose whole days, half days or periods."))
    reason = data.get("reason") or ""
    if reason not in Reason.values:
        errors.add("reason", _("Choose a reason."))
    reason_text = str(data.get("reason_text") or "").strip()
    if len(reason_text) > 1000:
        errors.add("reason_text", _("Keep the details under 1000 characters."))
    if reason == Reason.OTHER and not reason_text:
        errors.add("reason_text", _("Please describe the reason."))
    start = _as_date(data.get("start_date"))
    end = _as_date(data.get("end_date"))
    if start is None:
        errors.add("start_date", _("Enter the first day of the leave."))
    if kind == Kind.PERIODS and start is not None and end is None:
        end = start
    if end is None and kind != Kind.PERIODS:
        errors.add("end_date", _("Enter the last day of the leave."))
    start_half = end_half = ""
    periods: list[int] = []
    if start is not None and end is not None:
        if end < start:
            errors.add("end_date", _("The last day cannot be before the first day."))
        elif (end - start).days + 1 > MAX_LEAVE_DAYS:
            errors.add("end_date", _("A request can cover at most %(n)d days.") % {"n": MAX_LEAVE_DAYS})
        if start < today - datetime.timedelta(days=MAX_DAYS_BACK):
            errors.add(
                "start_date",
                _("Leave can be requested at most %(n)d days afterwards.") % {"n": MAX_DAYS_BACK},
            )
    if kind == Kind.HALF_DAYS:
        start_half = data.get("start_half") or ""
        end_half = data.get("end_half") or ""
        if start_half not in Half.values:
            errors.add("start_half", _("Choose morning or afternoon."))
        if end_half not in Half.values:
            errors.add("end_half", _("Choose morning or afternoon."))
        if start is not None and start == end and start_half == "pm" and end_half == "am":
            errors.add(
                "end_half",
                _("On a single day the leave cannot end in the morning if it starts in the afternoon."),
            )
    elif kind == Kind.PERIODS:
        if start is not None and end is not None and end != start:
            errors.add("end_date", _("Leave for specific periods covers a single day."))
        raw = data.get("periods") or []
        if isinstance(raw, str):
            raw = [p for p in raw.replace("，", ",").split(",") if p.strip()]
        try:
            periods = sorted({int(p) for p in raw})
        except (TypeError, ValueError):
            errors.add("periods", _("Periods are numbers such as 1, 2, 3."))
            periods = []
        else:
            if not periods:
                errors.add("periods", _("Choose at least one period."))
            elif periods[0] < 1 or periods[-1] > MAX_PERIOD:
                errors.add("periods", _("Periods are numbered from 1 to %(n)d.") % {"n": MAX_PERIOD})
    return {
        "kind": kind,
        "start_date": start,
        "end_date": end,
        "start_half": start_half,
        "end_half": end_half,
        "periods": periods,
        "reason": reason,
        "reason_text": reason_text,
    }


def _check_periods(school_id: int, fields: dict[str, Any], errors: Errors) -> None:
    """Periods must exist in the school's bell schedule of that day (when the school has one)."""
    if fields["kind"] != Kind.PERIODS or not fields["periods"] or fields["start_date"] is None:
        return
    from schoolbridge.schoolcal.queries import periods as bell_periods

    numbers = {p.number for p in bell_periods(school_id, fields["start_date"])}
    missing = [str(n) for n in fields["periods"] if n not in numbers]
    if numbers and missing:
        errors.add("periods", _("The school has no period %(p)s on that day.") % {"p": ", ".join(missing)})


def _check_files(files: Sequence[Any], existing: int, errors: Errors) -> list[tuple[Any, str]]:
    """Check every upload (count, size, real type by magic bytes). Returns (file, content type) pairs."""
    checked: list[tuple[Any, str]] = []
    if existing + len(files) > MAX_ATTACHMENTS:
        errors.add("attachments", _("At most %(n)d attachments per request.") % {"n": MAX_ATTACHMENTS})
        return checked
    for f in files:
        name = str(getattr(f, "name", "") or "file")
        size = getattr(f, "size", None) or 0
        if size > MAX_ATTACHMENT_BYTES:
            errors.add(
                "attachments",
                _("“%(name)s” is %(size).1f MB; attachments may be at most 5 MB.")
                % {"name": name, "size": size / 1024 / 1024},
            )
            continue
        if size == 0:
            errors.add("attachments", _("“%(name)s” is empty.") % {"name": name})
            continue
        f.seek(0)
        head = f.read(16)
        f.seek(0)
        content_type = sniff_content_type(head)
        if content_type not in ALLOWED_TYPES:
            errors.add(
                "attachments",
                _("“%(name)s” is not a JPEG, PNG or WebP image or a PDF document.") % {"name": name},
            )
            continue
        checked.append((f, content_type))
    return checked


def _days(fields: dict[str, Any]) -> Decimal:
    """The length of the leave in (calendar) days; half days count a half, periods nothing."""
    start, end = fields["start_date"], fields["end_date"]
    if fields["kind"] == Kind.PERIODS:
        return Decimal(0)
    days = (end - start).days + 1
    if fields["kind"] == Kind.DAYS:
        return Decimal(days)
    halves = 2 * days - (1 if fields["start_half"] == "pm" else 0) - (1 if fields["end_half"] == "am" else 0)
    return Decimal(halves) / 2


def _policy(school_id: int) -> ApprovalPolicy | None:
    return ApprovalPolicy.objects.filter(school_id=school_id).first()


def chain_for(
    school_id: int, audience: str, days: Decimal, policy: ApprovalPolicy | None = None
) -> list[str]:
    """The approver roles, in order, for a request of this length."""
    policy = policy if policy is not None else _policy(school_id)
    configured: list[tuple[str, Decimal | None]] = (
        list(ApprovalStep.objects.filter(policy=policy, audience=audience).values_list("role", "min_days"))
        if policy is not None
        else []
    )
    steps = configured or (DEFAULT_STUDENT_STEPS if audience == Audience.STUDENT else DEFAULT_STAFF_STEPS)
    chain = [str(role) for role, min_days in steps if min_days is None or days > min_days]
    return chain or [ApproverRole.SCHOOL_ADMIN.value]


def _remind_hours(policy: ApprovalPolicy | None) -> int:
    return (
        policy.remind_after_hours
        if policy is not None and policy.remind_after_hours
        else DEFAULT_REMIND_HOURS
    )


def _check_overlap(
    fields: dict[str, Any], student: Student | None, staff: Staff | None, exclude: int | None, errors: Errors
) -> None:
    start, end = fields["start_date"], fields["end_date"]
    others = LeaveRequest.objects.filter(status__in=ACTIVE_STATUSES, start_date__lte=end, end_date__gte=start)
    others = others.filter(student=student) if student is not None else others.filter(staff=staff)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    candidate = LeaveRequest(**{k: v for k, v in fields.items()})
    for other in others.order_by("start_date"):
        day = max(start, other.start_date)
        last = min(end, other.end_date)
        while day <= last:
            mine, theirs = leave_day_cover(candidate, day), leave_day_cover(other, day)
            if mine is not None and theirs is not None and mine.overlaps(theirs):
                errors.add(
                    None,
                    _(
                        "This overlaps a request already made for %(start)s – %(end)s (%(status)s). "
                        "Change or cancel that request first."
                    )
                    % {
                        "start": other.start_date.isoformat(),
                        "end": other.end_date.isoformat(),
                        "status": other.get_status_display(),
                    },
                )
                return
            day += datetime.timedelta(days=1)


def _attachment_snapshot(att: Attachment) -> dict[str, Any]:
    out = snapshot(att, ("leave", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"))
    out["file"] = att.file.name
    return out


def _store(leave: LeaveRequest, actor: Any, files: list[tuple[Any, str]], saved: _Saved) -> list[Attachment]:
    out = []
    for f, content_type in files:
        att = Attachment(
            district_id=leave.district_id,
            school_id=leave.school_id,
            leave=leave,
            original_name=str(getattr(f, "name", "") or "file")[-200:],
            content_type=content_type,
            size=f.size,
            uploaded_by=actor,
        )
        att.file.save("upload", File(f), save=False)
        saved.names.append(att.file.name)
        att.save()
        record(actor, "leave.attachment.add", att, None, _attachment_snapshot(att))
        out.append(att)
    return out


# --------------------------------------------------------------------------- who to tell


def approver_user_ids(leave: LeaveRequest, role: str | None = None) -> list[int]:
    """The users who decide the given (default: current) step of the leave. Falls back to the school's
    administrators when the step has nobody (a class without a head teacher)."""
    role = role or leave.current_role
    ids: list[int] = []
    klass = leave.student.current_class if leave.student_id and leave.student else None
    if role == ApproverRole.HEAD_TEACHER and klass is not None and klass.head_teacher_id:
        ids = list(
            Staff.objects.filter(
                pk=klass.head_teacher_id, active=True, person__user__isnull=False
            ).values_list("person__user_id", flat=True)
        )
    elif role == ApproverRole.GRADE_DIRECTOR and klass is not None:
        ids = list(
            RoleGrant.objects.filter(
                role=role, school_id=leave.school_id, grade_id=klass.grade_id
            ).values_list("user_id", flat=True)
        )
    elif role in (ApproverRole.PRINCIPAL, ApproverRole.SCHOOL_ADMIN):
        ids = list(
            RoleGrant.objects.filter(role=role, school_id=leave.school_id).values_list("user_id", flat=True)
        )
    if not ids:
        ids = list(
            RoleGrant.objects.filter(role=ApproverRole.SCHOOL_ADMIN, school_id=leave.school_id).values_list(
                "user_id", flat=True
            )
        )
    return sorted(set(ids))


def family_user_ids(leave: LeaveRequest) -> list[int]:
    """Who hears about the outcome on the applicant's side: the child's guardians who receive notices
    (and the applicant), or the staff member themself."""
    ids = {leave.applicant_id}
    if leave.student_id:
        ids.update(
            Guardianship.objects.filter(
                student_id=leave.student_id, receives_notices=True, guardian__person__user__isnull=False
            ).values_list("guardian__person__user_id", flat=True)
        )
    elif leave.staff_id:
        user_id = Staff.objects.filter(pk=leave.staff_id).values_list("person__user_id", flat=True).first()
        if user_id:
            ids.add(user_id)
    return sorted(ids)


def head_teacher_user_ids(leave: LeaveRequest) -> list[int]:
    student = leave.student
    if student is None or not student.current_class_id:
        return []
    return approver_user_ids(leave, ApproverRole.HEAD_TEACHER)


def _describe(leave: LeaveRequest) -> str:
    if leave.start_date == leave.end_date:
        span = leave.start_date.isoformat()
    else:
        span = f"{leave.start_date.isoformat()} – {leave.end_date.isoformat()}"
    return f"{leave.subject_name} · {span} · {leave.get_reason_display()}"


def _link(leave: LeaveRequest) -> str:
    return f"/leave/{leave.pk}/"


def _tell_approver(leave: LeaveRequest, title: str) -> None:
    notify(
        approver_user_ids(leave),
        "leave.pending",
        title,
        _describe(leave),
        _link(leave),
        school=leave.school_id,
    )


def _start_step(leave: LeaveRequest, step: int, now: datetime.datetime, hours: int) -> None:
    leave.current_step = step
    leave.current_role = leave.steps[step]
    leave.step_started_at = now
    leave.remind_at = now + datetime.timedelta(hours=hours)
    leave.last_reminded_at = None


# --------------------------------------------------------------------------- actions


def _lock_student(student: Student) -> None:
    # Serialises concurrent requests for the same child (PostgreSQL; SQLite's write lock does it there).
    list(Student.objects.select_for_update().filter(pk=student.pk).values_list("pk", flat=True))


def apply_for_leave(
    actor: Any, student_id: Any, attachments: Sequence[Any] = (), **data: Any
) -> LeaveRequest:
    """A guardian (any guardianship of the child) applies for leave for the child.

    data: kind, start_date, end_date, start_half, end_half, periods, reason, reason_text.
    """
    student = access_guarded_child_by_id(actor, student_id)
    saved = _Saved()
    try:
        return _apply(actor, student, list(attachments), data, saved)
    except BaseException:
        saved.discard()
        raise


@leave_action
def _apply(
    actor: Any, student: Student, files: list[Any], data: dict[str, Any], saved: _Saved
) -> LeaveRequest:
    _lock_student(student)
    errors = Errors()
    if student.status != Student.Status.ENROLLED:
        errors.add(None, _("Leave can only be requested for an enrolled student."))
    return _new_request(actor, student, Audience.STUDENT, files, data, saved, errors, student=student)


def apply_for_staff_leave(
    actor: Any, school_id: Any, attachments: Sequence[Any] = (), **data: Any
) -> LeaveRequest:
    """A staff member applies for their own leave at a school where they work (same fields and chain
    engine; the staff chain of the school's policy, by default the principal)."""
    pk = _pk(school_id)
    staff = (
        Staff.objects.select_related("school").filter(school_id=pk, person__user=actor, active=True).first()
        if pk is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    if staff is None:
        raise NotFound
    saved = _Saved()
    try:
        return _apply_staff(actor, staff, list(attachments), data, saved)
    except BaseException:
        saved.discard()
        raise


@leave_action
def _apply_staff(
    actor: Any, staff: Staff, files: list[Any], data: dict[str, Any], saved: _Saved
) -> LeaveRequest:
    list(Staff.objects.select_for_update().filter(pk=staff.pk).values_list("pk", flat=True))
    return _new_request(actor, staff, Audience.STAFF, files, data, saved, Errors(), staff=staff)


def _new_request(
    actor: Any,
    owner: Student | Staff,
    audience: str,
    files: list[Any],
    data: dict[str, Any],
    saved: _Saved,
    errors: Errors,
    **who: Any,
) -> LeaveRequest:
    """The part of applying shared by student and staff leave: validate, build the chain, save, audit,
    store the attachments and tell the first approver. `who` is student=… or staff=…."""
    now = timezone.now()
    fields = _clean_fields(data, timezone.localdate(), errors)
    checked = _check_files(files, 0, errors)
    if not errors:
        _check_periods(owner.school_id, fields, errors)
    if not errors:
        _check_overlap(fields, who.get("student"), who.get("staff"), None, errors)
    errors.raise_if_any()
    policy = _policy(owner.school_id)
    leave = LeaveRequest(
        district_id=owner.district_id,
        school_id=owner.school_id,
        applicant=actor,
        status=Status.PENDING,
        steps=chain_for(owner.school_id, audience, _days(fields), policy),
        created_at=now,
        updated_at=now,
        **who,
        **fields,
    )
    _start_step(leave, 0, now, _remind_hours(policy))
    leave.save()
    record(actor, "leave.apply", leave, None, snapshot(leave))
    _store(leave, actor, checked, saved)
    _tell_approver(leave, gettext("A leave request is waiting for your decision"))
    return leave


def own_leave_q(actor: Any) -> Q:
    """Requests the actor may change: their children's (any guardianship) and their own staff leave."""
    from schoolbridge.access.scope import get_scope

    children = [g.student_id for g in get_scope(actor).grants_of("guardian")]
    q = Q(staff__person__user_id=actor.pk)
    if children:
        q |= Q(student_id__in=children)
    return q


def _own_leave_for_update(actor: Any, leave_id: Any) -> LeaveRequest:
    pk = _pk(leave_id)
    if pk is None or not getattr(actor, "is_authenticated", False):
        raise NotFound
    leave = (
        LeaveRequest.objects.select_for_update(of=("self",))
        .filter(own_leave_q(actor), pk=pk)
        .select_related("student__person", "student__current_class", "staff__person")
        .first()
    )
    if leave is None:
        raise NotFound
    return leave


def edit_leave(
    actor: Any,
    leave_id: Any,
    attachments: Sequence[Any] = (),
    remove_attachments: Iterable[int] = (),
    **data: Any,
) -> LeaveRequest:
    """Change a request nobody has decided on yet (the chain starts again from the first step)."""
    saved = _Saved()
    try:
        return _edit(actor, leave_id, list(attachments), {int(i) for i in remove_attachments}, data, saved)
    except BaseException:
        saved.discard()
        raise


@leave_action
def _edit(
    actor: Any, leave_id: Any, files: list[Any], remove: set[int], data: dict[str, Any], saved: _Saved
) -> LeaveRequest:
    leave = _own_leave_for_update(actor, leave_id)
    if not leave.is_open:
        raise InvalidInput(_("This request has already been decided on and can no longer be changed."))
    before = snapshot(leave)
    now = timezone.now()
    errors = Errors()
    fields = _clean_fields(data, timezone.localdate(), errors)
    existing = list(leave.attachments.all())
    dropped = [a for a in existing if a.pk in remove]
    checked = _check_files(files, len(existing) - len(dropped), errors)
    if not errors:
        _check_periods(leave.school_id, fields, errors)
    if not errors:
        _check_overlap(fields, leave.student, leave.staff, leave.pk, errors)
    errors.raise_if_any()
    policy = _policy(leave.school_id)
    for name, value in fields.items():
        setattr(leave, name, value)
    audience = Audience.STUDENT if leave.student_id else Audience.STAFF
    leave.steps = chain_for(leave.school_id, audience, _days(fields), policy)
    _start_step(leave, 0, now, _remind_hours(policy))
    leave.updated_at = now
    leave.save()
    record(actor, "leave.edit", leave, before, snapshot(leave))
    for att in dropped:
        record(actor, "leave.attachment.remove", att, _attachment_snapshot(att), None)
        name = att.file.name
        att.delete()
        transaction.on_commit(functools.partial(default_storage.delete, name))
    _store(leave, actor, checked, saved)
    _tell_approver(leave, gettext("A leave request waiting for you was changed"))
    return leave


@leave_action
def cancel_leave(actor: Any, leave_id: Any) -> LeaveRequest:
    """Withdraw a request that is still waiting for a decision."""
    leave = _own_leave_for_update(actor, leave_id)
    if leave.status != Status.PENDING:
        raise InvalidInput(_("Only a request that is still waiting for a decision can be cancelled."))
    before = snapshot(leave)
    approvers = approver_user_ids(leave)
    leave.status = Status.CANCELLED
    leave.current_role = ""
    leave.remind_at = None
    leave.updated_at = leave.decided_at = timezone.now()
    leave.save()
    record(actor, "leave.cancel", leave, before, snapshot(leave))
    notify(
        approvers,
        "leave.cancelled",
        gettext("A leave request was withdrawn"),
        _describe(leave),
        _link(leave),
        school=leave.school_id,
    )
    return leave


APPROVE = Decision.Outcome.APPROVE
REJECT = Decision.Outcome.REJECT


@leave_action
def decide(actor: Any, leave_id: Any, outcome: str, comment: str = "") -> LeaveRequest:
    """The approver of the current step approves or rejects. Anyone else: NotFound.

    Approving the last step approves the request; a rejection ends it. Each step tells the next
    approver and the family; the end tells the family and the head teacher.
    """
    pk = _pk(leave_id)
    q = decidable_q(actor) if getattr(actor, "is_authenticated", False) else None
    if pk is None or q is None:
        raise NotFound
    leave = (
        LeaveRequest.objects.select_for_update(of=("self",))
        .filter(q, pk=pk)
        .select_related("student__person", "student__current_class", "staff__person")
        .first()
    )
    if leave is None:
        raise NotFound
    errors = Errors()
    comment = str(comment or "").strip()
    if outcome not in (APPROVE, REJECT):
        errors.add("outcome", _("Choose approve or reject."))
    if outcome == REJECT and not comment:
        errors.add("comment", _("Please tell the family why the request is rejected."))
    if len(comment) > 1000:
        errors.add("comment", _("Keep the comment under 1000 characters."))
    errors.raise_if_any()
    before = snapshot(leave)
    now = timezone.now()
    Decision.objects.create(
        district_id=leave.district_id,
        school_id=leave.school_id,
        leave=leave,
        step=leave.current_step,
        role=leave.current_role or leave.steps[leave.current_step],
        approver=actor,
        outcome=outcome,
        comment=comment,
        at=now,
    )
    family = family_user_ids(leave)
    final = outcome == REJECT or leave.current_step + 1 >= len(leave.steps)
    if not final:
        _start_step(leave, leave.current_step + 1, now, _remind_hours(_policy(leave.school_id)))
    else:
        leave.status = Status.APPROVED if outcome == APPROVE else Status.REJECTED
        leave.current_role = ""
        leave.remind_at = None
        leave.decided_at = now
    leave.updated_at = now
    leave.save()
    record(actor, f"leave.{outcome}", leave, before, snapshot(leave))
    body = _describe(leave) + (f"\n{comment}" if comment else "")
    if not final:
        _tell_approver(leave, gettext("A leave request is waiting for your decision"))
        notify(
            family,
            "leave.step",
            gettext("Leave request approved by %(role)s; waiting for %(next)s")
            % {
                "role": ApproverRole(before["current_role"] or leave.steps[0]).label,
                "next": ApproverRole(leave.current_role).label,
            },
            body,
            _link(leave),
            school=leave.school_id,
        )
    else:
        title = gettext("Leave request approved") if outcome == APPROVE else gettext("Leave request rejected")
        recipients = set(family) | set(head_teacher_user_ids(leave))
        if actor.pk not in family:
            recipients.discard(actor.pk)
        notify(sorted(recipients), f"leave.{leave.status}", title, body, _link(leave), school=leave.school_id)
        transaction.on_commit(
            functools.partial(
                leave_decided.send, sender=LeaveRequest, leave=leave, outcome=outcome, actor=actor
            ),
            robust=True,
        )
    return leave


POLICY_ROLES = (ApproverRole.GRADE_DIRECTOR, ApproverRole.PRINCIPAL)


STAFF_FIRST_ROLES = (ApproverRole.PRINCIPAL, ApproverRole.SCHOOL_ADMIN)


def current_policy(school_id: int) -> dict[str, Any]:
    """The chains of a school as the settings page shows them.

    Student leave: the head teacher always first, then the grade director and the principal each when
    the leave is longer than a number of days (None: never). Staff leave: the first approver (the
    principal or a school administrator) and, after a school administrator, the principal as well when
    the leave is longer than a number of days (None: never)."""
    policy = _policy(school_id)
    steps = list(ApprovalStep.objects.filter(policy=policy).order_by("audience", "order")) if policy else []
    student = [s for s in steps if s.audience == Audience.STUDENT]
    staff = [s for s in steps if s.audience == Audience.STAFF]
    out: dict[str, Any]
    if not student:
        defaults = {str(role): min_days for role, min_days in DEFAULT_STUDENT_STEPS}
        out = {
            "grade_director_after_days": defaults.get(ApproverRole.GRADE_DIRECTOR),
            "principal_after_days": None,
        }
    else:
        by_role = {
            step.role: (step.min_days if step.min_days is not None else Decimal(0)) for step in student
        }
        out = {
            "grade_director_after_days": by_role.get(ApproverRole.GRADE_DIRECTOR),
            "principal_after_days": by_role.get(ApproverRole.PRINCIPAL),
        }
    out["remind_after_hours"] = _remind_hours(policy)
    staff_steps = [(s.role, s.min_days) for s in staff] or list(DEFAULT_STAFF_STEPS)
    out["staff_first"] = str(staff_steps[0][0])
    later = {
        str(role): (min_days if min_days is not None else Decimal(0)) for role, min_days in staff_steps[1:]
    }
    out["staff_principal_after_days"] = later.get(ApproverRole.PRINCIPAL)
    return out


@leave_action
def set_policy(
    actor: Any,
    school_id: Any,
    grade_director_after_days: Decimal | None,
    principal_after_days: Decimal | None,
    remind_after_hours: int,
    staff_first: str | None = None,
    staff_principal_after_days: Decimal | None = None,
) -> ApprovalPolicy:
    """A school administrator sets the student approval chain: the head teacher, then the grade director
    and the principal when a leave is longer than the given number of days (None: never; 0: always).

    With staff_first ("principal" or "school_admin") it also sets the staff chain: that approver, and
    after a school administrator the principal as well when the leave is longer than
    staff_principal_after_days (None: never; 0: always). Without it the staff chain is left as it is.
    Requests already sent keep the chain they were sent with."""
    from schoolbridge.access.helpers import access_school_by_id

    school = access_school_by_id(actor, school_id, "school.manage")
    errors = Errors()
    for name, value in (
        ("grade_director_after_days", grade_director_after_days),
        ("principal_after_days", principal_after_days),
    ):
        if value is not None and (value < 0 or value > MAX_LEAVE_DAYS or value * 2 != int(value * 2)):
            errors.add(
                name, _("Enter a number of days from 0 to %(n)d, in half days.") % {"n": MAX_LEAVE_DAYS}
            )
    if not isinstance(remind_after_hours, int) or not 1 <= remind_after_hours <= 168:
        errors.add("remind_after_hours", _("Enter a number of hours from 1 to 168."))
    staff_first = staff_first or None
    if staff_first is not None and staff_first not in STAFF_FIRST_ROLES:
        errors.add("staff_first", _("Choose the principal or a school administrator."))
    if staff_principal_after_days is not None:
        value = staff_principal_after_days
        if staff_first != ApproverRole.SCHOOL_ADMIN:
            errors.add(
                "staff_principal_after_days",
                _("Only when a school administrator decides first: the principal already decides."),
            )
        elif value < 0 or value > MAX_LEAVE_DAYS or value * 2 != int(value * 2):
            errors.add(
                "staff_principal_after_days",
                _("Enter a number of days from 0 to %(n)d, in half days.") % {"n": MAX_LEAVE_DAYS},
            )
    errors.raise_if_any()
    policy = ApprovalPolicy.objects.select_for_update().filter(school=school).first()
    before: dict[str, Any] | None = None
    if policy is None:
        policy = ApprovalPolicy(district_id=school.district_id, school=school)
    else:
        before = {**snapshot(policy), **_steps_snapshot(policy)}
    policy.remind_after_hours = remind_after_hours
    policy.save()
    ApprovalStep.objects.filter(policy=policy, audience=Audience.STUDENT).delete()
    order = 1
    steps = [
        ApprovalStep(policy=policy, audience=Audience.STUDENT, order=order, role=ApproverRole.HEAD_TEACHER)
    ]
    for role, value in (
        (ApproverRole.GRADE_DIRECTOR, grade_director_after_days),
        (ApproverRole.PRINCIPAL, principal_after_days),
    ):
        if value is not None:
            order += 1
            steps.append(
                ApprovalStep(
                    policy=policy,
                    audience=Audience.STUDENT,
                    order=order,
                    role=role,
                    min_days=value if value > 0 else None,
                )
            )
    if staff_first is not None:
        ApprovalStep.objects.filter(policy=policy, audience=Audience.STAFF).delete()
        steps.append(ApprovalStep(policy=policy, audience=Audience.STAFF, order=1, role=staff_first))
        if staff_first == ApproverRole.SCHOOL_ADMIN and staff_principal_after_days is not None:
            steps.append(
                ApprovalStep(
                    policy=policy,
                    audience=Audience.STAFF,
                    order=2,
                    role=ApproverRole.PRINCIPAL,
                    min_days=staff_principal_after_days if staff_principal_after_days > 0 else None,
                )
            )
    ApprovalStep.objects.bulk_create(steps)
    record(actor, "leave.policy", school, before, {**snapshot(policy), **_steps_snapshot(policy)})
    return policy


def _steps_snapshot(policy: ApprovalPolicy) -> dict[str, Any]:
    return {
        "steps": [
            [audience, role, None if min_days is None else str(min_days)]
            for audience, role, min_days in ApprovalStep.objects.filter(policy=policy)
            .order_by("audience", "order")
            .values_list("audience", "role", "min_days")
        ]
    }


def remind_overdue(now: datetime.datetime | None = None) -> int:
    """Remind the approvers of pending requests whose step has waited longer than the school's reminder
    period, once per period (remind_at moves on by one period). Returns the number of requests reminded."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            LeaveRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.PENDING, remind_at__lte=now)
            .select_related("student__person", "student__current_class", "staff__person")
            .order_by("pk")
        )
        if not due:
            return 0
        hours = dict(
            ApprovalPolicy.objects.filter(school_id__in={d.school_id for d in due}).values_list(
                "school_id", "remind_after_hours"
            )
        )
        by_hours: dict[int, list[int]] = {}
        for leave in due:
            h = hours.get(leave.school_id) or DEFAULT_REMIND_HOURS
            by_hours.setdefault(h, []).append(leave.pk)
            _tell_approver(leave, gettext("Reminder: a leave request is still waiting for your decision"))
            record(None, "leave.remind", leave, None, {"step": leave.current_step, "at": now.isoformat()})
        for h, ids in by_hours.items():
            LeaveRequest.objects.filter(pk__in=ids).update(
                last_reminded_at=now, remind_at=now + datetime.timedelta(hours=h)
            )
    return len(due)


__all__ = [
    "APPROVE",
    "REJECT",
    "apply_for_leave",
    "apply_for_staff_leave",
    "cancel_leave",
    "chain_for",
    "decide",
    "edit_leave",
    "remind_overdue",
    "set_policy",
    "sniff_content_type",
]
