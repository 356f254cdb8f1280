"""Template context shared by every portal page: the bell, the role switcher.

Values are computed on first use in a template only, so pages that do not show the header (and
anonymous pages) pay no queries for them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from schoolbridge.access.grants import Grant
from schoolbridge.access.scope import get_scope
from schoolbridge.notify.queries import unread_count

from . import queries

UNREAD_ATTR = "_sb_unread_count"


def portal_known_unread(request: HttpRequest, count: int) -> None:
    """Tell the header the user's unread count when the view has already read it (saves a query).
    Kept on this request only."""
    setattr(request, UNREAD_ATTR, count)


class Portal:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user = getattr(request, "user", None)

    @property
    def authenticated(self) -> bool:
        return bool(getattr(self.user, "is_authenticated", False))

    @cached_property
    def unread(self) -> int:
        if not self.authenticated:
            return 0
        known = getattr(self.request, UNREAD_ATTR, None)
        return known if known is not None else unread_count(self.user)

    @cached_property
    def active_grant(self) -> Grant | None:
        return queries.active_grant(self.request) if self.authenticated else None

    @cached_property
    def role_options(self) -> list[queries.RoleOption]:
        if not self.authenticated:
            return []
        return queries.role_options(get_scope(self.user).grants)

    @cached_property
    def active_option_key(self) -> str:
        grant = self.active_grant
        if grant is None:
            return ""
        group = queries.group_of(grant)
        for option in self.role_options:
            if option.group == group:
                return option.key
        return ""

    @property
    def can_switch(self) -> bool:
        return len(self.role_options) > 1


def portal(request: HttpRequest) -> dict[str, Any]:
    return {"portal": Portal(request)}
