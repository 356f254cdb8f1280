"""Encrypted model fields for sensitive personal data (national ID, health notes).

Values are encrypted with Fernet (AES-128-CBC + HMAC) using SCHOOLBRIDGE_FIELD_KEYS; the first key
encrypts, all keys decrypt, so keys can be rotated by prepending a new one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in settings.SCHOOLBRIDGE_FIELD_KEYS])


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # wrong key: never return ciphertext as if it were data
        raise ValueError("encrypted field cannot be decrypted with the configured keys") from exc


class EncryptedTextField(models.TextField):
    """A text field stored encrypted. Not searchable, not orderable; empty stays empty."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt_text(str(value))
