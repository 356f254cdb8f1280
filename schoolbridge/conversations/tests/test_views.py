import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from schoolbridge.audit.models import AuditEvent
from schoolbridge.conversations import actions
from schoolbridge.conversations.models import Attachment, Message, Question, Receipt, Thread
from schoolbridge.web.tests.helpers import verified_client

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OGG = b"OggS" + b"\x00" * 64


def login(world, name, lang="zh-hans"):
    user = world.user(name)
    if name.endswith(("_admin", "_principal")):
        return verified_client(user, lang=lang)
    client = Client()
    client.force_login(user)
    return client


def contact_key(world, teacher="a_head"):
    return f"{world.a.students['g7c1'][0].pk}:{world.user(teacher).pk}"


def new_thread(world, **extra):
    return actions.start_thread(
        world.user("a_parent"), contact_key(world), subject="请假", text="孩子明天请假", **extra
    )


def test_guardian_starts_a_thread_with_a_voice_note_and_the_teacher_plays_it(world):
    c = login(world, "a_parent")
    page = c.get("/messages/new/")
    assert page.status_code == 200 and contact_key(world) in page.content.decode()
    response = c.post(
        "/messages/new/",
        {
            "contact": contact_key(world),
            "subject": "作业",
            "text": "",
            "voice": SimpleUploadedFile("voice-note.ogg", OGG, "audio/ogg"),
        },
    )
    thread = Thread.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{thread.pk}/"
    att = Attachment.objects.get()
    teacher = login(world, "a_head")
    page = teacher.get(f"/messages/{thread.pk}/").content.decode()
    assert f'<audio controls preload="none" src="/messages/attachments/{att.pk}/"' in page
    audio = teacher.get(f"/messages/attachments/{att.pk}/")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/ogg"
    assert b"".join(audio.streaming_content) == OGG
    assert login(world, "teacher_parent").get(f"/messages/attachments/{att.pk}/").status_code == 404
    # The teacher's visit wrote the receipt; the guardian sees it.
    assert Receipt.objects.filter(user=world.user("a_head")).count() == 1
    assert "王老师" in c.get(f"/messages/{thread.pk}/").content.decode()


def test_wrong_teacher_is_not_offered_and_others_threads_404_like_missing_ones(world):
    c = login(world, "a_parent")
    other = f"{world.a.students['g7c1'][0].pk}:{world.user('teacher_parent').pk}"
    response = c.post("/messages/new/", {"contact": other, "subject": "x", "text": "hi"})
    assert response.status_code == 400  # not among the choices: a form error, nothing sent
    assert not Thread.objects.exists()
    sent = new_thread(world)
    outsider = login(world, "teacher_parent")
    missing = outsider.get("/messages/999999/")
    forbidden = outsider.get(f"/messages/{sent.message.thread_id}/")
    assert missing.status_code == forbidden.status_code == 404
    assert outsider.post(f"/messages/{sent.message.thread_id}/", {"text": "hi"}).status_code == 404
    assert outsider.get(f"/messages/{sent.message.thread_id}/after/?after=0").status_code == 404


def test_participants_cannot_delete(world):
    sent = new_thread(world)
    c = login(world, "a_parent")
    url = f"/messages/{sent.message.thread_id}/"
    assert c.delete(url).status_code == 405
    assert c.post(url + "delete/").status_code == 404
    assert c.delete(f"/messages/attachments/{sent.message.pk}/").status_code in (404, 405)
    assert Message.objects.count() == 1


def test_reply_with_bad_attachment_shows_the_error_and_saves_nothing(world):
    sent = new_thread(world)
    c = login(world, "a_head")
    response = c.post(
        f"/messages/{sent.message.thread_id}/",
        {"text": "见附件", "attachments": [SimpleUploadedFile("virus.pdf", b"MZ" + b"0" * 40)]},
    )
    assert response.status_code == 400
    assert "virus.pdf" in response.content.decode()
    assert Message.objects.count() == 1 and not Attachment.objects.exists()


def test_blocked_words_are_named_without_echoing(world):
    sent = new_thread(world)
    response = login(world, "a_parent").post(f"/messages/{sent.message.thread_id}/", {"text": "去死吧你"})
    body = response.content.decode()
    assert (
        response.status_code == 400 and "“去*”" in body and "去死吧你" in body
    )  # only in the user's own textarea
    assert body.count("去死") == 1


def test_after_returns_only_newer_messages(world):
    sent = new_thread(world)
    reply = actions.send_message(world.user("a_head"), sent.message.thread_id, text="好的，收到").message
    c = login(world, "a_parent")
    html = c.get(f"/messages/{sent.message.thread_id}/after/?after={sent.message.pk}").content.decode()
    assert f'id="message-{reply.pk}"' in html and f'id="message-{sent.message.pk}"' not in html
    assert f'data-last-id="{reply.pk}"' in html
    assert f'id="receipts-{sent.message.pk}"' in html  # own earlier messages' receipts, refreshed


def test_inbox_lists_threads_with_unread_counts(world):
    new_thread(world)

    def main(html: bytes) -> str:  # the page's own content, without the site navigation
        return html.decode().split("<main", 1)[1]

    page = main(login(world, "a_head").get("/messages/").content)
    assert "请假" in page and "1" in page
    assert main(login(world, "b_parent").get("/messages/").content).count("请假") == 0


def test_board_ask_suggest_answer(world):
    parent, teacher = login(world, "a_parent"), login(world, "a_teacher")
    url = f"/messages/qa/{world.a.g7c1.pk}/"
    response = parent.post(url, {"text": "春游需要带午饭吗？"})
    q = Question.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#question-{q.pk}")
    page = teacher.get("/messages/qa/open/").content.decode()
    assert "春游需要带午饭吗" in page
    actions.save_canned_reply(world.user("a_teacher"), world.a.school.pk, title="午饭", text="需要自带午饭。")
    board = teacher.get(url).content.decode()
    assert 'data-canned-for="answer-' in board and "需要自带午饭。" in board
    assert (
        teacher.post(f"/messages/qa/questions/{q.pk}/answer/", {"text": "需要自带午饭。"}).status_code == 302
    )
    assert "需要自带午饭。" in parent.get(url).content.decode()
    suggestions = parent.get(f"{url}suggest/", {"text": "春游要带午饭吗"}).content.decode()
    assert "需要自带午饭" in suggestions
    assert login(world, "b_parent").get(url).status_code == 404
    assert (
        login(world, "a_parent_norec")
        .post(f"/messages/qa/questions/{q.pk}/answer/", {"text": "x"})
        .status_code
        == 404
    )


def test_quiet_hours_page(world):
    c = login(world, "a_head", lang="en")
    assert c.get("/messages/quiet-hours/").status_code == 200
    response = c.post(
        "/messages/quiet-hours/",
        {
            "enabled": "on",
            "start": "21:00",
            "end": "07:00",
            "weekdays": ["1", "2"],
            "auto_reply": "Tomorrow.",
        },
    )
    assert response.status_code == 302
    setting = world.user("a_head").quiet_hours
    assert setting.weekdays == "12" and setting.auto_reply == "Tomorrow."
    bad = c.post(
        "/messages/quiet-hours/", {"enabled": "on", "start": "21:00", "end": "21:00", "weekdays": ["1"]}
    )
    assert bad.status_code == 400
    assert login(world, "a_parent").get("/messages/quiet-hours/").status_code == 404


def test_moderation_and_export_pages(world):
    new_thread(world, urgent=False)
    actions.start_thread(
        world.user("a_parent"), contact_key(world, "a_teacher"), subject="x", text="给您发个红包"
    )
    admin = login(world, "a_admin")
    page = admin.get(f"/messages/moderation/{world.a.school.pk}/").content.decode()
    assert "红包" in page
    assert login(world, "a_head").get(f"/messages/moderation/{world.a.school.pk}/").status_code == 404
    assert login(world, "b_admin").get(f"/messages/moderation/{world.a.school.pk}/").status_code == 404
    response = admin.post("/messages/export/", {"klass": world.a.g7c1.pk, "format": "json"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.json"')
    assert len(json.loads(response.content)["threads"]) == 2
    assert login(world, "a_parent").post("/messages/export/", {"klass": world.a.g7c1.pk}).status_code == 404
    assert AuditEvent.objects.filter(action="conversations.export").count() == 1
    assert admin.get("/messages/export/").status_code == 405


@pytest.mark.parametrize(
    "name", ["a_parent", "a_head", "a_teacher", "a_admin", "a_student", "district_officer"]
)
def test_pages_render_for_every_role(world, name):
    c = login(world, name)
    assert c.get("/messages/").status_code == 200
    assert c.get("/messages/qa/").status_code in (200, 302)


# --------------------------------------------------------------------------- byte ranges (Safari's <audio>)


def _voice_attachment(world):
    voice = OGG + bytes(range(100))
    new_thread(world, voice=SimpleUploadedFile("voice-note.ogg", voice, "audio/ogg"))
    return Attachment.objects.get(), voice


def test_byte_range_parsing():
    from schoolbridge.conversations.views import RangeNotSatisfiable, byte_range

    assert byte_range("bytes=0-1", 10) == (0, 1)
    assert byte_range("bytes=5-", 10) == (5, 9)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=-30", 10) == (0, 9)
    assert byte_range("bytes=8-100", 10) == (8, 9)
    for ignored in ["", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,4-5", "bytes=5-2", "bytes=a-b"]:
        assert byte_range(ignored, 10) is None, ignored
    for bad in ["bytes=10-", "bytes=10-20", "bytes=-0"]:
        with pytest.raises(RangeNotSatisfiable):
            byte_range(bad, 10)


def test_voice_note_ranges_206_416_and_full(world):
    att, voice = _voice_attachment(world)
    url = f"/messages/attachments/{att.pk}/"
    teacher = login(world, "a_head")

    r = teacher.get(url, headers={"Range": "bytes=0-1"})
    assert r.status_code == 206 and r.content == voice[:2]
    assert r["Content-Range"] == f"bytes 0-1/{len(voice)}" and r["Content-Length"] == "2"
    assert r["Content-Type"] == "audio/ogg" and r["Cache-Control"] == "private, no-store"
    assert r["Accept-Ranges"] == "bytes" and r["X-Content-Type-Options"] == "nosniff"

    r = teacher.get(url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == voice[-10:]
    assert r["Content-Range"] == f"bytes {len(voice) - 10}-{len(voice) - 1}/{len(voice)}"

    r = teacher.get(url, headers={"Range": f"bytes={len(voice)}-"})
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{len(voice)}" and r.content == b""
    assert r["Cache-Control"] == "private, no-store"

    full = teacher.get(url)
    assert full.status_code == 200 and b"".join(full.streaming_content) == voice
    assert full["Accept-Ranges"] == "bytes" and full["Cache-Control"] == "private, no-store"
    several = teacher.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and b"".join(several.streaming_content) == voice

    # If-Range: a matching validator gets the range, a stale one the whole file.
    r = teacher.get(url, headers={"Range": "bytes=2-3", "If-Range": full["ETag"]})
    assert r.status_code == 206 and r.content == voice[2:4]
    r = teacher.get(url, headers={"Range": "bytes=2-3", "If-Range": '"stale"'})
    assert r.status_code == 200

    # The access check comes first: an outsider's range request is the same 404 as a missing file.
    outsider = login(world, "teacher_parent")
    hidden = outsider.get(url, headers={"Range": "bytes=0-1"})
    missing = outsider.get("/messages/attachments/999999/", headers={"Range": "bytes=0-1"})
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


def test_image_range_keeps_the_sandbox(world):
    new_thread(world, attachments=[SimpleUploadedFile("photo.png", PNG, "image/png")])
    att = Attachment.objects.get()
    r = login(world, "a_parent").get(f"/messages/attachments/{att.pk}/", headers={"Range": "bytes=0-7"})
    assert r.status_code == 206 and r.content == PNG[:8] and r["Content-Security-Policy"] == "sandbox"


def test_blocked_attempts_are_listed_on_the_moderation_page(world):
    thread = new_thread(world).message.thread
    parent = login(world, "a_parent")
    r = parent.post(
        f"/messages/{thread.pk}/", {"text": "家里地址是幸福路八号，请您务必转告班主任老师，你这个傻逼"}
    )
    assert r.status_code == 400
    from schoolbridge.conversations.models import BlockedAttempt

    assert BlockedAttempt.objects.count() == 1, r.content.decode()[-3000:]
    admin = login(world, "a_admin")
    page = admin.get(f"/messages/moderation/{world.a.school.pk}/").content.decode()
    assert 'id="blocked"' in page and "傻*" in page and "幸福路八号" not in page
    assert str(world.user("a_parent")) in page and thread.subject in page
    other = login(world, "b_admin").get(f"/messages/moderation/{world.b.school.pk}/").content.decode()
    assert "傻*" not in other
    # The school admin marks it reviewed: it leaves the "to review" list and stays under "all".
    attempt = BlockedAttempt.objects.get()
    assert (
        login(world, "b_admin").post(f"/messages/moderation/blocked/{attempt.pk}/review/").status_code == 404
    )
    assert (
        login(world, "a_head").post(f"/messages/moderation/blocked/{attempt.pk}/review/").status_code == 404
    )
    r = admin.post(f"/messages/moderation/blocked/{attempt.pk}/review/")
    assert r.status_code == 302 and r["Location"].endswith("#blocked")
    attempt.refresh_from_db()
    assert attempt.reviewed_by == world.user("a_admin") and attempt.reviewed_at is not None
    assert "傻*" not in admin.get(f"/messages/moderation/{world.a.school.pk}/").content.decode()
    assert "傻*" in admin.get(f"/messages/moderation/{world.a.school.pk}/?show=all").content.decode()
    from schoolbridge.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="conversations.blocked.review").count() == 1
    admin.post(f"/messages/moderation/blocked/{attempt.pk}/review/")  # twice: still one review
    assert AuditEvent.objects.filter(action="conversations.blocked.review").count() == 1
