"""The gate terminals' API: POST /api/v1/attendance/gate/events with the device's bearer token.

A device's token is scoped to its school; see attendance.gate for idempotency and the precedence of gate
arrivals over the register.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from pydantic import BaseModel

from schoolbridge.api_support.errors import ApiError
from schoolbridge.api_support.responses import ok

from . import gate
from .models import GateDevice


class DeviceTokenAuth(HttpBearer):
    """`Authorization: Bearer <device token>`; a missing, wrong or revoked token answers 401."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        device = self.authenticate(request, token.strip())
        if device is None:
            raise AuthenticationError()
        return device

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return gate.device_for_token(token)


router = Router(tags=["gate"], auth=DeviceTokenAuth(), throttle=[])


class EventIn(BaseModel):  # a plain pydantic model: 500 of them validate without ninja's per-object hook
    device: str | None = Field(
        None, max_length=80, description="Optional: the device's name or id; must be the token's device."
    )
    event_id: str = Field(
        ..., min_length=1, max_length=64, description="Unique per device; resending is harmless."
    )
    card: str | None = Field(None, max_length=64, description="The card number read (or send student_id).")
    student_id: int | None = Field(
        None, ge=1, le=2**62, description="For face terminals that know the student."
    )
    time: datetime.datetime = Field(
        ..., description="When the passage happened (ISO 8601; local time if naive)."
    )
    direction: Literal["in", "out"]


class BatchIn(Schema):
    events: list[EventIn] = Field(..., max_length=gate.MAX_BATCH)


class BatchOut(Schema):
    received: int
    accepted: int = Field(..., description="New events stored (matched or not).")
    duplicate: int = Field(
        ..., description="Events already stored (or repeated in this batch), counted once."
    )
    unmatched: int = Field(
        ..., description="New events whose card or student is unknown in the device's school."
    )


@router.post(
    "/events",
    response=ok(BatchOut, write=True),
    summary="A gate terminal sends a batch of passages (at most 500)",
    description="Idempotent by (device, event_id). An arrival (`in`) marks the student present, or late after "
    "the school's late time, on the day's register — never changing a mark a teacher saved. Unknown cards and "
    "students of other schools are stored as unmatched for the office. 401 without a valid device token.",
)
def post_events(request: HttpRequest, payload: BatchIn) -> dict[str, Any]:
    device: GateDevice = request.auth  # type: ignore[attr-defined]
    names = {device.name, str(device.pk)}
    bad = {
        f"events.{i}.device": [_("This is not the device the token belongs to.")]
        for i, e in enumerate(payload.events)
        if e.device is not None and e.device not in names
    }
    if bad:
        raise ApiError("validation_error", _("Some fields are not valid."), bad)
    events = [
        gate.IncomingEvent(
            event_id=e.event_id,
            time=e.time,
            direction=e.direction,
            card=e.card or "",
            student_id=e.student_id,
        )
        for e in payload.events
    ]
    result = gate.ingest(device, events)  # InvalidInput answers 422 with the fields
    return {
        "received": result.received,
        "accepted": result.accepted,
        "duplicate": result.duplicate,
        "unmatched": result.unmatched,
    }
