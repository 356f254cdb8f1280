"""Account actions: API tokens, guardian onboarding, password reset by SMS. Every write is audited."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from schoolbridge.audit.log import record, snapshot

from .models import ApiToken, hash_token

TOKEN_PREFIX_LENGTH = 8
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenNotFound(LookupError):
    """No such token for this user (or it belongs to someone else)."""


def new_raw_token() -> str:
    return "sb_" + secrets.token_urlsafe(32)


def create_api_token(user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for user. Returns (token, raw key); the raw key is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise ValueError("A token needs a name.")
    raw = new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=raw[:TOKEN_PREFIX_LENGTH], key_hash=hash_token(raw)
        )
        record(user, "accounts.api_token.create", token, None, snapshot(token))
    return token, raw


def revoke_api_token(user: Any, token_id: Any) -> ApiToken:
    """Revoke one of user's own tokens. Someone else's token, or no token, is the same TokenNotFound."""
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise TokenNotFound from None
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=pk, user=user).first()
        if token is None:
            raise TokenNotFound
        if token.revoked_at is None:
            before = snapshot(token)
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record(user, "accounts.api_token.revoke", token, before, snapshot(token))
    return token


def authenticate_token(raw: str | None) -> Any:
    """The active user owning the (unrevoked) raw token, or None. Updates last_used_at at most once a minute."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token.user
