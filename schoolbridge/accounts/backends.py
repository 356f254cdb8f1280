"""Log in with a username or a mobile phone number."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

# What a phone number typed by a person may contain: digits, a leading +, spaces, dashes, dots, brackets.
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-.()（）]{7,24}$")


def normalize_phone(value: str) -> str:
    """The national digits of a phone number: "+86 139-0000-1111", "0086…", "86 139…" → "13900001111"."""
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def looks_like_phone(value: str) -> bool:
    value = (value or "").strip()
    return bool(_PHONE_LIKE.match(value)) and len(normalize_phone(value).lstrip("+")) >= 7


def canonical_login(value: str | None) -> str:
    """One spelling per account for what was typed in the login box (for lockout counting)."""
    value = (value or "").strip()
    if looks_like_phone(value):
        return normalize_phone(value)
    return value.lower()


def axes_username(request: Any, credentials: dict[str, Any] | None = None) -> str:
    """AXES_USERNAME_CALLABLE: count failures against the account, however the phone was written."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username", "")
    return canonical_login(raw)


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if not username or password is None:
            return None
        User = get_user_model()
        username = username.strip()
        user = None
        if looks_like_phone(username):
            user = User.objects.filter(phone=normalize_phone(username)).first()
        if user is None:
            user = User.objects.filter(username__iexact=username).order_by("id").first()
        if user is None:
            User().set_password(password)  # equalise timing with the found-user path
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
