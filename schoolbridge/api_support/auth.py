"""Who is calling: a bearer token (integrations, apps) or the browser session (the web UI's own scripts).

* `Authorization: Bearer <key>` — a key from the account's API tokens page. A present but wrong,
  revoked or inactive key is refused outright (401); it never falls back to the session.
* The session cookie — the logged-in browser. Unsafe methods need the CSRF token (`X-CSRFToken`
  header), exactly as for forms. Accounts that must use two-factor authentication need a verified
  session, as for every page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from schoolbridge.accounts.actions import authenticate_token
from schoolbridge.accounts.middleware import needs_two_factor

from .errors import ApiError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = self.authenticate(request, token.strip())
        if user is None:
            raise AuthenticationError()
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return authenticate_token(token)


class SessionCsrfAuth(APIKeyCookie):
    """The Django session, with CSRF enforced on unsafe methods and admin two-factor honoured."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # No CSRF check unless there is a session user to protect: an anonymous call is a 401.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        unsafe = request.method not in SAFE_METHODS and not getattr(request, "_ninja_csrf_exempt", False)
        if unsafe and check_csrf(request) is not None:
            raise ApiError(
                "csrf_failed",
                _("The CSRF token is missing or wrong. Reload the page and try again."),
                status=403,
            )
        verified = getattr(user, "is_verified", None)
        if needs_two_factor(user) and not (callable(verified) and verified()):
            raise ApiError(
                "two_factor_required",
                _("Confirm your two-factor code in the browser before using the API."),
                status=403,
            )
        return user


bearer_auth = BearerTokenAuth()
session_auth = SessionCsrfAuth()
API_AUTH = [bearer_auth, session_auth]


def caller(request: HttpRequest) -> Any:
    """The authenticated user of an API request (set by whichever scheme accepted it)."""
    return request.auth  # type: ignore[attr-defined]
