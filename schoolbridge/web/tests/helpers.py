"""Helpers for the portal tests."""

from __future__ import annotations

from typing import Any

from django.test import Client


def verified_client(user: Any, lang: str = "en") -> Client:
    """A client logged in as user, with a confirmed TOTP device already verified in the session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = english_client(user, lang)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def english_client(user: Any = None, lang: str = "en") -> Client:
    client = Client()
    client.cookies["sb_lang"] = lang
    if user is not None:
        client.force_login(user)
    return client
