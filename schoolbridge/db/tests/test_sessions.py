"""The session engine's fixed-SQL read (schoolbridge.db.sessions) finds what Django's engine finds."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from schoolbridge.db.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _saved(**data: object) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    assert store.session_key
    return store.session_key


def test_a_saved_session_loads() -> None:
    key = _saved(answer=42, name="李")
    store = SessionStore(key)
    assert store["answer"] == 42
    assert store["name"] == "李"
    assert store.session_key == key


def test_an_expired_session_is_empty_and_gets_a_new_key() -> None:
    key = _saved(answer=42)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    store = SessionStore(key)
    assert dict(store.items()) == {}
    assert store.session_key is None


def test_a_flushed_session_no_longer_loads() -> None:
    key = _saved(answer=42)
    SessionStore(key).flush()
    assert not Session.objects.filter(session_key=key).exists()
    assert dict(SessionStore(key).items()) == {}


def test_an_unknown_key_is_empty() -> None:
    assert dict(SessionStore("x" * 32).items()) == {}
