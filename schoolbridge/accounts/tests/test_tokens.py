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


def test_tokens_page_create_shows_key_once_and_revoke(client, world, settings):
    from django.urls import reverse

    settings.LANGUAGE_CODE = "en"
    teacher = world.user("a_teacher")
    client.force_login(teacher)
    page = client.get(reverse("tokens"))
    assert page.status_code == 200
    assert '<label for="id_name">' in page.content.decode()
    created = client.post(reverse("tokens"), {"name": "gradebook export"})
    html = created.content.decode()
    token = ApiToken.objects.get(user=teacher)
    raw = html.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith(token.prefix) and hash_token(raw) == token.key_hash
    assert authenticate_token(raw) == teacher
    again = client.get(reverse("tokens")).content.decode()
    assert raw not in again and token.prefix in again and "gradebook export" in again

    # Someone else cannot revoke it (same 404 as a missing token); GET does nothing.
    client.force_login(world.user("a_parent"))
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404
    client.force_login(teacher)
    assert client.get(reverse("token_revoke", args=[token.pk])).status_code == 405
    response = client.post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert authenticate_token(raw) is None


def test_tokens_page_needs_login_and_a_name(client, world, settings):
    from django.urls import reverse

    settings.LANGUAGE_CODE = "en"
    assert client.get(reverse("tokens")).status_code == 302
    client.force_login(world.user("a_teacher"))
    response = client.post(reverse("tokens"), {"name": "   "})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.exists()
