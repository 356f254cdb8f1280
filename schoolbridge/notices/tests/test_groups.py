"""Custom groups as a notice audience: members within the owner's reach, resolved when the notice is sent."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import NotFound
from schoolbridge.notices import actions
from schoolbridge.notices.models import Notice, NoticeGroup, Receipt, ReceiptStudent, Status
from schoolbridge.notices.permissions import visible_groups
from schoolbridge.testing.world import World

pytestmark = pytest.mark.django_db


def _send(world: World, who: str, audience: list[str], **kw: Any) -> Notice:
    return actions.send_notice(
        world.user(who), world.a.school.pk, title="Trip", body="Bring lunch.", audience=audience, **kw
    )


def _head_group(world: World, **kw: Any) -> NoticeGroup:
    first = world.a.students["g7c1"][0]  # a_parent's child
    return actions.save_group(
        world.user("a_head"),
        world.a.school.pk,
        name="Choir families",
        students=[first.pk],
        guardians=[world.user("a_parent_norec").pk],
        **kw,
    )


def test_a_group_resolves_to_its_families_and_guardian_accounts(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    group = _head_group(world)
    assert AuditEvent.objects.filter(action="notice.group.add").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        notice = _send(world, "a_head", [f"group:{group.pk}"])
    users = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert users == {world.user("a_parent").pk, world.user("a_parent_norec").pk}
    # The guardian account is linked to its child (per-class counts), the family to its class.
    links = set(ReceiptStudent.objects.filter(notice=notice).values_list("student_id", "klass_id"))
    assert links == {
        (world.a.students["g7c1"][0].pk, world.a.g7c1.pk),
        (world.a.students["g7c1"][1].pk, world.a.g7c1.pk),
    }


def test_members_beyond_the_owners_reach_are_refused_and_nothing_is_saved(world: World) -> None:
    other_class = world.a.students["g7c2"][0]
    with pytest.raises(ValidationError) as exc:
        actions.save_group(world.user("a_head"), world.a.school.pk, name="Mixed", students=[other_class.pk])
    assert "members" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        actions.save_group(world.user("a_head"), world.a.school.pk, name="  ", students=[])
    assert set(exc.value.message_dict) == {"name", "members"}
    assert NoticeGroup.objects.count() == 0


def test_a_shared_group_beyond_the_senders_reach_is_refused_by_name(world: World) -> None:
    far = world.a.students["g8c1"][0]
    group = actions.save_group(
        world.user("a_admin"), world.a.school.pk, name="Grade 8 team", students=[far.pk], shared=True
    )
    assert group in visible_groups(world.user("a_head"), world.a.school.pk)
    with pytest.raises(ValidationError) as exc:
        _send(world, "a_head", [f"group:{group.pk}"])
    message = " ".join(exc.value.message_dict["audience"])
    assert "Grade 8 team" in message and far.person.full_name in message
    assert Notice.objects.count() == 0
    # a_teacher teaches that class: the same shared group is within reach.
    notice = _send(world, "a_teacher", [f"group:{group.pk}"])
    assert notice.status == Status.SENT


def test_personal_groups_are_private_to_their_owner(world: World) -> None:
    group = _head_group(world)
    assert group not in visible_groups(world.user("a_teacher"), world.a.school.pk)
    with pytest.raises(ValidationError) as exc:
        _send(world, "a_teacher", [f"group:{group.pk}"])
    assert "audience" in exc.value.message_dict
    with pytest.raises(NotFound):
        actions.save_group(
            world.user("a_teacher"), world.a.school.pk, name="x", students=[], group_id=group.pk
        )
    with pytest.raises(NotFound):
        actions.delete_group(world.user("a_teacher"), group.pk)
    with pytest.raises(NotFound):
        actions.delete_group(world.user("a_admin"), group.pk)  # personal: not even the administrator
    actions.delete_group(world.user("a_head"), group.pk)
    assert not NoticeGroup.objects.exists()
    assert AuditEvent.objects.filter(action="notice.group.delete").count() == 1


def test_members_are_resolved_when_a_scheduled_notice_goes_out(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    first = world.a.students["g7c1"][0]
    group = actions.save_group(world.user("a_head"), world.a.school.pk, name="Late list", students=[first.pk])
    at = timezone.now() + datetime.timedelta(hours=2)
    notice = _send(world, "a_head", [f"group:{group.pk}"], send_at=at)
    actions.save_group(
        world.user("a_head"),
        world.a.school.pk,
        name="Late list",
        students=[first.pk],
        guardians=[world.user("a_parent_norec").pk],
        group_id=group.pk,
    )
    assert AuditEvent.objects.filter(action="notice.group.edit").count() == 1
    # A group beyond the author's reach at send time (added behind the form's back) reaches nobody.
    outsider = actions.save_group(
        world.user("a_admin"), world.a.school.pk, name="Admin's", students=[world.a.students["g8c1"][0].pk]
    )
    notice.audiences.create(kind="group", target_id=outsider.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.dispatch_due(now=at + datetime.timedelta(seconds=1)) == 1
    users = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert users == {world.user("a_parent").pk, world.user("a_parent_norec").pk}


# --------------------------------------------------------------------------- pages


def _client(world: World, username: str) -> Any:
    from django.test import Client

    from schoolbridge.web.tests.helpers import verified_client

    if username in ("a_admin", "a_principal"):
        return verified_client(world.user(username))
    c = Client()
    c.force_login(world.user(username))
    return c


def test_the_group_page_creates_edits_and_compose_offers_the_group(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    c = _client(world, "a_head")
    page = c.get("/notices/groups/").content.decode()
    first, other = world.a.students["g7c1"][0], world.a.students["g7c2"][0]
    norec = world.user("a_parent_norec")
    assert f'value="{first.pk}"' in page and f'value="{norec.pk}"' in page
    assert "七年级2班" not in page  # only the head teacher's own class
    bad = c.post("/notices/groups/", {"school": world.a.school.pk, "name": "", "students": [str(first.pk)]})
    assert bad.status_code == 400 and "errorlist" in bad.content.decode()
    forged = c.post(
        "/notices/groups/", {"school": world.a.school.pk, "name": "x", "students": [str(other.pk)]}
    )
    assert forged.status_code == 400 and NoticeGroup.objects.count() == 0
    r = c.post(
        "/notices/groups/",
        {
            "school": world.a.school.pk,
            "name": "Choir",
            "students": [str(first.pk)],
            "guardians": [str(norec.pk)],
        },
    )
    assert r.status_code == 302
    group = NoticeGroup.objects.get()
    assert group.owner == world.user("a_head") and not group.shared
    edit = c.get(f"/notices/groups/{group.pk}/").content.decode()
    assert "Choir" in edit
    r = c.post(
        f"/notices/groups/{group.pk}/",
        {"school": world.a.school.pk, "name": "Choir 2", "shared": "on", "students": [str(first.pk)]},
    )
    assert r.status_code == 302
    group.refresh_from_db()
    assert group.name == "Choir 2" and group.shared and list(group.guardians.all()) == []
    assert _client(world, "a_teacher").get(f"/notices/groups/{group.pk}/").status_code == 404
    compose = c.get("/notices/new/").content.decode()
    assert f'value="group:{group.pk}"' in compose
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(
            "/notices/new/",
            {
                "school": world.a.school.pk,
                "title": "Choir",
                "body": "Practice moves to Friday.",
                "audience": [f"group:{group.pk}"],
                "priority": "normal",
                "idempotency_key": "g-1",
            },
        )
    assert r.status_code == 302
    notice = Notice.objects.get()
    assert set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True)) == {
        world.user("a_parent").pk
    }
    r = c.post(f"/notices/groups/{group.pk}/delete/")
    assert r.status_code == 302 and not NoticeGroup.objects.exists()
