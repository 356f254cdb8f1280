import re

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from schoolbridge.audit.models import AuditEvent


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def setup_two_factor(client, user):
    """Walk through the set-up page; returns (device, backup codes as shown)."""
    page = client.get(reverse("two_factor") + "?next=/manage/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("two_factor"), {"token": current_token(device), "next": "/manage/"})
    assert done.status_code == 200, done.content.decode()[:800]
    html = done.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{4}) ([a-z2-7]{4})</li>", html)
    return TOTPDevice.objects.get(pk=device.pk), ["".join(c) for c in codes]


def test_setup_page_shows_qr_and_secret(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    response = client.get(reverse("two_factor"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="qr" role="img"' in html and "<svg" in html.split('class="qr"')[1][:400]
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    assert secret[:4] + " " + secret[4:8] in html
    assert '<label for="id_token">' in html
    # Reloading the page keeps the same secret (the app may already have scanned it).
    client.get(reverse("two_factor"))
    assert TOTPDevice.objects.filter(user=admin).count() == 1


def test_setup_with_real_token_then_verify_next_session(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    assert client.get("/").status_code == 302
    device, codes = setup_two_factor(client, admin)
    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=admin).count() == 10
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="accounts.two_factor.enable", actor=admin).exists()

    # A new session: the verify page, not the set-up page; backup codes never shown again.
    client.logout()
    client.force_login(admin)
    assert client.get("/").status_code == 302
    page = client.get(reverse("two_factor")).content.decode()
    assert 'class="qr"' not in page
    assert codes[0] not in page
    device.last_t = -1  # allow the same time step again (a token is accepted only once)
    device.save()
    response = client.post(reverse("two_factor"), {"token": current_token(device), "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_token_is_refused_with_message(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    client.get(reverse("two_factor"))
    device = TOTPDevice.objects.get(user=admin)
    wrong = f"{(int(current_token(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor"), {"token": wrong})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert DEVICE_ID_SESSION_KEY not in client.session
    # Throttled after a failure: an immediate retry, even right, is told to wait.
    response = client.post(reverse("two_factor"), {"token": current_token(device)})
    assert "Too many wrong codes" in response.content.decode()


def test_backup_code_works_once(client, world):
    admin = world.user("b_admin")
    client.force_login(admin)
    _device, codes = setup_two_factor(client, admin)
    client.logout()
    client.force_login(admin)
    spaced = codes[0][:4].upper() + " " + codes[0][4:].upper()
    response = client.post(reverse("two_factor"), {"token": spaced, "next": "/"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert StaticToken.objects.filter(device__user=admin).count() == 9
    client.logout()
    client.force_login(admin)
    response = client.post(reverse("two_factor"), {"token": codes[0]})
    assert response.status_code == 200
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_next_must_be_local(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    client.get(reverse("two_factor"))
    device = TOTPDevice.objects.get(user=admin)
    response = client.post(reverse("two_factor"), {"token": current_token(device), "next": "https://evil.example/"})
    assert "https://evil.example/" not in response.content.decode()


def test_parent_is_never_forced(client, world):
    client.force_login(world.user("a_parent"))
    assert client.get("/").status_code == 200


def test_login_required(client, db):
    response = client.get(reverse("two_factor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
