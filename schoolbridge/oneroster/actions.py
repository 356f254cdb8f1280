"""Writes of the OneRoster app: integration clients and tokens, the call log, CSV import/export, and
the gradebook PUT/DELETE of the REST binding.

Each action runs in one transaction and writes an audit row. Clients are created by a district
administrator (district-wide) or by whoever manages the school (school-wide); the secret is shown
once and only its hash is stored. REST writes act for a client, not a user: the audit row has no
actor and names the client in its "after" snapshot.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import tempfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import Class, District, School
from schoolbridge.grades.models import Assessment, AssessmentSubject, Score

from . import mapping as m
from .export import write_zip
from .importer import Report, import_zip, parse_result, score_time
from .models import AccessToken, CallLog, Client, SourcedId
from .spec import SCORE_STATUSES, parse_date

SCOPE_BASE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
SCOPES = tuple(
    SCOPE_BASE + s
    for s in (
        "roster.readonly",
        "roster-core.readonly",
        "roster-demographics.readonly",
        "gradebook.readonly",
        "gradebook.createput",
        "gradebook.delete",
    )
)
TOKEN_LIFETIME = datetime.timedelta(hours=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_manager(actor: Any, district: District, school: School | None) -> None:
    scope = get_scope(actor)
    if school is not None:
        if not scope.queryset("school.manage").filter(pk=school.pk).exists():
            raise NotFound
        return
    if not any(g.district_id == district.pk for g in scope.grants_of("district_admin")):
        raise NotFound


@action
def create_client(
    actor: Any, district: District, name: str, scopes: list[str], school: School | None = None
) -> tuple[Client, str]:
    """A new integration client. Returns it and its secret, which is never shown again."""
    _require_manager(actor, district, school)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput({"scopes": [_("Choose one or more OneRoster scopes.")]})
    if not name.strip():
        raise InvalidInput({"name": [_("Enter a name.")]})
    secret = secrets.token_urlsafe(32)
    client = Client.objects.create(
        district=district,
        school=school,
        name=name.strip()[:120],
        client_id=secrets.token_hex(12),
        secret_hash=make_password(secret),
        scopes=sorted(set(scopes)),
        created_by=actor,
    )
    record(
        actor,
        "oneroster.client.create",
        client,
        after=snapshot(client, ["name", "client_id", "scopes", "school"]),
    )
    return client, secret


@action
def deactivate_client(actor: Any, client: Client) -> None:
    _require_manager(actor, client.district, client.school)
    client.active = False
    client.save(update_fields=["active"])
    client.tokens.all().delete()
    record(actor, "oneroster.client.deactivate", client, after={"active": False})


class TokenRefused(Exception):
    def __init__(self, error: str, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def issue_token(client_id: str, secret: str, requested: str | None) -> tuple[str, AccessToken]:
    """OAuth 2.0 client credentials: a bearer token for the requested scopes (default: all granted)."""
    client = Client.objects.filter(client_id=client_id, active=True).first()
    if client is None or not check_password(secret, client.secret_hash):
        raise TokenRefused("invalid_client", 401)
    wanted = requested.split() if requested else list(client.scopes)
    if any(s not in client.scopes for s in wanted):
        raise TokenRefused("invalid_scope", 400)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        AccessToken.objects.filter(client=client, expires_at__lt=timezone.now()).delete()
        row = AccessToken.objects.create(
            district_id=client.district_id,
            client=client,
            token_hash=_token_hash(token),
            scopes=wanted,
            expires_at=timezone.now() + TOKEN_LIFETIME,
        )
    return token, row


def token_for(bearer: str) -> AccessToken | None:
    row = (
        AccessToken.objects.select_related("client__district", "client__school")
        .filter(token_hash=_token_hash(bearer), expires_at__gt=timezone.now(), client__active=True)
        .first()
    )
    return row


def log_call(client: Client | None, method: str, path: str, query: str, status: int) -> None:
    CallLog.objects.create(
        district_id=client.district_id if client else None,
        client=client,
        method=method[:10],
        path=path[:500],
        query=query[:1000],
        status=status,
    )


# --------------------------------------------------------------------------- CSV


def import_oneroster(actor: Any, district: District, source: Any) -> Report:
    """Import a OneRoster CSV zip into the district (district administrators only). One transaction
    for the whole batch and one audit row for it (see importer.Importer)."""
    _require_manager(actor, district, None)
    return import_zip(district, source, actor=actor)


def export_oneroster(actor: Any, district: District, school: School | None = None) -> IO[bytes]:
    """The OneRoster zip of the district (or one school) in a temporary file, rewound; audited. The zip
    is written row chunk by row chunk, so a large district never sits in memory."""
    _require_manager(actor, district, school)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    try:
        counts = write_zip(district, school, out)
        size = out.tell()
        out.seek(0)
        with transaction.atomic():
            record(actor, "oneroster.export", school or district, after={"bytes": size, "rows": counts})
    except BaseException:
        out.close()
        raise
    return out


# --------------------------------------------------------------------------- gradebook PUT / DELETE


@dataclass
class Written:
    sourced_id: str
    created: bool


def _sid_key(client: Client, kind: str, sid: str) -> str | None:
    return (
        SourcedId.objects.filter(district=client.district, kind=kind, sourced_id=sid)
        .values_list("key", flat=True)
        .first()
    )


def _ref(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if isinstance(value, dict) and isinstance(value.get("sourcedId"), str):
        return str(value["sourcedId"])
    raise InvalidInput({name: [f"{name} must be an object with a sourcedId"]})


def _section(client: Client, sid: str) -> tuple[int, int, int]:
    key = _sid_key(client, m.KIND_SECTION, sid)
    if key is None:
        raise InvalidInput({"class": ["class refers to no scheduled class"]})
    klass, subject, term = (int(x) for x in key.split(":"))
    qs = Class.objects.filter(pk=klass, district=client.district)
    if client.school_id:
        qs = qs.filter(school_id=client.school_id)
    if not qs.exists():
        raise InvalidInput({"class": ["class refers to no scheduled class"]})
    return klass, subject, term


def _date(data: dict[str, Any], name: str) -> datetime.date:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput({name: [f"{name} is required"]})
    try:
        return parse_date(value[:10])
    except ValueError:
        raise InvalidInput({name: [f"{name} is not a date"]}) from None


@action
def put_line_item(client: Client, sid: str, data: dict[str, Any]) -> Written:
    """Create or replace a line item: an assessment subject as one scheduled class sits it."""
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput({"title": ["title is required"]})
    klass, subject, term = _section(client, _ref(data, "class"))
    kind = _sid_key(client, m.KIND_CATEGORY, _ref(data, "category"))
    if kind is None:
        raise InvalidInput({"category": ["category refers to no category"]})
    try:
        full = Decimal(str(data.get("resultValueMax")))
    except InvalidOperation:
        raise InvalidInput({"resultValueMax": ["resultValueMax must be a number"]}) from None
    if not full.is_finite() or full <= 0 or full >= 10000:
        raise InvalidInput({"resultValueMax": ["resultValueMax must be above 0"]})
    day = _date(data, "assignDate")
    name = str(data.get("description") or title).strip()[:120]
    home = Class.objects.get(pk=klass)
    existing = _sid_key(client, m.KIND_LINEITEM, sid)
    assessment, _made = Assessment.objects.get_or_create(
        term_id=term,
        grade_id=home.grade_id,
        name=name,
        defaults={"district": client.district, "school_id": home.school_id, "kind": kind, "date": day},
    )
    if (assessment.kind, assessment.date) != (kind, day):
        assessment.kind, assessment.date = kind, day
        assessment.save(update_fields=["kind", "date"])
    subj, _made = AssessmentSubject.objects.get_or_create(
        assessment=assessment,
        subject_id=subject,
        defaults={"district": client.district, "school_id": home.school_id, "full_marks": full},
    )
    if subj.full_marks != full:
        subj.full_marks = full
        subj.save()
    key = f"{subj.pk}:{klass}"
    created = existing is None or _is_deleted(client, sid)
    # The key may already carry another sourcedId (a line item first exported, then PUT anew).
    SourcedId.objects.filter(district=client.district, kind=m.KIND_LINEITEM, sourced_id=sid).exclude(
        key=key
    ).delete()
    SourcedId.objects.update_or_create(
        district=client.district, kind=m.KIND_LINEITEM, key=key, defaults={"sourced_id": sid, "row_hash": ""}
    )
    record(
        None,
        "oneroster.lineitem.put",
        subj,
        after={"client": client.client_id, "sourcedId": sid, **snapshot(subj)},
    )
    return Written(sid, created)


def _is_deleted(client: Client, sid: str) -> bool:
    return SourcedId.objects.filter(
        district=client.district, kind=m.KIND_LINEITEM, sourced_id=sid, row_hash="deleted"
    ).exists()


def _line_item(client: Client, sid: str) -> tuple[AssessmentSubject, int] | None:
    key = _sid_key(client, m.KIND_LINEITEM, sid)
    if key is None or _is_deleted(client, sid):
        return None
    subject_id, klass = (int(x) for x in key.split(":"))
    qs = AssessmentSubject.objects.filter(pk=subject_id, district=client.district)
    if client.school_id:
        qs = qs.filter(school_id=client.school_id)
    subj = qs.first()
    return (subj, klass) if subj else None


@action
def delete_line_item(client: Client, sid: str) -> None:
    """Removes the line item for its class: that class's scores, and the subject of the assessment
    when no other class has scores for it. Its sourcedId is kept, marked deleted, so it stays gone."""
    found = _line_item(client, sid)
    if found is None:
        raise NotFound
    subj, klass = found
    Score.objects.filter(assessment_subject=subj, klass_id=klass).delete()
    before = snapshot(subj)
    SourcedId.objects.filter(district=client.district, kind=m.KIND_LINEITEM, sourced_id=sid).update(
        row_hash="deleted"
    )
    if not Score.objects.filter(assessment_subject=subj).exists():
        assessment = subj.assessment
        subj.delete()
        if not assessment.subjects.exists():
            assessment.delete()
    record(
        None,
        "oneroster.lineitem.delete",
        client,
        before=before,
        after={"client": client.client_id, "sourcedId": sid},
    )


@action
def put_result(client: Client, sid: str, data: dict[str, Any]) -> Written:
    """Create or replace a result (a Score). Every scoreStatus of the spec is accepted; scores above
    resultValueMax (extra credit) are kept as sent."""
    from .queries import Source

    found = _line_item(client, _ref(data, "lineItem"))
    if found is None:
        raise InvalidInput({"lineItem": ["lineItem refers to no line item"]})
    subj, klass = found
    status = data.get("scoreStatus")
    if status not in SCORE_STATUSES:
        raise InvalidInput({"scoreStatus": [f"scoreStatus must be one of {', '.join(SCORE_STATUSES)}"]})
    raw = data.get("score")
    score_text = "" if raw is None else str(raw)
    try:
        marker, value = parse_result(str(status), score_text)
    except ValueError as exc:
        raise InvalidInput({"score": [str(exc)]}) from None
    person = Source(client).person_id(_ref(data, "student"))
    from .queries import student_in_scope

    student = student_in_scope(client, person) if person is not None else None
    if student is None:
        raise InvalidInput({"student": ["student refers to no student"]})
    try:
        when = score_time(str(data.get("scoreDate") or "")[:10])
    except ValueError:
        raise InvalidInput({"scoreDate": ["scoreDate is not a date (YYYY-MM-DD)"]}) from None
    existing = _sid_key(client, m.KIND_RESULT, sid)
    score = Score.objects.filter(pk=int(existing)).first() if existing else None
    created = score is None
    if score is None:
        score = Score.objects.filter(assessment_subject=subj, student=student).first() or Score(
            district=client.district, school_id=student.school_id, assessment_subject=subj, student=student
        )
    before = snapshot(score) if score.pk else None
    score.assessment_subject, score.student, score.klass_id = subj, student, klass
    score.value, score.marker, score.updated_at = value, marker, when
    score.save()
    SourcedId.objects.filter(district=client.district, kind=m.KIND_RESULT, sourced_id=sid).exclude(
        key=str(score.pk)
    ).delete()
    SourcedId.objects.update_or_create(
        district=client.district, kind=m.KIND_RESULT, key=str(score.pk), defaults={"sourced_id": sid}
    )
    record(
        None,
        "oneroster.result.put",
        score,
        before=before,
        after={"client": client.client_id, **snapshot(score)},
    )
    return Written(sid, created)


@action
def delete_result(client: Client, sid: str) -> None:
    key = _sid_key(client, m.KIND_RESULT, sid)
    qs = Score.objects.filter(pk=int(key), district=client.district) if key else Score.objects.none()
    if client.school_id:
        qs = qs.filter(school_id=client.school_id)
    score = qs.first()
    if score is None:
        raise NotFound
    before = snapshot(score)
    score.delete()
    SourcedId.objects.filter(district=client.district, kind=m.KIND_RESULT, sourced_id=sid).delete()
    record(
        None,
        "oneroster.result.delete",
        client,
        before=before,
        after={"client": client.client_id, "sourcedId": sid},
    )
