"""Writing the audit trail. Called from inside actions, in the action's transaction."""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from typing import Any, overload

from django.conf import settings
from django.db import models

from .models import AuditEvent, SensitiveRead


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


# Fields whose values never go into the audit log in clear. A keyed fingerprint stands in for the value,
# so the log still shows that (and when) they changed without revealing them.
REDACTED_FIELDS = {"password", "national_id", "health_notes", "key_hash", "code"}


def redacted(value: Any) -> str:
    if not value:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"•••{digest[:8]}"


@overload
def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]: ...
@overload
def snapshot(obj: None, fields: Iterable[str] | None = None) -> None: ...
@overload
def snapshot(obj: models.Model | None, fields: Iterable[str] | None = None) -> dict[str, Any] | None: ...


def snapshot(obj: models.Model | None, fields: Iterable[str] | None = None) -> dict[str, Any] | None:
    """The concrete field values of obj (foreign keys as ids), sensitive ones redacted."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = getattr(obj, field.attname)
        if field.name in REDACTED_FIELDS:
            value = redacted(value)
        out[field.name] = _jsonable(value)
    return out


def record(
    actor: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row for a write to obj. Takes the tenant keys from obj itself."""
    school_id = getattr(obj, "school_id", None)
    district_id = getattr(obj, "district_id", None)
    if obj._meta.model_name == "school":
        school_id, district_id = obj.pk, getattr(obj, "district_id", None)
    elif obj._meta.model_name == "district":
        district_id = obj.pk
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        school_id=school_id,
        district_id=district_id,
        before=before,
        after=after,
    )


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    before = before or {}
    after = after or {}
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def record_sensitive_read(actor: Any, student: Any, field: str, via: str = "web") -> None:
    SensitiveRead.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        student=student,
        school_id=student.school_id,
        district_id=student.district_id,
        field=field,
        via=via,
    )
