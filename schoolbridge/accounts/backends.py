"""Log in with a username or a mobile phone number."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


def normalize_phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if not username or password is None:
            return None
        User = get_user_model()
        username = username.strip()
        phone = normalize_phone(username)
        lookup = Q(username__iexact=username)
        if phone and len(phone) >= 7:
            lookup |= Q(phone=phone)
        user = User.objects.filter(lookup).order_by("id").first()
        if user is None:
            User().set_password(password)  # equalise timing with the found-user path
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
