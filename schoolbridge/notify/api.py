"""The caller's own inbox over the JSON API."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.pagination import MAX_ID, PageMeta, PageParams, paginate
from schoolbridge.api_support.responses import ok

from . import actions, queries
from .models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    school_id: int | None
    created_at: datetime.datetime
    read_at: datetime.datetime | None
    unread: bool


class NotificationPage(PageMeta):
    items: list[NotificationOut]
    unread_count: int


class NotificationFilter(Schema):
    unread: bool = Field(False, description="Only unread notifications (`unread=1`).")
    since_id: int | None = Field(
        None,
        ge=0,
        le=MAX_ID,
        description="Cursor for polling: only notifications with an id greater than this. "
        "Keep the largest id you have seen and pass it next time.",
    )


class ReadIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        ..., min_length=1, max_length=500, description="Ids of your notifications."
    )


class ReadOut(Schema):
    marked: int
    unread_count: int


def _out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "school_id": n.school_id,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "unread": n.read_at is None,
    }


@router.get("", response=ok(NotificationPage), summary="Your notifications, newest first")
def list_notifications(
    request: HttpRequest, filters: Query[NotificationFilter], page: Query[PageParams]
) -> dict[str, Any]:
    user = caller(request)
    qs = Notification.objects.filter(user=user).order_by("-id")
    if filters.unread:
        qs = qs.filter(read_at__isnull=True)
    if filters.since_id is not None:
        qs = qs.filter(pk__gt=filters.since_id)
    result = paginate(qs, page)
    result["items"] = [_out(n) for n in result["items"]]
    result["unread_count"] = queries.unread_count(user)
    return result


@router.post("/read", response=ok(ReadOut, write=True), summary="Mark some of your notifications read")
def read_some(request: HttpRequest, payload: ReadIn) -> dict[str, Any]:
    user = caller(request)
    marked = actions.mark_read(user, payload.ids)
    return {"marked": marked, "unread_count": queries.unread_count(user)}


@router.post("/read-all", response=ok(ReadOut, write=True), summary="Mark all your notifications read")
def read_all(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    marked = actions.mark_all_read(user)
    return {"marked": marked, "unread_count": queries.unread_count(user)}
