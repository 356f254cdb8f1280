"""The JSON API root: django-ninja under /api/v1, OpenAPI at /api/v1/openapi.json.

Authentication: `Authorization: Bearer <key>` or the browser session (CSRF token required for
unsafe methods). Errors: always `{"error": {"code", "message", "fields"}}`. Lists: limit/offset
pagination answering `{"count", "limit", "offset", "items"}`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router

from schoolbridge.access.helpers import NotFound
from schoolbridge.accounts.api import router as accounts_router
from schoolbridge.api_support.auth import API_AUTH
from schoolbridge.api_support.errors import error_payload, install_error_handlers
from schoolbridge.api_support.throttle import ApiRateThrottle
from schoolbridge.attendance.api import router as attendance_router
from schoolbridge.conversations.api import router as conversations_router
from schoolbridge.core.api import router as core_router
from schoolbridge.core.errors import Refused
from schoolbridge.grades.api import router as grades_router
from schoolbridge.leave.api import router as leave_router
from schoolbridge.notify.api import router as notify_router
from schoolbridge.timetable.api import router as timetable_router

DESCRIPTION = """
SchoolBridge's JSON API. Every answer only ever contains what the caller may see.

**Authentication.** Send `Authorization: Bearer <key>` with a key created on your account page, or
call from a logged-in browser session (send the `X-CSRFToken` header on POST). Without either: 401.

**Errors** always have one shape:
`{"error": {"code": "...", "message": "...", "fields": {"field": ["message"]}}}`.
`code` is stable — `unauthorized`, `forbidden`, `csrf_failed`, `two_factor_required`, `not_found`,
`validation_error`, `conflict`, `bad_request`, `rate_limited` — and `message` is in the request's
language (`Accept-Language`: zh-Hans or en). An object that does not exist and one you may not see
give the same 404.

**Pagination.** Lists take `limit` (1–500, default 50) and `offset` (default 0) and answer
`{"count": total, "limit", "offset", "items": [...]}`. `GET /notifications` also takes `since_id`, a
cursor for polling: pass the largest id you have seen to get only newer ones.

**Rate limit.** Where the server sets one (`SCHOOLBRIDGE_API_RATE`, e.g. `600/m`), each caller is
counted per window; over it the answer is 429 `rate_limited` with a `Retry-After` header.
"""

api = NinjaAPI(
    title="SchoolBridge API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=API_AUTH,
    throttle=[ApiRateThrottle()],
)
install_error_handlers(api)


@api.exception_handler(Refused)
def _refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    return api.create_response(request, error_payload("forbidden", str(exc.message)), status=403)


api.add_router("", accounts_router)
api.add_router("", core_router)
api.add_router("/notifications", notify_router)
api.add_router("/leave", leave_router)
api.add_router("/attendance", attendance_router)
api.add_router("/grades", grades_router)
api.add_router("/messages", conversations_router)
api.add_router("/timetable", timetable_router)

# Anything else under /api/v1/ is a JSON 404, not the site's HTML page.
_fallback = Router(auth=None)


@_fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False, auth=None
)
def _no_such_endpoint(request: HttpRequest, rest: str) -> None:
    raise NotFound


api.add_router("", _fallback)
