"""API authentication: bearer tokens and the browser session (with CSRF and admin two-factor)."""

from __future__ import annotations

import pytest
from django.test import Client

from schoolbridge.accounts.actions import create_api_token, revoke_api_token
from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.testing.auth import login_verified

ENDPOINTS = ["/me", "/schools", "/classes", "/students", "/notifications"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_credentials_is_401_json(client, world, path):
    r = ApiClient(client).get(path)
    assert r.status_code == 401
    assert r.data["error"]["code"] == "unauthorized"
    assert r.data["error"]["fields"] == {}


def test_bearer_token_authenticates(client, world):
    user = world.user("a_head")
    r = ApiClient(client, token_for(user)).get("/me")
    assert r.status_code == 200
    assert r.data["username"] == "a_head"


@pytest.mark.parametrize("header", ["Bearer sb_not-a-real-key", "Bearer ", "bearer sb_x"])
def test_bad_token_is_401_even_with_a_session(client, world, header):
    client.force_login(world.user("a_teacher"))
    r = ApiClient(client).get("/me", Authorization=header)
    assert r.status_code == 401
    assert r.data["error"]["code"] == "unauthorized"


def test_revoked_token_is_refused(client, world):
    user = world.user("a_head")
    token, raw = create_api_token(user, "phone")
    api = ApiClient(client, raw)
    assert api.get("/me").status_code == 200
    revoke_api_token(user, token.pk)
    assert api.get("/me").status_code == 401


def test_inactive_user_token_is_refused(client, world):
    user = world.user("a_head")
    raw = token_for(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert ApiClient(client, raw).get("/me").status_code == 401


def test_session_authenticates_reads(client, world):
    client.force_login(world.user("a_teacher"))
    r = ApiClient(client).get("/me")
    assert r.status_code == 200
    assert r.data["username"] == "a_teacher"


def test_session_post_needs_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.user("a_teacher"))
    api = ApiClient(browser)
    r = api.post("/notifications/read-all")
    assert r.status_code == 403
    assert r.data["error"]["code"] == "csrf_failed"

    # With the cookie and the matching header, as the site's own scripts send them: accepted.
    secret = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"  # 32 characters of the CSRF alphabet
    browser.cookies["csrftoken"] = secret
    r = api.post("/notifications/read-all", **{"X-CSRFToken": "W" + secret[1:]})
    assert r.status_code == 403
    r = api.post("/notifications/read-all", **{"X-CSRFToken": secret})
    assert r.status_code == 200, r.data


def test_token_post_needs_no_csrf(world):
    browser = Client(enforce_csrf_checks=True)
    r = ApiClient(browser, token_for(world.user("a_teacher"))).post("/notifications/read-all")
    assert r.status_code == 200


def test_anonymous_post_is_401_not_csrf(world):
    r = ApiClient(Client(enforce_csrf_checks=True)).post("/notifications/read-all")
    assert r.status_code == 401


def test_admin_session_needs_two_factor(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    r = ApiClient(client).get("/schools")
    assert r.status_code == 403
    assert r.data["error"]["code"] == "two_factor_required"
    login_verified(client, admin)
    r = ApiClient(client).get("/schools")
    assert r.status_code == 200
    assert [s["name"] for s in r.data["items"]] == [world.a.school.name]


def test_openapi_declares_both_schemes(client, world):
    doc = client.get("/api/v1/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    kinds = {(s["type"], s.get("scheme") or s.get("in")) for s in schemes.values()}
    assert ("http", "bearer") in kinds
    assert ("apiKey", "cookie") in kinds
