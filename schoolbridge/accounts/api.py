"""The caller over the JSON API: who they are and every grant they hold."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from schoolbridge.access.scope import get_scope
from schoolbridge.api_support.auth import caller
from schoolbridge.api_support.responses import ok

from .models import RoleGrant

router = Router(tags=["me"])

ROLE_LABELS: dict[str, Any] = {
    **{value: label for value, label in RoleGrant.Role.choices},
    "head_teacher": _("head teacher"),
    "subject_teacher": _("subject teacher"),
    "guardian": _("guardian"),
    "student": _("student"),
}


class GrantOut(Schema):
    key: str
    role: str
    role_label: str
    label: str
    home_kind: str
    district_id: int
    school_id: int | None
    grade_id: int | None
    class_id: int | None
    subject_id: int | None
    student_id: int | None
    include_records: bool


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    phone: str | None
    email: str
    language: str
    grants: list[GrantOut]


@router.get("/me", response=ok(MeOut), summary="The caller and every grant they hold")
def me(request: HttpRequest) -> dict[str, Any]:
    user = caller(request)
    grants = [
        {
            "key": g.key,
            "role": g.role,
            "role_label": str(ROLE_LABELS.get(g.role, g.role)),
            "label": g.label,
            "home_kind": g.home_kind,
            "district_id": g.district_id,
            "school_id": g.school_id,
            "grade_id": g.grade_id,
            "class_id": g.class_id,
            "subject_id": g.subject_id,
            "student_id": g.student_id,
            "include_records": g.include_records,
        }
        for g in get_scope(user).grants
    ]
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": str(user),
        "phone": user.phone,
        "email": user.email,
        "language": user.language,
        "grants": grants,
    }
