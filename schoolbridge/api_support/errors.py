"""One error shape for every failure of the JSON API.

    {"error": {"code": "not_found", "message": "...", "fields": {"student_number": ["..."]}}}

`code` is stable and meant for programs; `message` is for people, in the request's language;
`fields` maps a field name to its messages (empty when the error is not about particular fields).
Missing objects and objects outside the caller's scope give byte-identical 404 bodies.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

# The stable error codes. Clients may rely on these never changing meaning.
CODES = {
    "bad_request": 400,
    "unauthorized": 401,
    "two_factor_required": 403,
    "csrf_failed": 403,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "validation_error": 422,
    "rate_limited": 429,
    "server_error": 500,
}


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """Raise from an endpoint to answer with the standard error shape."""

    def __init__(self, code: str, message: str, fields: dict[str, list[str]] | None = None, status: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.status = status or CODES.get(code, 400)


def error_payload(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def not_found_message() -> str:
    return _("No such object, or you may not see it.")


# --- validation messages: the same msgids as Django's forms, so they arrive already translated.


def _limit(ctx: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in ctx:
            return ctx[name]
    return ""


def _message_for(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return _("Enter a whole number.")
    if kind in {"float_parsing", "float_type", "decimal_parsing"}:
        return _("Enter a number.")
    if kind.startswith("date_") or kind == "date_type":
        return _("Enter a valid date.")
    if kind.startswith("datetime_"):
        return _("Enter a valid date/time.")
    if kind in {"less_than_equal", "less_than"}:
        return _("Ensure this value is less than or equal to %(limit_value)s.") % {
            "limit_value": _limit(ctx, "le", "lt")
        }
    if kind in {"greater_than_equal", "greater_than"}:
        return _("Ensure this value is greater than or equal to %(limit_value)s.") % {
            "limit_value": _limit(ctx, "ge", "gt")
        }
    if kind == "too_long":
        return _("Ensure this list has at most %(limit_value)s items.") % {
            "limit_value": ctx.get("max_length", "")
        }
    if kind == "string_too_long":
        return _("Ensure this value has at most %(limit_value)s characters.") % {
            "limit_value": ctx.get("max_length", "")
        }
    if kind in {"string_too_short", "too_short"} and int(ctx.get("min_length", 0)) <= 1:
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Ensure this value has at least %(limit_value)s characters.") % {
            "limit_value": ctx.get("min_length", "")
        }
    if kind in {"enum", "literal_error"}:
        return _("Select a valid choice. That choice is not one of the available choices.")
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return _("Enter a valid email address.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    return _("Enter a valid value.")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """("query", "limit") -> "limit"; ("body", "payload", "student_number") -> "student_number"."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    elif parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else []
    return ".".join(parts) or "__all__"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        name = _field_name(err.get("loc") or ())
        message = _message_for(err)
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def django_validation_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("__all__" if name == "__all__" else name): [str(m) for e in errs for m in e.messages]
            for name, errs in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}


def generic_message(code: str) -> str:
    messages = {
        "bad_request": _("The request could not be understood."),
        "unauthorized": _("Authentication required: log in or send a valid API token."),
        "forbidden": _("You may not do this."),
        "not_found": not_found_message(),
        "method_not_allowed": _("This method is not allowed here."),
        "conflict": _("This conflicts with existing data."),
        "validation_error": _("Some fields are not valid."),
        "rate_limited": _("Too many requests. Please wait and try again."),
    }
    return messages.get(code, _("Something went wrong on the server."))


# --- handlers


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers with ones that answer in the standard shape."""

    def respond(
        request: HttpRequest, status: int, code: str, message: str, fields: Any = None
    ) -> HttpResponse:
        return api.create_response(request, error_payload(code, message, fields), status=status)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(
            request, 422, "validation_error", _("Some fields are not valid."), validation_fields(exc.errors)
        )

    def on_django_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(
            request, 422, "validation_error", _("Some fields are not valid."), django_validation_fields(exc)
        )

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        # Deliberately says nothing about why: missing and out-of-scope look the same.
        return respond(request, 404, "not_found", not_found_message())

    def on_api_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, exc.status, exc.code, exc.message, exc.fields)

    def on_permission_denied(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 403, "forbidden", _("You may not do this."))

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc, AuthenticationError):
            return respond(
                request, 401, "unauthorized", _("Authentication required: log in or send a valid API token.")
            )
        if isinstance(exc, Throttled):
            response = respond(
                request, 429, "rate_limited", _("Too many requests. Please wait and try again.")
            )
            if exc.wait is not None:
                response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
            return response
        if isinstance(exc, AuthorizationError):
            return respond(request, 403, "forbidden", _("You may not do this."))
        status = exc.status_code
        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            422: "validation_error",
            429: "rate_limited",
        }.get(status, "bad_request" if status < 500 else "server_error")
        if code == "not_found":
            return on_not_found(request, exc)
        if str(exc.message).startswith("Cannot parse request body"):
            return respond(request, 400, "bad_request", _("The request body is not valid JSON."))
        return respond(request, status, code, generic_message(code))

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(DjangoValidationError, on_django_validation)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(HttpError, on_http_error)
