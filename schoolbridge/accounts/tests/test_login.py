import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from schoolbridge.accounts.backends import canonical_login, looks_like_phone, normalize_phone
from schoolbridge.testing.world import WORLD_PASSWORD

WRONG = "Wrong phone/username or password"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def post_login(client, username, password=WORLD_PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_login_page_renders_with_labels(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html
    assert reverse("password_reset_sms") in html


def test_login_page_is_chinese_by_default(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = client.get(reverse("login"))
    assert 'lang="zh-CN"' in response.content.decode()


@pytest.mark.parametrize(
    "typed",
    ["13900970006", "+86 139-0097-0006", "+8613900970006", "0086 139 0097 0006", "86 13900970006", "139 0097 0006"],
)
def test_phone_login_in_any_format(client, world, typed):
    parent = world.user("a_parent")
    assert parent.phone == "13900970006"
    response = post_login(client, typed)
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.session["_auth_user_id"] == str(parent.pk)


def test_username_login_case_insensitive(client, world):
    response = post_login(client, "A_Teacher")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.user("a_teacher").pk)


def test_digits_inside_a_username_are_not_a_phone(world):
    assert not looks_like_phone("user13900970006")
    assert looks_like_phone("(139) 0097-0006")
    assert normalize_phone("+86 (139) 0097 0006") == "13900970006"
    assert canonical_login(" +86 139-0097-0006 ") == canonical_login("13900970006") == "13900970006"
    assert canonical_login("A_Admin") == "a_admin"


@pytest.mark.parametrize("username", ["a_teacher", "no_such_user", "13900000000"])
def test_wrong_login_says_the_same_thing_whoever_it_is(client, world, username):
    response = post_login(client, username, "not-the-password")
    assert response.status_code == 200
    html = response.content.decode()
    assert WRONG in html
    assert "_auth_user_id" not in client.session


def test_inactive_user_gets_the_same_message(client, world):
    user = world.user("a_teacher")
    user.is_active = False
    user.save()
    response = post_login(client, "a_teacher")
    assert WRONG in response.content.decode()


def test_lockout_after_repeated_failures(client, world, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert post_login(client, "a_teacher", "wrong").status_code == 200
    locked = post_login(client, "a_teacher", "wrong")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed log-in attempts" in html
    assert "15 minutes" in html
    assert reverse("password_reset_sms") in html
    # Even the right password is refused while locked out.
    again = post_login(client, "a_teacher")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="a_teacher").exists()
    # Another account from the same address is not affected.
    assert post_login(client, "b_teacher").status_code == 302


def test_lockout_counts_phone_spellings_as_one_account(client, world, settings):
    spellings = ["13900970006", "+86 139-0097-0006", "+8613900970006", "0086 139 0097 0006", "139 0097 0006"]
    assert len(spellings) >= settings.AXES_FAILURE_LIMIT
    responses = [post_login(client, s, "wrong").status_code for s in spellings[: settings.AXES_FAILURE_LIMIT]]
    assert responses[-1] == 429
    assert post_login(client, "86 13900970006").status_code == 429


def test_success_resets_failure_count(client, world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_login(client, "a_teacher", "wrong")
    assert post_login(client, "a_teacher").status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, "a_teacher", "wrong").status_code == 200


def test_logout_is_post_only(client, world):
    client.force_login(world.user("a_parent"))
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_admin_is_sent_to_two_factor_after_login(client, world):
    response = post_login(client, "a_admin", next="/manage/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))
    assert "next=%2Fmanage%2F" in response["Location"]


def test_admin_roles_redirected_to_two_factor_parent_not(client, world):
    for name in ("a_admin", "a_principal", "district_admin"):
        client.force_login(world.user(name))
        response = client.get("/")
        assert response.status_code == 302, name
        assert response["Location"] == reverse("two_factor") + "?next=%2F"
    for name in ("a_parent", "a_teacher", "district_officer"):
        client.force_login(world.user(name))
        assert client.get("/").status_code == 200, name


def test_unverified_admin_cannot_reach_tokens_page(client, world):
    client.force_login(world.user("a_admin"))
    response = client.get(reverse("tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))


def test_verified_admin_reaches_home(client, world):
    from schoolbridge.testing.auth import login_verified

    login_verified(client, world.user("a_admin"))
    assert client.get("/").status_code == 200
