import datetime
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from schoolbridge.access.scope import forget_scope
from schoolbridge.audit.models import AuditEvent
from schoolbridge.conversations import actions, permissions, queries
from schoolbridge.conversations.models import (
    Attachment,
    DeferredNotification,
    Flag,
    LexiconEntry,
    Message,
    QuietHours,
    Receipt,
    Thread,
)
from schoolbridge.core.errors import NotFound
from schoolbridge.notify.models import Notification

TZ = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 64


def key(world, parent, child_key, teacher):
    student = world.a.students["g7c1"][child_key]
    return f"{student.pk}:{world.user(teacher).pk}"


def start(world, parent="a_parent", teacher="a_head", text="明天的作业是什么？", **kw):
    child = 0 if parent == "a_parent" else 1
    return actions.start_thread(
        world.user(parent), key(world, parent, child, teacher), subject="作业", text=text, **kw
    )


def errors_of(exc: ValidationError) -> dict:
    return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}


# --------------------------------------------------------------------------- permissions


def test_guardian_contacts_are_the_teachers_of_the_childs_class(world):
    contacts = permissions.contacts(world.user("a_parent"))
    assert {c.user_id for c in contacts} == {world.user("a_head").pk, world.user("a_teacher").pk}
    head = next(c for c in contacts if c.user_id == world.user("a_head").pk)
    assert head.student_id == world.a.students["g7c1"][0].pk and head.role == "staff"
    assert "数学" in head.role_label


def test_guardian_cannot_write_to_a_teacher_of_another_class(world):
    # teacher_parent teaches A g7c2, not the child's class: the same NotFound as a made-up key.
    other = f"{world.a.students['g7c1'][0].pk}:{world.user('teacher_parent').pk}"
    with pytest.raises(NotFound):
        actions.start_thread(world.user("a_parent"), other, subject="x", text="hello")
    with pytest.raises(NotFound):
        actions.start_thread(world.user("a_parent"), "0:999999", subject="x", text="hello")
    assert not Thread.objects.exists()


def test_teacher_reaches_guardians_of_taught_classes_and_admin_reaches_everyone(world):
    teacher = {c.user_id for c in permissions.contacts(world.user("a_teacher"))}
    assert teacher == {world.user("a_parent").pk, world.user("a_parent_norec").pk}
    assert (
        not {c.user_id for c in permissions.contacts(world.user("teacher_parent")) if c.role == "guardian"}
        & teacher
    )
    admin = {c.user_id for c in permissions.contacts(world.user("a_admin"))}
    assert world.user("a_teacher").pk in admin and world.user("a_parent").pk in admin
    assert world.user("b_parent").pk not in admin


def test_teacher_cannot_open_or_write_in_another_class_thread(world):
    sent = start(world)
    thread = sent.message.thread
    outsider = world.user("teacher_parent")
    assert not permissions.visible_threads(outsider).filter(pk=thread.pk).exists()
    with pytest.raises(NotFound):
        actions.send_message(outsider, thread.pk, text="hi")
    # The school's administrator may read (safeguarding) but writes only as a participant.
    assert permissions.visible_threads(world.user("a_admin")).filter(pk=thread.pk).exists()
    with pytest.raises(NotFound):
        actions.send_message(world.user("a_admin"), thread.pk, text="hi")
    assert not permissions.visible_threads(world.user("b_admin")).filter(pk=thread.pk).exists()


def test_message_notifies_the_other_side_and_receipts_are_per_participant(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = start(world)
    head = world.user("a_head")
    assert Notification.objects.filter(user=head, kind="conversation.message").count() == 1
    assert not Notification.objects.filter(user=world.user("a_parent")).exists()
    thread = sent.message.thread
    assert actions.mark_thread_read(head, thread) == 1
    assert actions.mark_thread_read(head, thread) == 0
    assert Receipt.objects.filter(message=sent.message, user=head).count() == 1
    assert actions.mark_thread_read(world.user("a_admin"), thread) == 0  # readers who are not participants
    reply = actions.send_message(head, thread.pk, text="第12页").message
    assert reply.response_seconds is not None and reply.response_seconds >= 0


def test_empty_message_and_too_long_text_are_refused(world):
    with pytest.raises(ValidationError) as exc:
        start(world, text="")
    assert "text" in errors_of(exc.value)
    with pytest.raises(ValidationError) as exc:
        start(world, text="x" * 4001)
    assert "4000" in errors_of(exc.value)["text"][0]
    assert not Thread.objects.exists()


# --------------------------------------------------------------------------- attachments


def test_attachments_by_magic_bytes_and_voice_notes(world, media_root):
    sent = start(
        world,
        text="",
        attachments=[SimpleUploadedFile("photo.png", PNG, "image/png")],
        voice=SimpleUploadedFile("voice-note.webm", WEBM, "audio/webm"),
    )
    atts = list(sent.message.attachments.order_by("pk"))
    assert [(a.content_type, a.voice) for a in atts] == [("image/png", False), ("audio/webm", True)]
    assert all(len(a.sha256) == 64 for a in atts)


@pytest.mark.parametrize(
    "upload,field,needle",
    [
        (
            {"attachments": [SimpleUploadedFile("evil.png", b"MZ\x90\x00" * 20, "image/png")]},
            "attachments",
            "evil.png",
        ),
        (
            {
                "attachments": [
                    SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf")
                ]
            },
            "attachments",
            "5 MB",
        ),
        ({"voice": SimpleUploadedFile("v.webm", PNG, "audio/webm")}, "voice", "WebM"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_saved(world, media_root, upload, field, needle):
    with pytest.raises(ValidationError) as exc:
        start(world, text="see attached", **upload)
    assert needle in " ".join(errors_of(exc.value)[field])
    assert not Thread.objects.exists() and not Message.objects.exists() and not Attachment.objects.exists()
    assert not any(p.is_file() for p in media_root.rglob("*"))


def test_files_are_removed_when_a_later_check_fails(world, media_root):
    sent = start(world)
    # A blocked word is found after the files were checked; nothing of the second message is kept.
    with pytest.raises(ValidationError):
        actions.send_message(
            world.user("a_parent"),
            sent.message.thread_id,
            text="你这个傻逼",
            attachments=[SimpleUploadedFile("p.png", PNG, "image/png")],
        )
    assert Message.objects.count() == 1
    assert not any(p.is_file() for p in media_root.rglob("*"))


# --------------------------------------------------------------------------- quiet hours


def quiet(world, user="a_head", auto_reply="我现在休息，明早回复您。"):
    return actions.set_quiet_hours(
        world.user(user),
        start=datetime.time(0, 0),
        end=datetime.time(23, 59),
        weekdays="1234567",
        auto_reply=auto_reply,
    )


def test_quiet_hours_defer_the_teachers_notification_and_send_the_auto_reply(
    world, django_capture_on_commit_callbacks
):
    quiet(world)
    head, parent = world.user("a_head"), world.user("a_parent")
    with django_capture_on_commit_callbacks(execute=True):
        sent = start(world)
        again = actions.send_message(parent, sent.message.thread_id, text="还有一个问题")
    assert not Notification.objects.filter(user=head).exists()
    deferred = DeferredNotification.objects.get(user=head)
    assert deferred.count == 2 and deferred.delivered_at is None
    # One automatic reply per quiet period and thread.
    assert [m.text for m in sent.delivery.auto_replies] == ["我现在休息，明早回复您。"]
    assert again.delivery.auto_replies == []
    assert Message.objects.filter(auto_reply=True, sender=head).count() == 1
    # Not yet due: nothing delivered; after the quiet hours end the beat task delivers once.
    assert actions.deliver_deferred(deferred.deliver_at - datetime.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.deliver_deferred(deferred.deliver_at) == 1
    assert actions.deliver_deferred(deferred.deliver_at + datetime.timedelta(hours=1)) == 0
    note = Notification.objects.get(user=head)
    assert "2" in note.title and note.link == f"/messages/{sent.message.thread_id}/"


def test_urgent_breaks_through_and_is_limited_to_two_a_day(world, django_capture_on_commit_callbacks):
    quiet(world)
    head, parent = world.user("a_head"), world.user("a_parent")
    with django_capture_on_commit_callbacks(execute=True):
        sent = start(world, text="孩子发烧了", urgent=True)
    assert Notification.objects.filter(user=head, kind="conversation.message").count() == 1
    assert not DeferredNotification.objects.exists()
    actions.send_message(parent, sent.message.thread_id, text="已接回家", urgent=True)
    with pytest.raises(ValidationError) as exc:
        actions.send_message(parent, sent.message.thread_id, text="第三条", urgent=True)
    assert "2" in errors_of(exc.value)["urgent"][0]
    assert Message.objects.filter(sender=parent, urgent=True).count() == 2
    # An ordinary message still goes (and is deferred).
    actions.send_message(parent, sent.message.thread_id, text="第三条")
    assert DeferredNotification.objects.filter(user=head).count() == 1


def test_quiet_hours_validation(world):
    with pytest.raises(ValidationError) as exc:
        actions.set_quiet_hours(
            world.user("a_head"), start=datetime.time(9), end=datetime.time(9), weekdays=""
        )
    assert set(errors_of(exc.value)) == {"end", "weekdays"}
    assert not QuietHours.objects.exists()


def test_in_quiet_hours_for_notices(world):
    quiet(world)
    assert queries.in_quiet_hours(world.user("a_head"), datetime.datetime(2025, 9, 1, 12, tzinfo=TZ))
    assert not queries.in_quiet_hours(world.user("a_teacher"), datetime.datetime(2025, 9, 1, 12, tzinfo=TZ))


# --------------------------------------------------------------------------- word filter


def test_block_refuses_with_a_masked_word_and_warn_flags(world):
    with pytest.raises(ValidationError) as exc:
        start(world, text="你这个傻逼老师")
    message = errors_of(exc.value)["text"][0]
    assert "傻*" in message and "傻逼" not in message
    assert not Message.objects.exists()
    sent = start(world, text="给老师包个红包")
    assert sent.message.flagged_words == ["红包"]
    flag = Flag.objects.get()
    assert flag.message == sent.message and flag.school_id == world.a.school.pk


def test_school_lexicon_extends_and_overrides(world):
    admin = world.user("a_admin")
    actions.set_lexicon_word(admin, world.a.school.pk, "补课费", "block")
    actions.set_lexicon_word(admin, world.a.school.pk, "红包", "off")
    with pytest.raises(ValidationError):
        start(world, text="补课费多少钱")
    assert start(world, text="红包的事").message.flagged_words == []
    with pytest.raises(NotFound):
        actions.set_lexicon_word(world.user("b_admin"), world.a.school.pk, "x", "warn")
    with pytest.raises(NotFound):
        actions.set_lexicon_word(world.user("a_head"), world.a.school.pk, "x", "warn")
    assert LexiconEntry.objects.count() == 2


def test_flag_review(world):
    start(world, text="你真是个白痴")
    flag = Flag.objects.get()
    with pytest.raises(NotFound):
        actions.review_flag(world.user("a_head"), flag.pk)
    actions.review_flag(world.user("a_admin"), flag.pk)
    flag.refresh_from_db()
    assert flag.reviewed_by == world.user("a_admin")


# --------------------------------------------------------------------------- Q&A


def test_question_lifecycle_and_first_response_time(world, django_capture_on_commit_callbacks):
    parent, head, teacher = world.user("a_parent"), world.user("a_head"), world.user("a_teacher")
    klass = world.a.g7c1
    with django_capture_on_commit_callbacks(execute=True):
        question, _ = actions.ask_question(parent, klass.pk, "春游需要带午饭吗？")
    assert question.status == "open"
    assert Notification.objects.filter(user__in=[head, teacher], kind="conversation.question").count() == 2
    assert list(queries.open_questions(teacher)) == [question]
    assert list(queries.open_questions(world.user("teacher_parent"))) == []
    question.created_at = timezone.now() - datetime.timedelta(minutes=30)
    question.save(update_fields=["created_at"])
    with django_capture_on_commit_callbacks(execute=True):
        actions.answer_question(teacher, question.pk, "需要，学校不提供午饭。")
    question.refresh_from_db()
    assert question.status == "answered" and question.first_responder == teacher
    seconds = question.first_response_seconds
    assert seconds is not None and 30 * 60 <= seconds < 31 * 60
    assert list(queries.open_questions(teacher)) == []
    assert Notification.objects.filter(user=parent, kind="conversation.answer").count() == 1
    first = question.first_response_at
    actions.answer_question(head, question.pk, "另外请带水。")
    question.refresh_from_db()
    assert question.first_response_at == first and question.first_responder == teacher
    assert queries.teacher_response_stats(teacher)["questions_answered_first"] == 1
    actions.close_question(parent, question.pk)
    question.refresh_from_db()
    assert question.status == "closed" and question.closed_at is not None
    with pytest.raises(ValidationError):
        actions.answer_question(head, question.pk, "too late")


def test_question_permissions(world):
    with pytest.raises(NotFound):  # not a guardian of this class
        actions.ask_question(world.user("a_parent"), world.a.g7c2.pk, "hello there")
    with pytest.raises(NotFound):
        actions.ask_question(world.user("a_head"), world.a.g7c1.pk, "hello there")
    question, _ = actions.ask_question(world.user("a_parent"), world.a.g7c1.pk, "作业什么时候交？")
    for outsider in ("teacher_parent", "b_head", "a_parent_norec"):
        with pytest.raises(NotFound):
            actions.answer_question(world.user(outsider), question.pk, "answer")
    with pytest.raises(NotFound):
        actions.close_question(world.user("a_parent_norec"), question.pk)


def test_faq_suggestions_by_token_overlap(world):
    parent, teacher = world.user("a_parent"), world.user("a_teacher")
    q1, _ = actions.ask_question(parent, world.a.g7c1.pk, "春游需要带午饭吗？")
    actions.answer_question(teacher, q1.pk, "需要带午饭。")
    q2, _ = actions.ask_question(parent, world.a.g7c1.pk, "期中考试是哪一天？")  # open: never suggested
    found = queries.suggest_answers(parent, world.a.g7c1.pk, "春游要带午饭吗")
    assert [f["question"] for f in found] == [q1]
    assert found[0]["answer"].text == "需要带午饭。"
    assert queries.suggest_answers(parent, world.a.g7c1.pk, "期中考试") == []
    assert queries.suggest_answers(world.user("b_parent"), world.a.g7c1.pk, "春游要带午饭吗") == []


def test_canned_replies(world):
    teacher, admin = world.user("a_teacher"), world.user("a_admin")
    mine = actions.save_canned_reply(teacher, world.a.school.pk, title="收到", text="收到，谢谢！")
    with pytest.raises(ValidationError):
        actions.save_canned_reply(teacher, world.a.school.pk, title="全校", text="x", school_wide=True)
    shared = actions.save_canned_reply(
        admin, world.a.school.pk, title="全校", text="请查看校历。", school_wide=True
    )
    assert shared.owner is None and mine.owner == teacher
    with pytest.raises(NotFound):
        actions.delete_canned_reply(teacher, shared.pk)
    with pytest.raises(NotFound):
        actions.save_canned_reply(world.user("a_parent"), world.a.school.pk, title="t", text="x")
    actions.delete_canned_reply(teacher, mine.pk)


# --------------------------------------------------------------------------- archive and export


def test_no_delete_in_the_archive(world):
    sent = start(world)
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        sent.message.thread.delete()
    assert not hasattr(actions, "delete_thread") and not hasattr(actions, "delete_message")


def test_export_of_a_thread_and_of_a_class(world, media_root):
    sent = start(world, attachments=[SimpleUploadedFile("photo.png", PNG, "image/png")])
    thread = sent.message.thread
    head = world.user("a_head")
    actions.mark_thread_read(head, thread)
    actions.send_message(head, thread.pk, text="好的")
    admin = world.user("a_admin")
    export = actions.export_threads(admin, thread_id=thread.pk, fmt="json")
    data = json.loads(export.content)
    [t] = data["threads"]
    assert [m["text"] for m in t["messages"]] == ["明天的作业是什么？", "好的"]
    assert t["messages"][0]["attachments"][0]["name"] == "photo.png"
    assert t["messages"][0]["read_by"][0]["user_id"] == head.pk
    assert {p["role"] for p in t["participants"]} == {"guardian", "staff"}
    csv_export = actions.export_threads(admin, class_id=world.a.g7c1.pk, fmt="csv")
    text = csv_export.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("thread_id,subject") and "photo.png" in text and "好的" in text
    assert csv_export.messages == 2
    events = AuditEvent.objects.filter(action="conversations.export").order_by("pk")
    assert [e.actor_id for e in events] == [admin.pk, admin.pk]
    for who in ("a_head", "a_parent", "b_admin"):
        forget_scope(world.user(who))
        with pytest.raises(NotFound):
            actions.export_threads(world.user(who), thread_id=thread.pk)


# --------------------------------------------------------------------------- blocked attempts


def test_blocked_attempts_are_recorded_with_words_and_a_masked_excerpt_only(world):
    from schoolbridge.conversations.models import BlockedAttempt, Question

    sent = start(world)
    parent = world.user("a_parent")
    secret = "我们家住在幸福小区三号楼，电话一三八，" + "老师你这个傻逼，明天" + "再说吧。" * 20
    with pytest.raises(ValidationError):
        actions.send_message(parent, sent.message.thread_id, text=secret)
    attempt = BlockedAttempt.objects.get()
    assert (
        attempt.author == parent and attempt.kind == "message" and attempt.thread_id == sent.message.thread_id
    )
    assert attempt.school_id == world.a.school.pk and attempt.words == ["傻逼"]
    assert "傻*" in attempt.excerpt and "傻逼" not in attempt.excerpt
    assert len(attempt.excerpt) < 80 and secret not in attempt.excerpt and "幸福小区" not in attempt.excerpt
    assert Message.objects.count() == 1  # nothing was sent
    audit = AuditEvent.objects.get(action="conversations.blocked")
    assert "幸福小区" not in json.dumps(audit.after, ensure_ascii=False)

    klass = world.a.students["g7c1"][0].current_class
    with pytest.raises(ValidationError):
        actions.ask_question(parent, klass.pk, "fuck this")
    question, _d = actions.ask_question(parent, klass.pk, "几点放学？")
    with pytest.raises(ValidationError):
        actions.answer_question(world.user("a_head"), question.pk, "去死")
    with pytest.raises(ValidationError):
        actions.start_thread(parent, key(world, "a_parent", 0, "a_teacher"), subject="傻逼", text="hello")
    rows = list(BlockedAttempt.objects.order_by("pk").values_list("kind", "klass_id", "words"))
    assert rows[1:] == [
        ("question", klass.pk, ["fuck"]),
        ("answer", klass.pk, ["去死"]),
        ("thread", klass.pk, ["傻逼"]),
    ]
    assert Question.objects.count() == 1 and Thread.objects.count() == 1
    # Warn-level words are flagged as before, not recorded as blocked.
    actions.send_message(parent, sent.message.thread_id, text="笨蛋")
    assert BlockedAttempt.objects.count() == 4 and Flag.objects.count() == 1


def test_masked_excerpt():
    from schoolbridge.conversations import wordfilter

    text = "a" * 50 + " you fucking idiot " + "b" * 50
    hits = [h for h in wordfilter.check(text) if h.level == "block"]
    excerpt = wordfilter.masked_excerpt(text, hits, width=10)
    assert (
        excerpt.startswith("…")
        and excerpt.endswith("…")
        and "f******" in excerpt
        and "fucking" not in excerpt
    )
    assert wordfilter.masked_excerpt("fuck", wordfilter.check("fuck")) == "f***"
    assert wordfilter.masked_excerpt("fine", []) == ""
