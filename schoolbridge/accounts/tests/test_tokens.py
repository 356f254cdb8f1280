import datetime

import pytest
from django.utils import timezone

from schoolbridge.accounts.actions import (
    TokenNotFound,
    authenticate_token,
    create_api_token,
    revoke_api_token,
)
from schoolbridge.accounts.models import ApiToken, hash_token
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput


def test_create_authenticate_revoke(world):
    user = world.user("a_admin")
    token, raw = create_api_token(user, "  timetable sync ")
    assert token.name == "timetable sync"
    assert token.prefix == raw[:8]
    assert token.key_hash == hash_token(raw)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    assert authenticate_token(raw) == user
    assert authenticate_token("Bearer " + raw) == user
    assert authenticate_token(raw + "x") is None
    assert authenticate_token("") is None
    assert authenticate_token(None) is None
    assert AuditEvent.objects.filter(action="accounts.api_token.create", object_id=str(token.pk)).exists()

    revoke_api_token(user, token.pk)
    assert authenticate_token(raw) is None
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke", object_id=str(token.pk)).exists()


def test_cannot_revoke_someone_elses_token(world):
    token, raw = create_api_token(world.user("a_admin"), "x")
    with pytest.raises(TokenNotFound):
        revoke_api_token(world.user("b_admin"), token.pk)
    with pytest.raises(TokenNotFound):
        revoke_api_token(world.user("b_admin"), "nonsense")
    assert authenticate_token(raw) == world.user("a_admin")


def test_inactive_user_token_refused(world):
    user = world.user("a_teacher")
    _, raw = create_api_token(user, "x")
    user.is_active = False
    user.save()
    assert authenticate_token(raw) is None


def test_empty_name_refused(world):
    with pytest.raises(InvalidInput):
        create_api_token(world.user("a_admin"), "   ")


def test_last_used_updated_at_most_once_a_minute(world):
    token, raw = create_api_token(world.user("a_admin"), "x")
    assert token.last_used_at is None
    authenticate_token(raw)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    authenticate_token(raw)
    token.refresh_from_db()
    assert token.last_used_at == first
    old = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    authenticate_token(raw)
    token.refresh_from_db()
    assert token.last_used_at > old
