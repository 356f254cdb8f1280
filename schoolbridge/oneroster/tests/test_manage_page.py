"""The school admin's page for OneRoster integrations: the secret is shown once and stored hashed."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client as HttpClient

from schoolbridge.oneroster.actions import SCOPE_BASE
from schoolbridge.oneroster.models import Client
from schoolbridge.testing.auth import login_verified

pytestmark = pytest.mark.django_db


def login(world: Any, name: str) -> HttpClient:
    http = HttpClient()
    login_verified(http, world.user(name))
    return http


def test_admin_creates_a_client_and_sees_the_secret_once(world: Any) -> None:
    http = login(world, "a_admin")
    url = f"/manage/oneroster/s/{world.a.school.pk}/"
    assert http.get(url).status_code == 200
    response = http.post(url, {"name": "LMS", "scopes": [SCOPE_BASE + "roster.readonly"]})
    assert response.status_code == 200
    client = Client.objects.get(name="LMS")
    assert client.school_id == world.a.school.pk
    secret = response.context["secret"]
    assert secret and secret.encode() in response.content
    assert secret not in client.secret_hash
    again = http.get(url)
    assert secret.encode() not in again.content
    assert client.client_id.encode() in again.content
    bad = http.post(url, {"name": "", "scopes": []})
    assert bad.status_code == 400
    off = http.post(f"{url}{client.pk}/off/")
    assert off.status_code == 302
    client.refresh_from_db()
    assert not client.active


def test_other_schools_and_teachers_get_404(world: Any) -> None:
    assert login(world, "a_admin").get(f"/manage/oneroster/s/{world.b.school.pk}/").status_code == 404
    assert login(world, "a_teacher").get(f"/manage/oneroster/s/{world.a.school.pk}/").status_code == 404


def test_school_export_download(world: Any) -> None:
    response = login(world, "a_admin").get(f"/manage/oneroster/s/{world.a.school.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:  # type: ignore[attr-defined]
        assert "users.csv" in archive.namelist()
        users = archive.read("users.csv").decode()
    assert "B0" not in users  # only school A's students
