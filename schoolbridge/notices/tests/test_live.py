"""The progress socket: only the notice's managers may watch; a read or a confirmation is pushed to them."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.urls import path

from schoolbridge.notices import actions
from schoolbridge.notices.live import CLOSE_FORBIDDEN, ProgressConsumer
from schoolbridge.notify.tests.util import run

pytestmark = pytest.mark.django_db(transaction=True)

APP = URLRouter([path("ws/notices/<int:notice_id>/", ProgressConsumer.as_asgi())])


def _communicator(user: Any, notice_id: int) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(APP, f"/ws/notices/{notice_id}/")
    comm.scope["user"] = user
    return comm


def test_only_managers_watch_and_reads_are_pushed(live_world: Any) -> None:
    notice = actions.send_notice(
        live_world.user("a_head"),
        live_world.a.school.pk,
        title="Trip",
        body="x",
        audience=[f"class:{live_world.a.g7c1.pk}"],
        confirmation_required=True,
    )

    async def scenario() -> None:
        for outsider in (AnonymousUser(), live_world.user("a_teacher"), live_world.user("a_parent")):
            comm = _communicator(outsider, notice.pk)
            connected, _ = await comm.connect()
            assert connected
            closed = await comm.receive_output(timeout=3)
            assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_FORBIDDEN
            await comm.disconnect()
        comm = _communicator(live_world.user("a_head"), notice.pk)
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from(timeout=3))["type"] == "welcome"
        await sync_to_async(actions.confirm)(live_world.user("a_parent"), notice.pk)
        message = await comm.receive_json_from(timeout=5)
        assert message["type"] == "progress"
        assert (message["counts"]["read"], message["counts"]["confirmed"], message["counts"]["reached"]) == (
            1,
            1,
            1,
        )
        await comm.disconnect()

    run(scenario)
