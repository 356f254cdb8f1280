"""notify / mark_read / mark_all_read: rows, after-commit delivery, rollback, ownership."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core import mail
from django.db import transaction

from schoolbridge.notify import actions, sms
from schoolbridge.notify import channels as registry
from schoolbridge.notify.models import Notification
from schoolbridge.notify.queries import latest, unread_count

from .util import run


async def _listen(*user_ids: int) -> dict[int, str]:
    layer = get_channel_layer()
    out = {}
    for uid in user_ids:
        name = await layer.new_channel()
        await layer.group_add(registry.user_group(uid), name)
        out[uid] = name
    return out


async def _drain(channel: str, first: float = 5.0, quiet: float = 1.5) -> list[dict[str, Any]]:
    """Everything on the channel: waits up to `first` seconds for a first message, then until quiet."""
    layer = get_channel_layer()
    got: list[dict[str, Any]] = []
    while True:
        try:
            got.append(await asyncio.wait_for(layer.receive(channel), quiet if got else first))
        except TimeoutError:
            return got


def test_creates_one_row_per_distinct_recipient_with_school_and_district(world: Any) -> None:
    parent, teacher = world.user("a_parent"), world.user("a_teacher")
    rows = actions.notify([parent, teacher.pk, parent], "homework", "  Maths  homework ", body="p. 12", school=world.a.school)
    assert len(rows) == 2 and all(r.pk for r in rows)
    stored = Notification.objects.get(user=parent)
    assert stored.title == "Maths homework"
    assert stored.school_id == world.a.school.pk
    assert stored.district_id == world.district.pk
    assert unread_count(parent) == 1
    assert [n.pk for n in latest(teacher)] == [Notification.objects.get(user=teacher).pk]


def test_school_by_id(world: Any) -> None:
    (row,) = actions.notify([world.user("b_parent")], "k", "t", school=world.b.school.pk)
    assert row.district_id == world.district.pk
    with pytest.raises(ValueError):
        actions.notify([world.user("b_parent")], "k", "t", school=999999)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "   "},
        {"kind": ""},
        {"link": "javascript:alert(1)"},
        {"link": "//evil.example/x"},
        {"channels": ("inapp", "pigeon")},
    ],
)
def test_bad_input_writes_nothing(world: Any, kwargs: dict[str, Any]) -> None:
    args = {"kind": "k", "title": "t"} | kwargs
    with pytest.raises(ValueError):
        actions.notify([world.user("a_parent")], **args)
    assert not Notification.objects.exists()


def test_long_title_is_shortened() -> None:
    assert len(actions._truncate("x" * 500, actions.TITLE_MAX)) == actions.TITLE_MAX


def test_no_recipients_is_a_no_op(world: Any) -> None:
    assert actions.notify([], "k", "t") == []


@pytest.mark.django_db(transaction=True)
def test_push_email_and_sms_happen_after_commit(memory_layer: None, live_world: Any) -> None:
    parent = live_world.user("a_parent")
    parent.email = "parent@example.org"
    parent.save()

    async def scenario() -> list[dict[str, Any]]:
        chans = await _listen(parent.pk)

        def write() -> None:
            with transaction.atomic():
                actions.notify([parent], "notice", "Sports day", body="Friday", link="/x/", channels=("inapp", "email", "sms"))
                # Inside the transaction nothing has gone out yet.
                assert len(mail.outbox) == 0 and sms.read_outbox() == []
            assert len(mail.outbox) == 1

        await sync_to_async(write)()
        return await _drain(chans[parent.pk])

    events = run(scenario)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["parent@example.org"]
    assert "Sports day" in mail.outbox[0].subject and "/x/" in mail.outbox[0].body
    (text,) = sms.read_outbox()
    assert text["to"] == parent.phone and "Sports day" in text["text"]
    # One channel-layer message per notification, carrying the recipient's unread count.
    assert [e["type"] for e in events] == ["notify.notification"]
    assert events[0]["notification"]["title"] == "Sports day"
    assert events[0]["unread"] == 1
    n = Notification.objects.get(user=parent)
    assert n.emailed_at is not None and n.texted_at is not None


def test_only_inapp_by_default_and_missing_contact_details_are_skipped(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    teacher = world.user("a_teacher")  # no email, no phone
    with django_capture_on_commit_callbacks(execute=True):
        actions.notify([teacher], "k", "default channel")
        actions.notify([teacher], "k", "asks for email and sms", channels=("email", "sms"))
    assert mail.outbox == [] and sms.read_outbox() == []


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_pushes_and_sends_nothing(memory_layer: None, live_world: Any) -> None:
    parent = live_world.user("a_parent")
    parent.email = "p@example.org"
    parent.save()

    async def scenario() -> list[dict[str, Any]]:
        chans = await _listen(parent.pk)

        def write() -> None:
            try:
                with transaction.atomic():
                    actions.notify([parent], "k", "never", channels=("inapp", "email", "sms"))
                    raise RuntimeError("caller fails after notifying")
            except RuntimeError:
                pass

        await sync_to_async(write)()
        return await _drain(chans[parent.pk], first=1.0)

    assert run(scenario) == []
    assert not Notification.objects.exists()
    assert mail.outbox == [] and sms.read_outbox() == []


@pytest.mark.django_db(transaction=True)
def test_committed_transaction_pushes_once_per_user(memory_layer: None, live_world: Any) -> None:
    a, b = live_world.user("a_parent"), live_world.user("b_parent")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        chans = await _listen(a.pk, b.pk)

        def write() -> None:
            with transaction.atomic():
                actions.notify([a], "k", "for a only")
                actions.notify([a, b], "k", "for both")

        await sync_to_async(write)()
        return await _drain(chans[a.pk]), await _drain(chans[b.pk])

    got_a, got_b = run(scenario)
    titles_a = [e["notification"]["title"] for e in got_a if e["type"] == "notify.notification"]
    titles_b = [e["notification"]["title"] for e in got_b if e["type"] == "notify.notification"]
    assert titles_a == ["for a only", "for both"]
    assert titles_b == ["for both"]


def test_mark_read_only_touches_own_rows(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    a, b = world.user("a_parent"), world.user("b_parent")
    mine = actions.notify([a], "k", "one") + actions.notify([a], "k", "two")
    theirs = actions.notify([b], "k", "theirs")
    with django_capture_on_commit_callbacks(execute=True):
        changed = actions.mark_read(a, [mine[0].pk, theirs[0].pk])
    assert changed == 1
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None
    assert unread_count(a) == 1
    assert actions.mark_read(a, [mine[0].pk]) == 0  # already read


def test_mark_all_read_is_one_update(world: Any, django_assert_max_num_queries: Any) -> None:
    a, b = world.user("a_parent"), world.user("b_parent")
    actions.notify([a, b], "k", "x")
    actions.notify([a], "k", "y")
    with django_assert_max_num_queries(3):  # savepoint, UPDATE, release
        assert actions.mark_all_read(a) == 2
    assert unread_count(a) == 0 and unread_count(b) == 1


@pytest.mark.django_db(transaction=True)
def test_reads_push_the_new_unread_count(memory_layer: None, live_world: Any) -> None:
    a = live_world.user("a_parent")
    rows = actions.notify([a], "k", "x") + actions.notify([a], "k", "y")

    async def scenario() -> list[dict[str, Any]]:
        chans = await _listen(a.pk)

        def read() -> None:
            actions.mark_read(a, [rows[0].pk])
            actions.mark_all_read(a)

        await sync_to_async(read)()
        return await _drain(chans[a.pk])

    assert run(scenario) == [{"type": "notify.unread", "count": 1}, {"type": "notify.unread", "count": 0}]


def test_anonymous_reads_nothing(world: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert actions.mark_all_read(AnonymousUser()) == 0
    assert unread_count(AnonymousUser()) == 0 and latest(AnonymousUser()) == []


def test_a_failing_delivery_after_commit_is_logged_by_name_and_spares_the_caller(
    world: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any, caplog: Any
) -> None:
    from schoolbridge.notify import channels as channel_registry

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("gateway down")

    monkeypatch.setattr(channel_registry.get_channel("inapp"), "deliver", broken)
    with django_capture_on_commit_callbacks(execute=True):
        rows = actions.notify([world.user("a_parent")], "k", "still stored")
    assert Notification.objects.filter(pk=rows[0].pk).exists()
    assert any("gateway down" in r.getMessage() or "gateway down" in str(r.exc_info) for r in caplog.records)
