"""Leave requests over the JSON API: your requests, apply for a child or for yourself (staff), requests
waiting for you, decide.

Attachments are uploaded through the web form; the API lists them with their download links.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from schoolbridge.access.helpers import NotFound
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.pagination import MAX_ID, PageMeta, PageParams, paginate
from schoolbridge.api_support.responses import ok

from . import actions
from .models import LeaveRequest
from .queries import mine, visible_leaves, waiting_for

router = Router(tags=["leave"])

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
RELATED = ("student__person", "student__current_class", "staff__person")


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class DecisionOut(Schema):
    step: int
    role: str
    approver: str
    outcome: str
    comment: str
    at: datetime.datetime


class LeaveOut(Schema):
    id: int
    school_id: int
    student_id: int | None
    staff_id: int | None
    name: str
    kind: str
    start_date: datetime.date
    end_date: datetime.date
    start_half: str
    end_half: str
    periods: list[int]
    reason: str
    reason_text: str
    status: str
    steps: list[str]
    current_step: int
    current_role: str
    created_at: datetime.datetime
    decided_at: datetime.datetime | None
    attachments: list[AttachmentOut]
    decisions: list[DecisionOut]


class LeavePage(PageMeta):
    items: list[LeaveOut]


class LeaveIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID, description="Your child.")
    kind: Literal["days", "half_days", "periods"] = "days"
    start_date: datetime.date
    end_date: datetime.date | None = Field(None, description="Not needed for periods (a single day).")
    start_half: Literal["", "am", "pm"] = ""
    end_half: Literal["", "am", "pm"] = ""
    periods: list[Annotated[int, Field(ge=1, le=actions.MAX_PERIOD)]] = Field(
        default_factory=list, max_length=12
    )
    reason: Literal["sick", "personal", "family", "medical", "other"]
    reason_text: str = Field("", max_length=1000)


class StaffLeaveIn(Schema):
    school_id: int = Field(..., ge=1, le=MAX_ID, description="A school where you work.")
    kind: Literal["days", "half_days", "periods"] = "days"
    start_date: datetime.date
    end_date: datetime.date | None = Field(None, description="Not needed for periods (a single day).")
    start_half: Literal["", "am", "pm"] = ""
    end_half: Literal["", "am", "pm"] = ""
    periods: list[Annotated[int, Field(ge=1, le=actions.MAX_PERIOD)]] = Field(
        default_factory=list, max_length=12
    )
    reason: Literal["sick", "personal", "family", "medical", "other"]
    reason_text: str = Field("", max_length=1000)


class DecisionIn(Schema):
    outcome: Literal["approve", "reject"]
    comment: str = Field("", max_length=1000, description="Required when rejecting.")


def _out(leave: LeaveRequest) -> dict[str, Any]:
    return {
        "id": leave.pk,
        "school_id": leave.school_id,
        "student_id": leave.student_id,
        "staff_id": leave.staff_id,
        "name": leave.subject_name,
        "kind": leave.kind,
        "start_date": leave.start_date,
        "end_date": leave.end_date,
        "start_half": leave.start_half,
        "end_half": leave.end_half,
        "periods": list(leave.periods or []),
        "reason": leave.reason,
        "reason_text": leave.reason_text,
        "status": leave.status,
        "steps": list(leave.steps or []),
        "current_step": leave.current_step,
        "current_role": leave.current_role,
        "created_at": leave.created_at,
        "decided_at": leave.decided_at,
        "attachments": [
            {
                "id": a.pk,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "url": f"/leave/attachments/{a.pk}/",
            }
            for a in leave.attachments.all()
        ],
        "decisions": [
            {
                "step": d.step,
                "role": d.role,
                "approver": str(d.approver),
                "outcome": d.outcome,
                "comment": d.comment,
                "at": d.at,
            }
            for d in leave.decisions.all()
        ],
    }


def _page(qs: Any, page: PageParams) -> dict[str, Any]:
    qs = qs.select_related(*RELATED).prefetch_related("attachments", "decisions__approver__person")
    result = paginate(qs, page)
    result["items"] = [_out(leave) for leave in result["items"]]
    return result


def _one(user: Any, pk: int) -> dict[str, Any]:
    leave = (
        visible_leaves(user)
        .select_related(*RELATED)
        .prefetch_related("attachments", "decisions__approver__person")
        .get(pk=pk)
    )
    return _out(leave)


@router.get("", response=ok(LeavePage), summary="Your children's leave requests (and your own), newest first")
def list_mine(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return _page(mine(caller(request)), page)


@router.get(
    "/waiting", response=ok(LeavePage), summary="Leave requests waiting for your decision, oldest first"
)
def list_waiting(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    return _page(waiting_for(caller(request)), page)


@router.post("", response=ok(LeaveOut, status=201, write=True), summary="Apply for leave for your child")
def apply(request: HttpRequest, payload: LeaveIn) -> Status:
    user = caller(request)
    data = payload.dict()
    student_id = data.pop("student_id")
    leave = actions.apply_for_leave(user, student_id, **data)
    return Status(201, _one(user, leave.pk))


@router.post(
    "/staff",
    response=ok(LeaveOut, status=201, write=True),
    summary="Apply for your own leave as a member of staff (the school's staff chain decides)",
)
def apply_staff(request: HttpRequest, payload: StaffLeaveIn) -> Status:
    user = caller(request)
    data = payload.dict()
    school_id = data.pop("school_id")
    leave = actions.apply_for_staff_leave(user, school_id, **data)
    return Status(201, _one(user, leave.pk))


@router.get("/{leave_id}", response=ok(LeaveOut), summary="One leave request")
def get_one(request: HttpRequest, leave_id: ObjectId) -> dict[str, Any]:
    user = caller(request)
    if not visible_leaves(user).filter(pk=leave_id).exists():
        raise NotFound
    return _one(user, leave_id)


@router.post(
    "/{leave_id}/decision", response=ok(LeaveOut, write=True), summary="Approve or reject the current step"
)
def decide(request: HttpRequest, leave_id: ObjectId, payload: DecisionIn) -> dict[str, Any]:
    user = caller(request)
    leave = actions.decide(user, leave_id, payload.outcome, payload.comment)
    return _one(user, leave.pk)


@router.post(
    "/{leave_id}/cancel", response=ok(LeaveOut, write=True), summary="Withdraw a request still waiting"
)
def cancel(request: HttpRequest, leave_id: ObjectId) -> dict[str, Any]:
    user = caller(request)
    leave = actions.cancel_leave(user, leave_id)
    return _one(user, leave.pk)
