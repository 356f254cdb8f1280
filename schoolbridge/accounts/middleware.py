"""Admin roles must pass TOTP two-factor before they reach any page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from schoolbridge.access.scope import get_scope

ADMIN_ROLES = ("district_admin", "school_admin", "principal")
# Pages an unverified admin may still reach: signing in and out, two-factor itself, password reset.
EXEMPT_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/password/",
    "/accounts/register/",
    "/static/",
    "/i18n/",
    "/healthz",
    "/api/",
)


def needs_two_factor(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return get_scope(user).has_role(*ADMIN_ROLES)


class AdminTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()  # type: ignore[attr-defined]
            and needs_two_factor(user)
        ):
            url = reverse("two_factor")
            if request.method == "GET":
                url += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(url)
        return self.get_response(request)
