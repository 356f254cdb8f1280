"""The notification socket: auth, per-user groups, catch-up after a drop, every tab gets each push.

Each test runs on the in-memory layer and again on the Redis layer (skipped locally without Redis,
required on CI).
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from schoolbridge.notify import actions, consumers
from schoolbridge.notify.consumers import NotificationConsumer

from .util import run

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(user: Any, query: str = "") -> WebsocketCommunicator:
    path = "/ws/notifications/" + (f"?{query}" if query else "")
    comm = WebsocketCommunicator(NotificationConsumer.as_asgi(), path)
    comm.scope["user"] = user
    return comm


async def connect(user: Any, query: str = "") -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = communicator(user, query)
    connected, _ = await comm.connect()
    assert connected
    welcome = await comm.receive_json_from(timeout=3)
    assert welcome["type"] == "welcome"
    return comm, welcome


async def receive_all(comm: WebsocketCommunicator, timeout: float = 0.5) -> list[dict[str, Any]]:
    """Every frame that arrives until the socket has been quiet for `timeout` seconds."""
    out = []
    while not await comm.receive_nothing(timeout=timeout):
        out.append(await comm.receive_json_from(timeout=timeout))
    return out


def notify_committed(users: list[Any], title: str, n: int = 1) -> list[int]:
    ids = []
    with transaction.atomic():
        for i in range(n):
            ids += [row.pk for row in actions.notify(users, "test", f"{title} {i}" if n > 1 else title)]
    return ids


anotify = sync_to_async(notify_committed)


def test_anonymous_is_rejected(any_layer: str, live_world: Any) -> None:
    async def scenario() -> Any:
        comm = communicator(AnonymousUser())
        connected, _ = await comm.connect()
        assert connected  # accepted only to tell the browser why
        out = await comm.receive_output(timeout=2)
        await comm.wait()
        return out

    out = run(scenario)
    assert out == {"type": "websocket.close", "code": consumers.CLOSE_UNAUTHENTICATED, "reason": ""} or (
        out["type"] == "websocket.close" and out["code"] == consumers.CLOSE_UNAUTHENTICATED
    )


def test_live_push_reaches_every_socket_of_the_user_and_nobody_else(any_layer: str, live_world: Any) -> None:
    a, b = live_world.user("a_parent"), live_world.user("b_parent")

    async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
        tab1, _ = await connect(a)
        tab2, _ = await connect(a)
        other, _ = await connect(b)
        await anotify([a], "for a")
        await anotify([b], "for b")
        got = await receive_all(tab1), await receive_all(tab2), await receive_all(other)
        for comm in (tab1, tab2, other):
            await comm.disconnect()
        return got

    tab1, tab2, other = run(scenario)
    for tab in (tab1, tab2):
        assert [m["notification"]["title"] for m in tab if m["type"] == "notification"] == ["for a"]
        assert {"type": "unread", "count": 1} in tab
    assert [m["notification"]["title"] for m in other if m["type"] == "notification"] == ["for b"]


def test_catch_up_after_a_drop_gets_exactly_the_missed_ones(any_layer: str, live_world: Any) -> None:
    a, b = live_world.user("a_parent"), live_world.user("b_parent")

    async def scenario() -> dict[str, Any]:
        before = await anotify([a], "before", n=2)
        comm, welcome = await connect(a)
        assert welcome["latest_id"] == before[-1]
        await comm.send_json_to({"type": "hello", "last_id": before[0]})
        first = await receive_all(comm)
        await anotify([a], "live")
        live = await receive_all(comm)
        last_seen = max(
            [m["notification"]["id"] for m in live if m["type"] == "notification"]
            + [n["id"] for m in first if m["type"] == "catchup" for n in m["notifications"]]
        )
        await comm.disconnect()
        # While the socket is down: three for a, one for b.
        missed = await anotify([a], "missed", n=3)
        await anotify([b], "not yours")
        again, _ = await connect(a, f"last_id={last_seen}")
        catchup = await receive_all(again)
        # A second hello with the same last id repeats nothing already sent on this socket.
        await again.send_json_to({"type": "hello", "last_id": last_seen})
        repeat = await receive_all(again)
        await again.disconnect()
        return {"before": before, "first": first, "live": live, "missed": missed, "catchup": catchup, "repeat": repeat}

    r = run(scenario)
    first_catchup = [m for m in r["first"] if m["type"] == "catchup"]
    assert [n["id"] for n in first_catchup[0]["notifications"]] == [r["before"][1]]
    assert first_catchup[0]["more"] is False
    assert [m["notification"]["title"] for m in r["live"] if m["type"] == "notification"] == ["live"]
    (catchup,) = [m for m in r["catchup"] if m["type"] == "catchup"]
    assert [n["id"] for n in catchup["notifications"]] == r["missed"]
    assert [n["title"] for n in catchup["notifications"]] == ["missed 0", "missed 1", "missed 2"]
    assert catchup["last_id"] == r["missed"][-1]
    assert {"type": "unread", "count": 6} in r["catchup"]
    assert not [m for m in r["catchup"] if m["type"] == "notification"]
    (repeat,) = [m for m in r["repeat"] if m["type"] == "catchup"]
    assert repeat["notifications"] == []


def test_catch_up_is_capped_with_a_more_flag(memory_layer: None, live_world: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "CATCHUP_LIMIT", 3)
    a = live_world.user("a_parent")

    async def scenario() -> list[Any]:
        ids = await anotify([a], "bulk", n=5)
        comm, _ = await connect(a, "last_id=0")
        page1 = [m for m in await receive_all(comm) if m["type"] == "catchup"][0]
        await comm.send_json_to({"type": "hello", "last_id": page1["last_id"]})
        page2 = [m for m in await receive_all(comm) if m["type"] == "catchup"][0]
        await comm.disconnect()
        return [ids, page1, page2]

    ids, page1, page2 = run(scenario)
    assert [n["id"] for n in page1["notifications"]] == ids[:3] and page1["more"] is True
    assert [n["id"] for n in page2["notifications"]] == ids[3:] and page2["more"] is False


def test_reads_send_unread_counts_to_every_socket(any_layer: str, live_world: Any) -> None:
    a = live_world.user("a_parent")

    async def scenario() -> tuple[list[Any], list[Any]]:
        ids = await anotify([a], "x", n=3)
        tab1, _ = await connect(a)
        tab2, _ = await connect(a)
        await sync_to_async(actions.mark_read)(a, ids[:1])
        await sync_to_async(actions.mark_all_read)(a)
        got = await receive_all(tab1), await receive_all(tab2)
        await tab1.disconnect()
        await tab2.disconnect()
        return got

    for tab in run(scenario):
        assert tab == [{"type": "unread", "count": 2}, {"type": "unread", "count": 0}]


def test_bad_hello_and_ping(memory_layer: None, live_world: Any) -> None:
    a = live_world.user("a_parent")

    async def scenario() -> list[Any]:
        comm, _ = await connect(a, "last_id=oops")
        await comm.send_json_to({"type": "hello", "last_id": "x"})
        await comm.send_json_to({"type": "ping"})
        out = await receive_all(comm)
        await comm.disconnect()
        return out

    assert run(scenario) == [{"type": "error", "error": "last_id must be an integer"}, {"type": "pong"}]


def test_admin_needs_two_factor_in_the_session(memory_layer: None, live_world: Any) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = live_world.user("a_admin")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)

    async def attempt(session: dict[str, Any]) -> Any:
        comm = communicator(admin)
        comm.scope["session"] = session
        await comm.connect()
        first = await comm.receive_output(timeout=3)
        await comm.disconnect()
        return first

    refused = run(attempt, {})
    assert refused["type"] == "websocket.close" and refused["code"] == consumers.CLOSE_UNAUTHENTICATED
    welcome = run(attempt, {DEVICE_ID_SESSION_KEY: device.persistent_id})
    assert welcome["type"] == "websocket.send" and '"welcome"' in welcome["text"]
