"""Notice pages through the test client: compose, recipient view, progress, attachments, templates, policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from schoolbridge.notices import actions
from schoolbridge.notices.models import Notice, NoticeTemplate, Receipt, ReminderPolicy
from schoolbridge.testing.world import World
from schoolbridge.web.tests.helpers import verified_client

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(world: World, username: str) -> Client:
    if username in ("a_admin", "a_principal"):
        return verified_client(world.user(username))
    c = Client()
    c.force_login(world.user(username))
    return c


def _post_compose(c: Client, world: World, **extra: Any) -> Any:
    data = {
        "school": world.a.school.pk,
        "title": "Parents' evening",
        "body": "Thursday 7pm. <script>alert(1)</script>\nSee https://example.org/plan",
        "audience": [f"class:{world.a.g7c1.pk}"],
        "priority": "normal",
        "confirmation_required": "on",
        "idempotency_key": "tap-1",
    }
    data.update(extra)
    return c.post("/notices/new/", data)


def test_compose_offers_only_the_senders_reach(world: World) -> None:
    page = _client(world, "a_head").get("/notices/new/").content.decode()
    assert f'value="class:{world.a.g7c1.pk}"' in page
    assert f'value="class:{world.a.g7c2.pk}"' not in page and "school:" not in page
    assert f'value="guardians:{world.a.students["g7c1"][0].pk}"' in page
    admin_page = _client(world, "a_admin").get("/notices/new/").content.decode()
    assert (
        f'value="school:{world.a.school.pk}"' in admin_page
        and f'value="staff:{world.a.school.pk}"' in admin_page
    )
    assert _client(world, "a_parent").get("/notices/new/").status_code == 404


def test_compose_sends_once_on_a_double_tap_and_renders_safely(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    c = _client(world, "a_head")
    with django_capture_on_commit_callbacks(execute=True):
        r1 = _post_compose(c, world)
    r2 = _post_compose(c, world)
    assert r1.status_code == 302 and r2.status_code == 302 and r1["Location"] == r2["Location"]
    (notice,) = Notice.objects.all()
    assert Receipt.objects.filter(notice=notice).count() == 2
    page = _client(world, "a_parent").get(f"/notices/{notice.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="https://example.org/plan"' in page
    assert Receipt.objects.get(notice=notice, user=world.user("a_parent")).read_at is not None


def test_compose_errors_are_on_the_fields(world: World) -> None:
    c = _client(world, "a_head")
    r = _post_compose(c, world, audience=[], idempotency_key="x2")
    assert r.status_code == 400 and r.context["form"].errors.get("audience")
    r = _post_compose(c, world, send_at="2001-01-01T08:00", idempotency_key="x3")
    assert r.status_code == 400 and r.context["form"].errors.get("send_at")
    big = SimpleUploadedFile("x.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1))
    r = _post_compose(c, world, attachments=big, idempotency_key="x4")
    assert r.status_code == 400 and r.context["form"].errors.get("attachments")
    r = _post_compose(c, world, audience=[f"class:{world.a.g8c1.pk}"], idempotency_key="x5")
    assert r.status_code == 400
    assert Notice.objects.count() == 0


def test_confirm_with_signature_and_progress_page(world: World) -> None:
    notice = actions.send_notice(
        world.user("a_head"),
        world.a.school.pk,
        title="Trip",
        body="Sign please",
        audience=[f"class:{world.a.g7c1.pk}"],
        confirmation_required=True,
        signature_required=True,
    )
    parent = _client(world, "a_parent")
    r = parent.post(f"/notices/{notice.pk}/confirm/", {"signature": ""})
    assert r.status_code == 400 and r.context["confirm_form"].errors.get("signature")
    r = parent.post(f"/notices/{notice.pk}/confirm/", {"signature": "刘妈妈"})
    assert r.status_code == 302
    assert Receipt.objects.get(notice=notice, user=world.user("a_parent")).signature == "刘妈妈"
    head = _client(world, "a_head")
    page = head.get(f"/notices/{notice.pk}/progress/").content.decode()
    assert 'id="count-confirmed">1<' in page and "1/2" in page
    assert head.get(f"/notices/{notice.pk}/progress/live/").status_code == 200
    # Others see nothing; the recipient cannot see the progress.
    assert _client(world, "a_teacher").get(f"/notices/{notice.pk}/progress/").status_code == 404
    assert parent.get(f"/notices/{notice.pk}/progress/").status_code == 404
    assert _client(world, "b_parent").get(f"/notices/{notice.pk}/").status_code == 404
    assert _client(world, "a_admin").get(f"/notices/{notice.pk}/progress/").status_code == 200


def test_attachments_only_through_the_checked_view(world: World) -> None:
    notice = actions.send_notice(
        world.user("a_head"),
        world.a.school.pk,
        title="Map",
        body="See the map",
        audience=[f"class:{world.a.g7c1.pk}"],
        attachments=[SimpleUploadedFile("map.png", PNG)],
    )
    att = notice.attachments.get()
    ok = _client(world, "a_parent").get(f"/notices/attachments/{att.pk}/")
    assert ok.status_code == 200 and ok.getvalue().startswith(b"\x89PNG")
    assert ok["Content-Security-Policy"] == "sandbox"
    assert _client(world, "b_parent").get(f"/notices/attachments/{att.pk}/").status_code == 404
    actions.withdraw_notice(world.user("a_head"), notice.pk)
    assert _client(world, "a_parent").get(f"/notices/attachments/{att.pk}/").status_code == 404
    assert _client(world, "a_parent").get(f"/notices/{notice.pk}/").status_code == 410


def test_templates_library_and_personal(world: World) -> None:
    head = _client(world, "a_head")
    r = head.post(
        "/notices/templates/",
        {
            "school": world.a.school.pk,
            "name": "Fees",
            "title": "Fees due",
            "body": "Please pay",
            "library": "on",
        },
    )
    assert r.status_code == 302  # the library box is not offered to a teacher: saved as personal
    t = NoticeTemplate.objects.get()
    assert t.owner_id == world.user("a_head").pk
    page = head.get(f"/notices/new/?template={t.pk}").content.decode()
    assert "Fees due" in page
    admin = _client(world, "a_admin")
    admin.post(
        "/notices/templates/",
        {"school": world.a.school.pk, "name": "Closure", "title": "Closed", "body": "Snow", "library": "on"},
    )
    assert NoticeTemplate.objects.get(name="Closure").owner is None
    assert "Closure" in head.get("/notices/templates/").content.decode()
    assert _client(world, "a_teacher").post(f"/notices/templates/{t.pk}/delete/").status_code == 404
    assert head.post(f"/notices/templates/{t.pk}/delete/").status_code == 302


def test_policy_page_for_school_admin_only(world: World) -> None:
    url = f"/notices/policy/{world.a.school.pk}/"
    assert _client(world, "a_head").get(url).status_code == 404
    admin = _client(world, "a_admin")
    assert admin.get(url).status_code == 200
    r = admin.post(url, {"remind_after_hours": 2, "sms_after_hours": "", "escalate_after_hours": 0})
    assert r.status_code == 400 and r.context["form"].errors.get("sms_after_hours")
    r = admin.post(url, {"remind_after_hours": 2, "sms_after_hours": 12, "escalate_after_hours": 0})
    assert r.status_code == 302
    assert ReminderPolicy.objects.get().escalate_after_hours == 0


def test_index_lists_received_and_sent(world: World) -> None:
    notice = actions.send_notice(
        world.user("a_head"),
        world.a.school.pk,
        title="Hello",
        body="x",
        audience=[f"class:{world.a.g7c1.pk}"],
    )
    assert "Hello" in _client(world, "a_parent").get("/notices/").content.decode()
    assert f"/notices/{notice.pk}/progress/" in _client(world, "a_head").get("/notices/").content.decode()
