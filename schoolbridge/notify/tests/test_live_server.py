"""End to end: the real uvicorn server, a real WebSocket client, the session cookie of a logged-in user."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from schoolbridge.notify import actions

from .util import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def open_socket(base: str, cookie: str | None) -> ClientConnection:
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    url = base.replace("http://", "ws://") + "/ws/notifications/"
    return connect(url, additional_headers=headers, origin=base, open_timeout=10)  # type: ignore[call-overload]


def frames(ws: ClientConnection, until: str, timeout: float = 10) -> list[dict[str, Any]]:
    """Frames up to and including the first one of type `until`."""
    out = []
    while True:
        msg = json.loads(ws.recv(timeout=timeout))
        out.append(msg)
        if msg["type"] == until:
            return out


def test_anonymous_socket_is_closed(memory_layer: None, live_world: Any, live_server_url: str) -> None:
    with open_socket(live_server_url, None) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_catch_up_and_unread_over_the_real_server(any_layer: str, live_world: Any, live_server_url: str) -> None:
    """On the in-memory layer only the server's own threads may push (the layer is per event loop), so
    rows made here are not pushed; on Redis they are, like a push from another process."""
    parent = live_world.user("a_parent")
    cookie = session_cookie(parent)
    push = ("inapp",) if any_layer == "redis" else ()
    (earlier,) = actions.notify([parent], "notice", "Before connecting", channels=push)
    with open_socket(live_server_url, cookie) as ws:
        welcome = json.loads(ws.recv(timeout=10))
        assert welcome == {"type": "welcome", "user": parent.pk, "latest_id": earlier.pk}
        (missed,) = in_thread(actions.notify, [parent], "notice", "Sent while the page loaded", channels=push)
        in_thread(actions.notify, [live_world.user("b_parent")], "notice", "Not for this parent", channels=push)
        ws.send(json.dumps({"type": "hello", "last_id": earlier.pk}))
        got = frames(ws, "catchup")
        # Pushed live or caught up, but exactly once, and never another user's.
        titles = [m["notification"]["title"] for m in got if m["type"] == "notification"]
        titles += [n["title"] for n in got[-1]["notifications"]]
        assert titles == ["Sent while the page loaded"]
        assert wait_for_unread(ws, 2)

        if any_layer == "redis":
            # A push from another thread (another process in production) arrives live.
            in_thread(actions.notify, [parent], "notice", "Live from elsewhere")
            live = frames(ws, "notification")
            assert live[-1]["notification"]["title"] == "Live from elsewhere"
            assert wait_for_unread(ws, 3)

        # Reading in the browser (a POST to the same server) updates the count on the socket.
        with httpx.Client(base_url=live_server_url, cookies={"sessionid": cookie}) as http:
            page = http.get("/notifications/")
            assert page.status_code == 200 and "Sent while the page loaded" in page.text
            token = http.cookies.get("csrftoken") or ""
            response = http.post(
                f"/notifications/{missed.pk}/read/", headers={"X-CSRFToken": token, "HX-Request": "true"}
            )
            assert response.status_code == 200
        assert wait_for_unread(ws, 2 if any_layer == "redis" else 1)


def wait_for_unread(ws: ClientConnection, count: int) -> bool:
    """Read frames until an unread count of `count` arrives; no notification may slip in between."""
    while True:
        msg = json.loads(ws.recv(timeout=10))
        assert msg["type"] == "unread", msg
        if msg["count"] == count:
            return True
