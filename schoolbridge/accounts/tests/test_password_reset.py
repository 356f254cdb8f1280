import re

import pytest
from django.core import mail
from django.urls import reverse

from schoolbridge.accounts.actions import (
    RateLimited,
    request_password_reset_code,
    reset_password_with_code,
)
from schoolbridge.accounts.models import PasswordResetCode
from schoolbridge.core.errors import InvalidInput
from schoolbridge.notify.sms import read_outbox
from schoolbridge.testing.world import WORLD_PASSWORD

NEW = "Copper-Kettle-2031"
PHONE = "13900970006"  # a_parent


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def last_code() -> str:
    match = re.search(r"\b(\d{6})\b", read_outbox()[-1]["text"])
    assert match is not None
    return match.group(1)


def test_sms_code_resets_password(world, django_capture_on_commit_callbacks):
    parent = world.user("a_parent")
    with django_capture_on_commit_callbacks(execute=True):
        assert request_password_reset_code("+86 139-0097-0006") is True
    sms = read_outbox()[-1]
    assert sms["to"] == PHONE
    code = last_code()
    stored = PasswordResetCode.objects.get(user=parent)
    assert code not in stored.code_hash  # only a keyed hash is stored
    reset_password_with_code(PHONE, code, NEW)
    parent.refresh_from_db()
    assert parent.check_password(NEW)
    with pytest.raises(InvalidInput):  # spent
        reset_password_with_code(PHONE, code, "Another-Pass-99")


def test_unknown_number_sends_nothing_but_says_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert request_password_reset_code("13700000000") is False
    assert read_outbox() == []


def test_rate_limit_per_minute_and_hour(world, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
        with pytest.raises(RateLimited) as exc:
            request_password_reset_code("+86 13900970006")
        assert "wait a minute" in " ".join(exc.value.message_dict["phone"])
        for _ in range(4):
            cache.delete(f"sb:reset-sms:min:{PHONE}")  # a minute passes
            request_password_reset_code(PHONE)
        cache.delete(f"sb:reset-sms:min:{PHONE}")
        with pytest.raises(RateLimited) as exc:
            request_password_reset_code(PHONE)
        assert "try again in an hour" in " ".join(exc.value.message_dict["phone"])
    assert len(read_outbox()) == 5
    # Unknown numbers are limited the same way (no telling which numbers exist).
    request_password_reset_code("13700000000")
    with pytest.raises(RateLimited):
        request_password_reset_code("13700000000")


def test_a_new_code_replaces_the_previous_one(world, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
    first_row = PasswordResetCode.objects.get()
    cache.delete(f"sb:reset-sms:min:{PHONE}")  # a minute passes
    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
    first_row.refresh_from_db()
    assert first_row.used_at is not None  # the earlier code no longer works
    assert PasswordResetCode.objects.filter(used_at__isnull=True).count() == 1
    reset_password_with_code(PHONE, last_code(), NEW)
    parent = world.user("a_parent")
    parent.refresh_from_db()
    assert parent.check_password(NEW)


def test_five_wrong_codes_spend_the_code(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
    code = last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(InvalidInput):
            reset_password_with_code(PHONE, wrong, NEW)
    with pytest.raises(InvalidInput):
        reset_password_with_code(PHONE, code, NEW)
    parent = world.user("a_parent")
    parent.refresh_from_db()
    assert parent.check_password(WORLD_PASSWORD)


def test_expired_code_refused(world, django_capture_on_commit_callbacks):
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
    PasswordResetCode.objects.update(expires_at=timezone.now())
    with pytest.raises(InvalidInput):
        reset_password_with_code(PHONE, last_code(), NEW)


def test_weak_new_password_keeps_the_code(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_password_reset_code(PHONE)
    with pytest.raises(InvalidInput) as exc:
        reset_password_with_code(PHONE, last_code(), "12345678")
    assert "new_password1" in exc.value.message_dict
    reset_password_with_code(PHONE, last_code(), NEW)


def test_sms_reset_pages_and_lockout_lifted(client, world, settings, django_capture_on_commit_callbacks):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": PHONE, "password": "wrong"})
    assert client.post(reverse("login"), {"username": PHONE, "password": WORLD_PASSWORD}).status_code == 429

    page = client.get(reverse("password_reset_sms"))
    assert '<label for="id_phone">' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset_sms"), {"phone": "+86 139 0097 0006"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_sms_confirm")
    confirm = client.get(response["Location"])
    html = confirm.content.decode()
    assert "a text message with a 6-digit code is on its way" in html
    assert 'value="+86 139 0097 0006"' in html  # phone carried over
    bad = client.post(
        reverse("password_reset_sms_confirm"),
        {"phone": PHONE, "code": last_code(), "new_password1": NEW, "new_password2": NEW + "x"},
    )
    assert "The two passwords are not the same." in bad.content.decode()
    done = client.post(
        reverse("password_reset_sms_confirm"),
        {"phone": PHONE, "code": last_code(), "new_password1": NEW, "new_password2": NEW},
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    # The lockout is lifted: the new password works at once.
    assert client.post(reverse("login"), {"username": PHONE, "password": NEW}).status_code == 302


def test_sms_request_page_rate_limit_message(client, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset_sms"), {"phone": PHONE})
        again = client.post(reverse("password_reset_sms"), {"phone": PHONE})
    assert again.status_code == 200
    assert "wait a minute" in again.content.decode()
    bad = client.post(reverse("password_reset_sms"), {"phone": "my phone"})
    assert "Enter a mobile phone number" in bad.content.decode()


def test_email_reset_flow(client, world):
    teacher = world.user("a_teacher")
    teacher.email = "li@example.org"
    teacher.save()
    page = client.get(reverse("password_reset"))
    assert page.status_code == 200
    response = client.post(reverse("password_reset"), {"email": "li@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    match = re.search(r"https?://[^\s]+/accounts/password/reset/[^\s]+/", str(mail.outbox[0].body))
    assert match is not None
    link = match.group(0)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert '<label for="id_new_password1">' in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    teacher.refresh_from_db()
    assert teacher.check_password(NEW)
    # Unknown email: the same page, no mail.
    client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert len(mail.outbox) == 1


def test_email_reset_link_invalid(client, db):
    response = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))
    assert "This link does not work any more" in response.content.decode()


@pytest.mark.redis
def test_rate_limit_with_redis_cache(world, settings, django_capture_on_commit_callbacks):
    import uuid

    from django.core.cache import cache

    from schoolbridge.testing.services import redis_url_or_skip

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url_or_skip(),
            "KEY_PREFIX": f"sbtest-{uuid.uuid4().hex}",
        }
    }
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(5):
                request_password_reset_code(PHONE)
                cache.delete(f"sb:reset-sms:min:{PHONE}")
            with pytest.raises(RateLimited):
                request_password_reset_code(PHONE)
        assert len(read_outbox()) == 5
    finally:
        cache.delete_many([f"sb:reset-sms:min:{PHONE}", f"sb:reset-sms:hour:{PHONE}"])
