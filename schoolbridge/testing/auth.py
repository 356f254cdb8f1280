"""Logging a user in for a Django test client, past the admin two-factor check."""

from __future__ import annotations

from typing import Any

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def login_verified(client: Any, user: Any) -> TOTPDevice:
    """Log `user` in on `client` with a confirmed TOTP device, as if they had passed 2FA.

    Admin roles are otherwise redirected to the two-factor page by AdminTwoFactorMiddleware.
    Works for any user (non-admins simply carry a verified session).
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
