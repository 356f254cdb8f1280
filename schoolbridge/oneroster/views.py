"""The OneRoster 1.2 REST binding (rostering and gradebook) and its OAuth 2.0 token endpoint.

Thin: authenticate the bearer token, check the endpoint's scope, read through queries.Source (scoped
by the client's district / school) or write through actions, and answer in the spec's envelopes —
{"users": [...]}, {"user": {...}} — or its error payload (imsx_StatusInfo). Every call is logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from schoolbridge.access.scope import get_scope
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import School

from . import actions
from .filtering import QueryError, parse_fields, parse_filter, parse_paging
from .jsonshape import ENVELOPES, to_json
from .queries import FILE_OF, AnySegment, Source, client_by_id, client_list, nested

S = actions.SCOPE_BASE
logger = logging.getLogger(__name__)
CORE = {"orgs", "schools", "academicSessions", "terms", "gradingPeriods", "courses", "classes"}
ROSTER = {"users", "students", "teachers", "enrollments"}
GRADEBOOK = {"categories", "lineItems", "results", "scoreScales"}
WRITABLE = {"lineItems": actions.put_line_item, "results": actions.put_result}
DELETABLE = {"lineItems": actions.delete_line_item, "results": actions.delete_result}


def read_scopes(collection: str) -> set[str]:
    if collection in CORE:
        return {S + "roster-core.readonly", S + "roster.readonly"}
    if collection in ROSTER:
        return {S + "roster.readonly"}
    if collection == "demographics":
        return {S + "roster-demographics.readonly"}
    return {S + "gradebook.readonly", S + "gradebook.createput"}


def error(status: int, minor: str, description: str) -> JsonResponse:
    major = "processing" if status == 202 else "failure"
    return JsonResponse(
        {
            "imsx_codeMajor": major,
            "imsx_severity": "error",
            "imsx_description": description,
            "imsx_CodeMinor": {
                "imsx_codeMinorField": [
                    {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
                ]
            },
        },
        status=status,
    )


# --------------------------------------------------------------------------- token endpoint


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    client_id, secret = _basic(request)
    if client_id is None:
        client_id, secret = request.POST.get("client_id"), request.POST.get("client_secret")
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    if not client_id or secret is None:
        response = JsonResponse({"error": "invalid_client"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="oneroster"'
        return response
    try:
        access, row = actions.issue_token(client_id, secret, request.POST.get("scope"))
    except actions.TokenRefused as exc:
        response = JsonResponse({"error": exc.error}, status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="oneroster"'
        actions.log_call(client_by_id(client_id), "POST", request.path, "", exc.status)
        return response
    actions.log_call(row.client, "POST", request.path, "", 200)
    response = JsonResponse(
        {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(actions.TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(row.scopes),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def _basic(request: HttpRequest) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)


# --------------------------------------------------------------------------- the binding


@csrf_exempt
def endpoint(request: HttpRequest, rest: str) -> HttpResponse:
    bearer = request.headers.get("Authorization", "")
    row = actions.token_for(bearer[7:].strip()) if bearer.lower().startswith("bearer ") else None
    client = row.client if row else None
    try:
        if row is None:
            response: HttpResponse = error(401, "unauthorisedrequest", "a valid bearer token is required")
            response["WWW-Authenticate"] = 'Bearer realm="oneroster"'
        else:
            response = _dispatch(request, rest.strip("/").split("/"), set(row.scopes), Source(row.client))
    except QueryError as exc:
        response = error(400, exc.minor, str(exc))
    except NotFound:
        response = error(404, "unknownobject", "no such object")
    except Exception:  # a bug, not bad input: still the spec's payload, and the traceback in the log
        logger.exception("OneRoster %s %s failed", request.method, request.path)
        response = error(500, "internal_server_error", "the request could not be processed")
    actions.log_call(
        client, request.method or "", request.path, request.META.get("QUERY_STRING", ""), response.status_code
    )
    return response


def _dispatch(request: HttpRequest, parts: list[str], scopes: set[str], source: Source) -> HttpResponse:
    method = request.method or "GET"
    collection = parts[0]
    if collection not in FILE_OF or len(parts) > 5 or any(not p for p in parts):
        return error(404, "unknownobject", f"/{'/'.join(parts)} is not an endpoint of this binding")
    if method in ("PUT", "DELETE"):
        return _write(request, method, parts, scopes, source)
    if method != "GET":
        return error(405, "invaliddata", f"{method} is not allowed here")
    child = parts[2] if len(parts) >= 3 else collection
    if child not in FILE_OF:
        return error(404, "unknownobject", f"{child} is not a collection of this binding")
    needed = read_scopes(child) | (read_scopes(collection) if len(parts) >= 3 else set())
    if not read_scopes(child) & scopes or (len(parts) >= 3 and not read_scopes(collection) & scopes):
        return error(
            403,
            "forbidden",
            f"this token's scopes do not cover {child} (needs one of {', '.join(sorted(needed))})",
        )
    base = request.build_absolute_uri(request.path[: request.path.index(parts[0]) - 1])
    modified = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if len(parts) == 1:
        return _collection(request, collection, source, base, modified, None)
    if len(parts) == 2:
        found = source.one(collection, parts[1])
        if found is None or not _kind_matches(collection, found):
            raise NotFound
        singular = ENVELOPES[collection][0]
        obj = to_json(FILE_OF[collection], found, base, modified)
        fields = request.GET.get("fields")
        if fields:
            obj = {k: obj[k] for k in parse_fields(fields, source.fields_of(collection)) if k in obj}
        response = JsonResponse({singular: obj})
        source.save_new_ids()
        return response
    parent = source.one(collection, parts[1])
    if parent is None or not _kind_matches(collection, parent):
        raise NotFound
    extra = parts[3:]
    if extra and collection == "schools" and child == "classes" and source.one("classes", extra[0]) is None:
        raise NotFound
    records = nested(source, collection, parts[1], child, extra)
    if records is None:
        return error(404, "unknownobject", f"/{'/'.join(parts)} is not an endpoint of this binding")
    target = extra[1] if len(extra) == 2 else child
    return _collection(request, target, source, base, modified, records)


def _kind_matches(collection: str, record: dict[str, Any]) -> bool:
    if collection == "schools":
        return record.get("type") == "school"
    if collection == "terms":
        return record.get("type") == "term"
    return True


def _collection(
    request: HttpRequest,
    name: str,
    source: Source,
    base: str,
    modified: str,
    segments: list[AnySegment] | None,
) -> HttpResponse:
    """One page of a collection, read in the database (see queries.Source.page)."""
    limit, offset = parse_paging(request.GET.get("limit"), request.GET.get("offset"))
    flt, sort = request.GET.get("filter"), request.GET.get("sort")
    order = request.GET.get("orderBy", "asc")
    if order not in ("asc", "desc"):
        raise QueryError("invaliddata", "orderBy is asc or desc")
    file = FILE_OF[name]
    known = source.fields_of(name)
    parsed = parse_filter(flt, known) if flt else None
    if sort and sort not in known:
        raise QueryError("invalid_sort_field", f"“{sort}” is not a field of this collection")
    chosen = parse_fields(request.GET["fields"], known) if request.GET.get("fields") else None
    page = source.page(
        segments if segments is not None else source.segments(name),
        file,
        base,
        modified,
        offset,
        limit,
        parsed,
        sort,
        order == "desc",
    )
    objects = page.records
    if chosen:
        objects = [{k: o[k] for k in chosen if k in o} for o in objects]
    response = JsonResponse({ENVELOPES[name][1]: objects})
    source.save_new_ids()
    response["X-Total-Count"] = str(page.total)
    links = _links(request, limit, offset, page.total)
    if links:
        response["Link"] = links
    return response


def _links(request: HttpRequest, limit: int, offset: int, total: int) -> str:
    def url(at: int) -> str:
        params = request.GET.copy()
        params["limit"], params["offset"] = str(limit), str(at)
        return request.build_absolute_uri(request.path) + "?" + urlencode(sorted(params.items()))

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    out = []
    if offset + limit < total:
        out.append(f'<{url(offset + limit)}>; rel="next"')
    if offset > 0:
        out.append(f'<{url(max(0, offset - limit))}>; rel="prev"')
    out.append(f'<{url(0)}>; rel="first"')
    out.append(f'<{url(last)}>; rel="last"')
    return ", ".join(out)


def _write(
    request: HttpRequest, method: str, parts: list[str], scopes: set[str], source: Source
) -> HttpResponse:
    collection = parts[0]
    if len(parts) != 2 or collection not in WRITABLE:
        return error(405, "invaliddata", f"{method} is not allowed on /{'/'.join(parts)}")
    needed = S + ("gradebook.createput" if method == "PUT" else "gradebook.delete")
    if needed not in scopes:
        return error(403, "forbidden", f"this token lacks the scope {needed}")
    sid = parts[1]
    if method == "DELETE":
        DELETABLE[collection](source.client, sid)
        return HttpResponse(status=204)
    singular = ENVELOPES[collection][0]
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invaliddata", "the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get(singular), dict):
        return error(400, "invaliddata", f'the body must be {{"{singular}": {{…}}}}')
    data = body[singular]
    if data.get("sourcedId") not in (None, sid):
        return error(422, "invaliddata", "the body's sourcedId differs from the one in the path")
    try:
        written = WRITABLE[collection](source.client, sid, data)
    except InvalidInput as exc:
        detail = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in exc.message_dict.items())
        return error(422, "invaliddata", detail)
    found = Source(source.client).one(collection, sid)
    modified = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    base = request.build_absolute_uri(request.path[: request.path.index(parts[0]) - 1])
    obj = to_json(FILE_OF[collection], found, base, modified) if found else {"sourcedId": sid}
    return JsonResponse({singular: obj}, status=201 if written.created else 200)


# --------------------------------------------------------------------------- management page


class ClientForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(s, s.removeprefix(S)) for s in actions.SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )


def _managed(request: HttpRequest, school_id: int) -> School:
    school = get_scope(request.user).queryset("school.manage").filter(pk=school_id).first()
    if school is None:
        raise NotFound
    return school


@login_required
def clients(request: HttpRequest, school_id: int) -> HttpResponse:
    """The school's integration clients; creating one shows its secret once, on this response only."""
    school = _managed(request, school_id)
    form = ClientForm(request.POST or None)
    created, secret = None, ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, secret = actions.create_client(
                    request.user,
                    school.district,
                    form.cleaned_data["name"],
                    form.cleaned_data["scopes"],
                    school=school,
                )
            except InvalidInput as exc:
                for field, errors in exc.message_dict.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
        if form.errors:
            status = 400
        else:
            form = ClientForm()
    rows = list(client_list(school))
    for c in rows:
        c.short_scopes = [s.removeprefix(S) for s in c.scopes]  # type: ignore[attr-defined]
    context = {
        "school": school,
        "section": "oneroster",
        "clients": rows,
        "form": form,
        "created": created,
        "secret": secret,
        "base": request.build_absolute_uri("/ims/oneroster/v1p2"),
    }
    response = render(request, "oneroster/clients.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def deactivate(request: HttpRequest, school_id: int, pk: int) -> HttpResponse:
    school = _managed(request, school_id)
    client = client_list(school).filter(pk=pk).first()
    if client is None:
        raise NotFound
    actions.deactivate_client(request.user, client)
    messages.success(request, _("The integration was switched off."))
    return redirect("oneroster_manage:clients", school_id=school.pk)


@login_required
def export(request: HttpRequest, school_id: int) -> FileResponse:
    school = _managed(request, school_id)
    data = actions.export_oneroster(request.user, school.district, school)
    return FileResponse(
        data, as_attachment=True, filename=f"oneroster-{school.code}.zip", content_type="application/zip"
    )
