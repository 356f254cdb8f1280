"""Notices: who may send to whom, receipts, fan-out, read/confirm, edit, withdraw, reminders, escalation."""

from __future__ import annotations

import datetime
import io
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import NotFound
from schoolbridge.core.models import Guardian, Guardianship, Person
from schoolbridge.notices import actions, sweep
from schoolbridge.notices.models import (
    Notice,
    NoticeAttachment,
    NoticeStat,
    NoticeVersion,
    Receipt,
    ReceiptStudent,
    Status,
)
from schoolbridge.notices.queries import per_class, totals, unread
from schoolbridge.notify.models import Notification
from schoolbridge.notify.sms import read_outbox
from schoolbridge.testing.world import World

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _send(world: World, who: str, audience: list[str], **kw: Any) -> Notice:
    defaults: dict[str, Any] = {"title": "Sports day", "body": "Bring trainers.\nhttps://example.org"}
    defaults.update(kw)
    return actions.send_notice(world.user(who), world.a.school.pk, audience=audience, **defaults)


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in exc.value.message_dict.items()}


def _second_guardian(world: World, username: str = "a_parent2") -> Any:
    """Another account in the family of a_parent's child (student 1 of g7c1)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=username, password="x-Bridge-2026", phone="13700000001"
    )
    guardian = Guardian.objects.create(
        district=world.district,
        person=Person.objects.create(district=world.district, family_name="陈", given_name="爸爸", user=user),
    )
    Guardianship.objects.create(
        district=world.district,
        school=world.a.school,
        guardian=guardian,
        student=world.a.students["g7c1"][0],
        relationship="father",
    )
    return user


def test_head_teacher_sends_to_class_one_receipt_per_account(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    other = _second_guardian(world)
    with django_capture_on_commit_callbacks(execute=True):
        notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], confirmation_required=True)
    users = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert users == {world.user("a_parent").pk, world.user("a_parent_norec").pk, other.pk}
    assert notice.status == Status.SENT and notice.recipient_count == 3
    # The fan-out ran after commit: every receipt delivered, exactly one inbox row each.
    assert Receipt.objects.filter(notice=notice, delivered_at__isnull=True).count() == 0
    assert Notification.objects.filter(link=notice.link, kind="notice").count() == 3
    assert ReceiptStudent.objects.filter(notice=notice, klass=world.a.g7c1).count() == 3
    t = totals(notice.pk)
    assert (t["recipients"], t["delivered"], t["families"], t["reached"]) == (3, 3, 2, 0)
    assert AuditEvent.objects.filter(action="notice.send", object_id=str(notice.pk)).exists()


def test_running_the_fan_out_again_duplicates_nothing(world: World) -> None:
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])  # on_commit not run: nothing delivered
    assert Notification.objects.filter(link=notice.link).count() == 0
    assert actions.deliver_pending(notice.pk, batch=1) == 2
    assert actions.deliver_pending(notice.pk, batch=1) == 0
    assert Notification.objects.filter(link=notice.link).count() == 2


def test_double_tapped_send_makes_one_notice(world: World) -> None:
    first = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], idempotency_key="k-1")
    second = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], idempotency_key="k-1")
    assert first.pk == second.pk
    assert Notice.objects.count() == 1 and Receipt.objects.count() == 2


@pytest.mark.parametrize(
    ("who", "audience", "field"),
    [
        ("a_head", [], "audience"),
        ("a_head", ["school:{school}"], "audience"),  # head teacher cannot address the school
        ("a_head", ["class:{g7c2}"], "audience"),  # nor another class
        ("a_teacher", ["guardians:{other_child}"], "audience"),  # a family outside their classes
        ("a_director", ["class:{g8c1}"], "audience"),  # grade 7 director, grade 8 class
        ("a_admin", ["class:{b_class}"], "audience"),  # another school's class
        ("a_head", ["nonsense"], "audience"),
    ],
)
def test_audience_beyond_reach_is_a_field_error_and_saves_nothing(
    world: World, who: str, audience: list[str], field: str
) -> None:
    ids = {
        "school": world.a.school.pk,
        "g7c2": world.a.g7c2.pk,
        "g8c1": world.a.g8c1.pk,
        "other_child": world.a.students["g7c2"][0].pk,
        "b_class": world.b.g7c1.pk,
    }
    with pytest.raises(ValidationError) as exc:
        _send(world, who, [a.format(**ids) for a in audience])
    assert field in _errors(exc)
    assert Notice.objects.count() == 0 and Receipt.objects.count() == 0


def test_each_role_reaches_what_it_should(world: World) -> None:
    _send(world, "a_admin", [f"school:{world.a.school.pk}", f"staff:{world.a.school.pk}"])
    _send(world, "a_director", [f"grade:{world.a.grade7.pk}"])
    _send(world, "a_teacher", [f"class:{world.a.g8c1.pk}"])
    n = _send(world, "a_teacher", [f"guardians:{world.a.students['g7c1'][1].pk}"])
    assert list(Receipt.objects.filter(notice=n).values_list("user_id", flat=True)) == [
        world.user("a_parent_norec").pk
    ]


def test_school_and_staff_audience(world: World) -> None:
    notice = _send(world, "a_admin", [f"school:{world.a.school.pk}", f"staff:{world.a.school.pk}"])
    users = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert world.user("a_parent").pk in users and world.user("a_head").pk in users
    assert world.user("a_admin").pk not in users  # never the author
    assert world.user("b_parent").pk not in users
    assert Receipt.objects.get(notice=notice, user=world.user("a_head")).is_staff


def test_guardianship_without_notices_and_teacher_in_other_school(world: World) -> None:
    Guardianship.objects.filter(guardian__person__user=world.user("a_parent_norec")).update(
        receives_notices=False
    )
    with pytest.raises(NotFound):
        actions.send_notice(
            world.user("a_head"),
            world.b.school.pk,
            title="x",
            body="y",
            audience=[f"class:{world.b.g7c1.pk}"],
        )
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    assert list(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True)) == [
        world.user("a_parent").pk
    ]


def test_schedule_in_the_past_and_scheduled_dispatch(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with pytest.raises(ValidationError) as exc:
        _send(
            world,
            "a_head",
            [f"class:{world.a.g7c1.pk}"],
            send_at=timezone.now() - datetime.timedelta(hours=1),
        )
    assert "send_at" in _errors(exc)
    at = timezone.now() + datetime.timedelta(hours=2)
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], send_at=at)
    assert notice.status == Status.SCHEDULED and Receipt.objects.count() == 0
    assert actions.dispatch_due(now=timezone.now()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.dispatch_due(now=at + datetime.timedelta(seconds=1)) == 1
    notice.refresh_from_db()
    assert (
        notice.status == Status.SENT
        and Receipt.objects.filter(notice=notice, delivered_at__isnull=False).count() == 2
    )
    assert actions.dispatch_due(now=at + datetime.timedelta(seconds=5)) == 0


def test_attachments_checked_by_extension_and_bytes(world: World) -> None:
    fake = SimpleUploadedFile("photo.png", b"<html>not a png</html>")
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"0" * (10 * 1024 * 1024))
    exe = SimpleUploadedFile("run.exe", b"MZ\x90\x00")
    for bad in (fake, big, exe):
        with pytest.raises(ValidationError) as exc:
            _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], attachments=[bad])
        assert "attachments" in _errors(exc)
    assert Notice.objects.count() == 0 and NoticeAttachment.objects.count() == 0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w/>")
    notice = _send(
        world,
        "a_head",
        [f"class:{world.a.g7c1.pk}"],
        attachments=[SimpleUploadedFile("plan.png", PNG), SimpleUploadedFile("letter.docx", buf.getvalue())],
    )
    kinds = sorted(NoticeAttachment.objects.filter(notice=notice).values_list("content_type", flat=True))
    assert kinds[0] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert kinds[1] == "image/png"
    old_word = SimpleUploadedFile("minutes.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    n2 = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], title="Minutes", attachments=[old_word])
    assert n2.attachments.get().content_type == "application/msword"
    with pytest.raises(ValidationError):  # PNG bytes named .doc
        _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], attachments=[SimpleUploadedFile("x.doc", PNG)])
    # A zip that is not a Word document is refused as .docx.
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(ValidationError):
        _send(
            world,
            "a_head",
            [f"class:{world.a.g7c1.pk}"],
            attachments=[SimpleUploadedFile("x.docx", other.getvalue())],
        )


def test_read_confirm_signature(world: World) -> None:
    notice = _send(
        world, "a_head", [f"class:{world.a.g7c1.pk}"], confirmation_required=True, signature_required=True
    )
    actions.deliver_pending(notice.pk)
    parent = world.user("a_parent")
    with pytest.raises(NotFound):
        actions.mark_read(world.user("b_parent"), notice.pk)
    r = actions.mark_read(parent, notice.pk)
    first = r.read_at
    assert first is not None
    assert actions.mark_read(parent, notice.pk).read_at == first  # the first read counts
    assert Notification.objects.get(user=parent, link=notice.link).read_at is not None
    with pytest.raises(ValidationError) as exc:
        actions.confirm(parent, notice.pk, "")
    assert "signature" in _errors(exc)
    r = actions.confirm(parent, notice.pk, "刘 妈妈")
    assert r.confirmed_at and r.signature == "刘 妈妈"
    t = totals(notice.pk)
    assert (t["read"], t["confirmed"], t["reached"], t["families_confirmed"]) == (1, 1, 1, 1)
    (row,) = per_class(notice.pk)
    assert (row["families"], row["reached"], row["percent"]) == (2, 1, 50)
    assert [u["user_id"] for u in unread(notice.pk)] == [world.user("a_parent_norec").pk]


def test_confirm_refused_when_not_asked(world: World) -> None:
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    with pytest.raises(ValidationError):
        actions.confirm(world.user("a_parent"), notice.pk)


def test_edit_keeps_history_and_withdraw_empties_inboxes(world: World) -> None:
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    actions.deliver_pending(notice.pk)
    with pytest.raises(NotFound):
        actions.edit_notice(world.user("a_teacher"), notice.pk, title="x", body="y")
    actions.edit_notice(world.user("a_head"), notice.pk, title="Sports day moved", body="Now on Friday.")
    (v,) = NoticeVersion.objects.filter(notice=notice)
    assert (v.version, v.title) == (1, "Sports day")
    assert set(Notification.objects.filter(link=notice.link).values_list("title", flat=True)) == {
        "Sports day moved"
    }
    # A school administrator may withdraw it too.
    actions.withdraw_notice(world.user("a_admin"), notice.pk)
    assert Notification.objects.filter(link=notice.link).count() == 0
    assert Receipt.objects.filter(notice=notice).count() == 2
    assert AuditEvent.objects.filter(action="notice.withdraw", object_id=str(notice.pk)).exists()
    with pytest.raises(NotFound):
        actions.mark_read(world.user("a_parent"), notice.pk)
    with pytest.raises(ValidationError):
        actions.edit_notice(world.user("a_head"), notice.pk, title="again", body="x")
    # Running the fan-out after a withdrawal delivers nothing.
    Receipt.objects.filter(notice=notice).update(delivered_at=None)
    assert actions.deliver_pending(notice.pk) == 0


def test_remind_unread_reminds_only_the_unread(world: World) -> None:
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    actions.deliver_pending(notice.pk)
    actions.mark_read(world.user("a_parent"), notice.pk)
    assert actions.remind_unread(world.user("a_head"), notice.pk) == 1
    reminders = Notification.objects.filter(kind="notice.reminder")
    assert list(reminders.values_list("user_id", flat=True)) == [world.user("a_parent_norec").pk]
    assert reminders.get().link == notice.link and "Sports day" in reminders.get().title
    with pytest.raises(ValidationError):  # twice within minutes
        actions.remind_unread(world.user("a_head"), notice.pk)
    with pytest.raises(NotFound):
        actions.remind_unread(world.user("a_teacher"), notice.pk)


def _age(notice: Notice, hours: float) -> None:
    Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now() - datetime.timedelta(hours=hours))


def test_sweep_stages_follow_policy_and_never_remind_readers(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    notice = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    actions.deliver_pending(notice.pk)
    actions.mark_read(world.user("a_parent"), notice.pk)
    norec = world.user("a_parent_norec")
    _age(notice, 1)
    assert sweep.run_sweep()["reminded"] == 0
    _age(notice, 5)
    assert sweep.run_sweep()["reminded"] == 1
    assert sweep.run_sweep()["reminded"] == 0  # once
    assert list(Notification.objects.filter(kind="notice.reminder").values_list("user_id", flat=True)) == [
        norec.pk
    ]
    _age(notice, 25)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.run_sweep()["texted"] == 1
    (sms,) = read_outbox()
    assert sms["to"] == norec.phone and "Sports day" in sms["text"]
    _age(notice, 49)
    result = sweep.run_sweep()
    assert result["escalated"] == 1
    (esc,) = Notification.objects.filter(kind="notice.escalation")
    assert esc.user_id == world.user("a_head").pk
    assert norec.phone in esc.body and world.a.students["g7c1"][1].person.full_name in esc.body
    assert world.user("a_parent").phone not in esc.body  # reached families are not listed
    assert sweep.run_sweep()["escalated"] == 0
    assert Notification.objects.filter(user=world.user("a_parent"), kind__startswith="notice.").count() == 0
    assert NoticeStat.objects.filter(notice=notice).count() >= 5


def test_policy_and_per_notice_override(world: World) -> None:
    actions.set_policy(
        world.user("a_admin"),
        world.a.school.pk,
        remind_after_hours=1,
        sms_after_hours=0,
        escalate_after_hours=0,
    )
    with pytest.raises(NotFound):
        actions.set_policy(
            world.user("a_head"),
            world.a.school.pk,
            remind_after_hours=1,
            sms_after_hours=0,
            escalate_after_hours=0,
        )
    quick = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    slow = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], title="Later", remind_after_hours=10)
    for n in (quick, slow):
        actions.deliver_pending(n.pk)
        _age(n, 2)
    result = sweep.run_sweep()
    assert result["reminded"] == 2 and result["texted"] == 0
    assert set(Notification.objects.filter(kind="notice.reminder").values_list("link", flat=True)) == {
        quick.link
    }


def test_escalation_waits_for_quiet_hours_unless_urgent(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(sweep, "in_quiet_hours", lambda user, at: True)
    normal = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"])
    urgent = _send(world, "a_head", [f"class:{world.a.g7c1.pk}"], title="Flood", priority="urgent")
    for n in (normal, urgent):
        actions.deliver_pending(n.pk)
        _age(n, 50)
    assert sweep.run_sweep()["escalated"] == 1
    assert set(Notification.objects.filter(kind="notice.escalation").values_list("link", flat=True)) == {
        f"/notices/{urgent.pk}/progress/"
    }
    monkeypatch.setattr(sweep, "in_quiet_hours", lambda user, at: False)
    assert sweep.run_sweep()["escalated"] == 1


def test_sweep_is_set_based(world: World) -> None:
    """The number of statements does not grow with the number of receipts."""

    def statements(n_notices: int) -> int:
        Notice.objects.all().delete()
        Notification.objects.all().delete()
        for i in range(n_notices):
            n = _send(
                world, "a_admin", [f"school:{world.a.school.pk}", f"staff:{world.a.school.pk}"], title=f"n{i}"
            )
            actions.deliver_pending(n.pk)
            _age(n, 30)
        with CaptureQueriesContext(connection) as ctx:
            sweep.run_sweep()
        return len(ctx.captured_queries)

    assert statements(1) == statements(4)
