"""Conversations over the JSON API: every answer checked against the OpenAPI document."""

from __future__ import annotations

import datetime

import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.conversations import actions
from schoolbridge.conversations.models import BlockedAttempt, Message, Question, Receipt

pytestmark = pytest.mark.django_db


def _api(client, world, name):
    return ApiClient(client, token_for(world.user(name)), HTTP_ACCEPT_LANGUAGE="en")


def _thread(world, text="明天的作业是什么？"):
    key = f"{world.a.students['g7c1'][0].pk}:{world.user('a_head').pk}"
    return actions.start_thread(world.user("a_parent"), key, subject="作业", text=text).message.thread


def test_threads_messages_since_id_and_reply(client, world):
    thread = _thread(world)
    parent, head = _api(client, world, "a_parent"), _api(client, world, "a_head")
    r = head.get("/messages/threads")
    assert r.status_code == 200 and r.data["count"] == 1
    row = r.data["items"][0]
    assert row["id"] == thread.pk and row["unread"] == 1 and row["subject"] == "作业" and row["others"]

    r = head.post(f"/messages/threads/{thread.pk}/messages", {"text": "第三页到第五页"})
    assert r.status_code == 201, r.data
    assert r.data["message"]["text"] == "第三页到第五页" and r.data["message"]["mine"] is True
    assert r.data["quiet_hours"] is False and r.data["auto_replies"] == []
    reply_id = r.data["message"]["id"]

    r = parent.get(f"/messages/threads/{thread.pk}/messages")
    assert [m["text"] for m in r.data["items"]] == ["明天的作业是什么？", "第三页到第五页"]
    first_id = r.data["items"][0]["id"]
    r = parent.get(f"/messages/threads/{thread.pk}/messages", {"since_id": first_id})
    assert [m["id"] for m in r.data["items"]] == [reply_id]
    assert parent.get(f"/messages/threads/{thread.pk}/messages", {"since_id": reply_id}).data["items"] == []

    # Read receipts through the API.
    assert parent.get("/messages/threads").data["items"][0]["unread"] == 1
    r = parent.client.post(f"/api/v1/messages/threads/{thread.pk}/read", headers=parent.headers)
    assert r.status_code == 204
    assert Receipt.objects.filter(message_id=reply_id, user=world.user("a_parent")).exists()
    assert parent.get("/messages/threads").data["items"][0]["unread"] == 0

    # Pagination of the thread list.
    r = parent.get("/messages/threads", {"limit": 1, "offset": 1})
    assert r.data["count"] == 1 and r.data["items"] == []


def test_out_of_scope_thread_is_the_same_404_as_a_missing_one(client, world):
    thread = _thread(world)
    outsider = _api(client, world, "teacher_parent")
    missing = outsider.get("/messages/threads/999999/messages")
    hidden = outsider.get(f"/messages/threads/{thread.pk}/messages")
    assert missing.status_code == hidden.status_code == 404
    assert missing.content == hidden.content
    posted = outsider.post(f"/messages/threads/{thread.pk}/messages", {"text": "hello"})
    posted_missing = outsider.post("/messages/threads/999999/messages", {"text": "hello"})
    assert (
        posted.status_code == posted_missing.status_code == 404 and posted.content == posted_missing.content
    )
    assert outsider.get("/messages/threads").data["count"] == 0
    assert Message.objects.count() == 1
    # Without credentials: 401.
    assert ApiClient(client).get("/messages/threads").status_code == 401


def test_blocked_words_are_a_422_with_the_message_and_nothing_is_sent(client, world):
    thread = _thread(world)
    parent = _api(client, world, "a_parent")
    r = parent.post(f"/messages/threads/{thread.pk}/messages", {"text": "you fucking idiot"})
    assert r.status_code == 422 and r.data["error"]["code"] == "validation_error"
    message = r.data["error"]["fields"]["text"][0]
    assert "f******" in message and "fucking" not in message
    assert Message.objects.count() == 1
    attempt = BlockedAttempt.objects.get()
    assert (
        attempt.kind == "message"
        and attempt.words == ["fucking"]
        and attempt.author == world.user("a_parent")
    )
    r = parent.post(f"/messages/threads/{thread.pk}/messages", {"text": ""})
    assert r.status_code == 422 and "text" in r.data["error"]["fields"]


def test_quiet_hours_auto_reply_and_urgent_are_reported(client, world):
    thread = _thread(world)
    actions.set_quiet_hours(
        world.user("a_head"), start=datetime.time(0, 0), end=datetime.time(23, 59), auto_reply="明早回复。"
    )
    parent = _api(client, world, "a_parent")
    r = parent.post(f"/messages/threads/{thread.pk}/messages", {"text": "还有一个问题"})
    assert r.status_code == 201
    assert r.data["quiet_hours"] is True
    assert [m["text"] for m in r.data["auto_replies"]] == ["明早回复。"]
    assert r.data["auto_replies"][0]["auto_reply"] is True and r.data["auto_replies"][0]["mine"] is False
    r = parent.post(f"/messages/threads/{thread.pk}/messages", {"text": "孩子发烧了", "urgent": True})
    assert r.status_code == 201 and r.data["message"]["urgent"] is True and r.data["quiet_hours"] is False
    parent.post(f"/messages/threads/{thread.pk}/messages", {"text": "第二条", "urgent": True})
    r = parent.post(f"/messages/threads/{thread.pk}/messages", {"text": "第三条", "urgent": True})
    assert r.status_code == 422 and "urgent" in r.data["error"]["fields"]


def test_class_questions_ask_and_answer(client, world):
    klass = world.a.students["g7c1"][0].current_class
    parent, head = _api(client, world, "a_parent"), _api(client, world, "a_head")
    r = parent.post(f"/messages/classes/{klass.pk}/questions", {"text": "运动会几点开始？"})
    assert r.status_code == 201, r.data
    qid = r.data["id"]
    assert r.data["status"] == "open" and r.data["answers"] == []
    r = head.get(f"/messages/classes/{klass.pk}/questions", {"status": "open"})
    assert [q["id"] for q in r.data["items"]] == [qid]
    r = head.post(f"/messages/questions/{qid}/answers", {"text": "八点。"})
    assert r.status_code == 201 and r.data["status"] == "answered"
    assert [a["text"] for a in r.data["answers"]] == ["八点。"] and r.data["first_response_at"]
    assert parent.get(f"/messages/classes/{klass.pk}/questions", {"status": "open"}).data["count"] == 0
    # A parent may not answer; a teacher of another class sees neither the board nor the question.
    assert parent.post(f"/messages/questions/{qid}/answers", {"text": "x"}).status_code == 404
    outsider = _api(client, world, "teacher_parent")
    hidden = outsider.get(f"/messages/classes/{klass.pk}/questions")
    missing = outsider.get("/messages/classes/999999/questions")
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    assert outsider.post(f"/messages/questions/{qid}/answers", {"text": "x"}).status_code == 404
    r = parent.post(f"/messages/classes/{klass.pk}/questions", {"text": "傻逼学校"})
    assert r.status_code == 422 and r.data["error"]["fields"]["text"]
    assert Question.objects.count() == 1
    assert parent.get(f"/messages/classes/{klass.pk}/questions", {"status": "nope"}).status_code == 422


def test_attachments_and_a_voice_note_over_the_api(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    thread = _thread(world)
    head = _api(client, world, "a_head")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    webm = b"\x1a\x45\xdf\xa3" + b"\x00" * 64
    r = head.post_multipart(
        f"/messages/threads/{thread.pk}/messages/upload",
        {
            "text": "作业见图",
            "files": [SimpleUploadedFile("作业.png", png, "image/png")],
            "voice": SimpleUploadedFile("note.webm", webm, "audio/webm"),
        },
    )
    assert r.status_code == 201, r.data
    attachments = r.data["message"]["attachments"]
    assert sorted((a["name"], a["content_type"], a["voice_note"]) for a in attachments) == [
        ("note.webm", "audio/webm", True),
        ("作业.png", "image/png", False),
    ]
    parent = client.get(attachments[0]["url"])  # the head teacher's own session is not logged in here
    assert parent.status_code in (302, 404)

    # A file that is not what it says is refused on its field, and nothing is sent.
    before = Message.objects.count()
    bad = head.post_multipart(
        f"/messages/threads/{thread.pk}/messages/upload",
        {"text": "", "files": [SimpleUploadedFile("setup.png", b"MZ\x90\x00" + b"\x00" * 60, "image/png")]},
    )
    assert bad.status_code == 422, bad.data
    assert "attachments" in str(bad.data) and Message.objects.count() == before
    # Nothing at all: the same message as the form's.
    empty = head.post_multipart(f"/messages/threads/{thread.pk}/messages/upload", {"text": ""})
    assert empty.status_code == 422 and Message.objects.count() == before
    # Another family's thread: the same 404 as a missing one.
    outsider = _api(client, world, "teacher_parent")
    hidden = outsider.post_multipart(f"/messages/threads/{thread.pk}/messages/upload", {"text": "hi"})
    missing = outsider.post_multipart("/messages/threads/999999/messages/upload", {"text": "hi"})
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
