"""Attendance over the JSON API: read a class's registers of a day, save a register with its exceptions."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from schoolbridge.access.helpers import NotFound, access_class_by_id
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.pagination import MAX_ID
from schoolbridge.api_support.responses import ok
from schoolbridge.core.models import Class

from . import actions, permissions
from .gate_api import router as gate_router
from .models import Mark, Register

router = Router(tags=["attendance"])
router.add_router("/gate", gate_router)

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
StatusName = Literal["present", "absent", "late", "early_leave", "sick", "excused"]


class MarkOut(Schema):
    student_id: int
    name: str
    status: str
    note: str
    source: str
    leave_id: int | None


class RegisterOut(Schema):
    id: int
    class_id: int
    date: datetime.date
    period: int | None
    taken_at: datetime.datetime | None
    taken_by: str | None
    cutoff_at: datetime.datetime
    marks: list[MarkOut]


class RegistersOut(Schema):
    class_id: int
    date: datetime.date
    items: list[RegisterOut]


class DayQuery(Schema):
    date: datetime.date = Field(..., description="The day, YYYY-MM-DD.")


class ExceptionIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID)
    status: StatusName
    note: str = Field("", max_length=200)


class RegisterIn(Schema):
    date: datetime.date
    period: int | None = Field(
        None, ge=1, le=20, description="Only for schools with a register every period."
    )
    exceptions: list[ExceptionIn] = Field(
        default_factory=list,
        max_length=500,
        description="Everyone not listed is present (or excused by leave).",
    )
    reason: str = Field("", max_length=300, description="Required for a correction after the cutoff.")


def _class_for_registers(user: Any, class_id: int) -> Class:
    klass = access_class_by_id(user, class_id, "class.aggregate")
    if not (permissions.may_take(user, klass) or permissions.may_correct(user, klass)):
        raise NotFound
    return klass


def _register_out(register: Register, marks: list[Mark]) -> dict[str, Any]:
    who = register.taken_by
    return {
        "id": register.pk,
        "class_id": register.klass_id,
        "date": register.date,
        "period": register.period,
        "taken_at": register.taken_at,
        "taken_by": (who.get_full_name() or who.get_username()) if who else None,
        "cutoff_at": register.cutoff_at,
        "marks": [
            {
                "student_id": m.student_id,
                "name": m.student.person.full_name,
                "status": m.status,
                "note": m.note,
                "source": m.source,
                "leave_id": m.leave_id,
            }
            for m in marks
        ],
    }


def _registers(klass: Class, day: datetime.date) -> list[dict[str, Any]]:
    registers = list(
        Register.objects.filter(klass=klass, date=day).select_related("taken_by").order_by("period", "pk")
    )
    by_register: dict[int, list[Mark]] = {r.pk: [] for r in registers}
    for m in (
        Mark.objects.filter(register__in=registers)
        .select_related("student__person")
        .order_by("student__person__family_name", "student__person__given_name", "student_id")
    ):
        by_register[m.register_id].append(m)
    return [_register_out(r, by_register[r.pk]) for r in registers]


@router.get(
    "/classes/{class_id}/registers",
    response=ok(RegistersOut),
    summary="A class's registers and marks on a day (its teachers, head teacher, school administrators)",
)
def get_registers(request: HttpRequest, class_id: ObjectId, q: Query[DayQuery]) -> dict[str, Any]:
    klass = _class_for_registers(caller(request), class_id)
    return {"class_id": klass.pk, "date": q.date, "items": _registers(klass, q.date)}


@router.post(
    "/classes/{class_id}/registers",
    response=ok(RegisterOut, write=True),
    summary="Save a register: send only the exceptions",
    description="Everyone in the class on that day is present unless listed; a student on approved leave is "
    "excused. After the cutoff only the head teacher or a school administrator may save, with a `reason` "
    "(403 `forbidden` for others; 422 with `fields.reason` when missing). Unknown students answer 422 with "
    "`fields.exceptions.<student_id>`.",
)
def post_register(request: HttpRequest, class_id: ObjectId, payload: RegisterIn) -> dict[str, Any]:
    user = caller(request)
    klass = _class_for_registers(user, class_id)
    exceptions = {e.student_id: (e.status, e.note) for e in payload.exceptions}
    register = actions.take_register(
        user, klass, payload.date, payload.period, exceptions, reason=payload.reason
    )
    register = Register.objects.select_related("taken_by").get(pk=register.pk)
    marks = list(
        register.marks.select_related("student__person").order_by(
            "student__person__family_name", "student__person__given_name", "student_id"
        )
    )
    return _register_out(register, marks)
