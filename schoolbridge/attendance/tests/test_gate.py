import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.attendance import actions, gate
from schoolbridge.attendance.models import (
    AttendanceSettings,
    GateDevice,
    GateEvent,
    Mark,
    Register,
    StudentCard,
)
from schoolbridge.web.tests.helpers import english_client, verified_client

from .conftest import add_students, ensure_school_day, past_weekday

URL = "/attendance/gate/events"


@pytest.fixture
def day(world):
    """A past school day of both schools whose registers are still open to teachers."""
    d = past_weekday(1)
    for s in (world.a.school, world.b.school):
        AttendanceSettings.objects.create(
            district=world.district, school=s, cutoff_days=7, late_after=datetime.time(8, 0)
        )
        ensure_school_day(s, d)
    return d


def at(day, hh, mm, ss=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hh, mm, ss)))


def ev(eid, when, card=None, student_id=None, direction="in"):
    out = {"event_id": eid, "time": when.isoformat(), "direction": direction}
    if card is not None:
        out["card"] = card
    if student_id is not None:
        out["student_id"] = student_id
    return out


@pytest.fixture
def devices(world):
    da, raw_a = gate.create_device(world.user("a_admin"), world.a.school, "东门")
    db, raw_b = gate.create_device(world.user("b_admin"), world.b.school, "东门")
    return {"a": (da, raw_a), "b": (db, raw_b)}


@pytest.fixture
def cards(world):
    out = {}
    for key in ("a", "b"):
        sw = getattr(world, key)
        for i, s in enumerate(sw.students["g7c1"]):
            StudentCard.objects.create(district=world.district, school=sw.school, student=s, number=f"C{i}")
            out[(key, i)] = f"C{i}"
    return out


def post(client, raw, events, **headers):
    return ApiClient(client, raw, **headers).post(URL, {"events": events})


def mark_of(student, day):
    return Mark.objects.filter(student=student, date=day, register__period__isnull=True).first()


def test_batch_marks_present_and_late_and_keeps_unmatched(client, world, day, devices, cards):
    s1, s2, s3 = world.a.students["g7c1"]
    other = world.b.students["g7c1"][0]
    raw = devices["a"][1]
    r = post(
        client,
        raw,
        [
            ev("e1", at(day, 7, 50), card="C0"),
            ev("e2", at(day, 8, 20), student_id=s2.pk),
            ev("e3", at(day, 7, 55), card="NOPE-1"),
            ev("e4", at(day, 7, 56), student_id=other.pk),
        ],
    )
    assert r.status_code == 200, r.data
    assert r.data == {"received": 4, "accepted": 4, "duplicate": 0, "unmatched": 2}
    m1, m2 = mark_of(s1, day), mark_of(s2, day)
    assert (m1.status, m1.source) == ("present", "gate")
    assert timezone.localtime(m1.arrived_at).time() == datetime.time(7, 50)
    assert m2.status == "late"
    assert mark_of(s3, day) is None and not Mark.objects.filter(student=other).exists()
    register = Register.objects.get(klass=world.a.g7c1, date=day, period=None)
    assert register.taken_at is None  # the gate fills marks in; it does not take the register
    unmatched = GateEvent.objects.filter(student__isnull=True).order_by("event_id")
    assert [(e.card, e.student_ref) for e in unmatched] == [("NOPE-1", None), ("", other.pk)]
    # the office sees them listed
    page = verified_client(world.user("a_admin")).get(f"/attendance/school/{world.a.school.pk}/gate/")
    body = page.content.decode()
    assert page.status_code == 200 and "NOPE-1" in body and str(other.pk) in body
    assert GateDevice.objects.get(pk=devices["a"][0].pk).last_seen_at is not None


def test_duplicates_count_once(client, world, day, devices, cards):
    raw = devices["a"][1]
    batch = [ev("e1", at(day, 7, 50), card="C0"), ev("e2", at(day, 7, 51), card="C1")]
    assert post(client, raw, batch).data["accepted"] == 2
    r = post(client, raw, [*batch, ev("e3", at(day, 7, 52), card="C2"), ev("e3", at(day, 7, 52), card="C2")])
    assert r.data == {"received": 4, "accepted": 1, "duplicate": 3, "unmatched": 0}
    assert GateEvent.objects.count() == 3
    assert Mark.objects.filter(date=day).count() == 3
    # the same event id from another device is another event
    assert post(client, devices["b"][1], [ev("e1", at(day, 7, 50), card="C0")]).data["accepted"] == 1


def test_out_of_order_keeps_the_earliest_arrival(client, world, day, devices, cards):
    s1 = world.a.students["g7c1"][0]
    raw = devices["a"][1]
    post(client, raw, [ev("late", at(day, 8, 30), card="C0")])
    assert mark_of(s1, day).status == "late"
    post(client, raw, [ev("early", at(day, 7, 40), card="C0"), ev("later", at(day, 9, 0), card="C0")])
    m = mark_of(s1, day)
    assert m.status == "present" and timezone.localtime(m.arrived_at).time() == datetime.time(7, 40)
    post(client, raw, [ev("latest", at(day, 8, 50), card="C0")])
    m = mark_of(s1, day)
    assert m.status == "present" and timezone.localtime(m.arrived_at).time() == datetime.time(7, 40)


def test_a_token_of_school_b_cannot_touch_school_a(client, world, day, devices, cards):
    a1 = world.a.students["g7c1"][0]
    b1 = world.b.students["g7c1"][0]
    # C0 is a card number in both schools: B's device means B's student
    r = post(
        client,
        devices["b"][1],
        [ev("x1", at(day, 7, 30), card="C0"), ev("x2", at(day, 7, 31), student_id=a1.pk)],
    )
    assert r.data["unmatched"] == 1
    assert not Mark.objects.filter(student=a1).exists()
    assert mark_of(b1, day).status == "present"
    assert GateEvent.objects.get(event_id="x2").student_id is None


def test_late_threshold_is_the_schools_setting(client, world, day, devices, cards):
    s1, s2, _s3 = world.a.students["g7c1"]
    AttendanceSettings.objects.filter(school=world.a.school).update(late_after=datetime.time(8, 15))
    post(
        client,
        devices["a"][1],
        [ev("a", at(day, 8, 15), card="C0"), ev("b", at(day, 8, 15, 1), card="C1")],
    )
    assert mark_of(s1, day).status == "present"
    assert mark_of(s2, day).status == "late"


def test_teachers_marks_win_over_the_gate(client, world, day, devices, cards):
    s1, s2, s3 = world.a.students["g7c1"]
    actions.take_register(
        world.user("a_teacher"),
        world.a.g7c1,
        day,
        exceptions={s1.pk: ("absent", "病假"), s2.pk: ("sick", "")},
    )
    post(
        client,
        devices["a"][1],
        [
            ev("a", at(day, 7, 40), card="C0"),
            ev("b", at(day, 8, 40), card="C1"),
            ev("c", at(day, 8, 40), card="C2"),
        ],
    )
    m1, m2, m3 = mark_of(s1, day), mark_of(s2, day), mark_of(s3, day)
    assert (m1.status, m1.note, m1.source) == ("absent", "病假", "register")
    assert timezone.localtime(m1.arrived_at).time() == datetime.time(7, 40)  # recorded, status untouched
    assert m2.status == "sick"
    assert m3.status == "present" and m3.source == "register"  # teacher's present stays, not "late"
    # a gate mark is kept when the register is taken again without listing the student
    Mark.objects.filter(pk=m3.pk).delete()
    post(client, devices["a"][1], [ev("d", at(day, 8, 45), card="C2")])
    assert mark_of(s3, day).status == "late"
    actions.take_register(world.user("a_teacher"), world.a.g7c1, day, exceptions={s1.pk: ("absent", "病假")})
    assert mark_of(s3, day).status == "late" and mark_of(s2, day).status == "present"


def test_non_school_days_store_events_but_mark_nothing(client, world, devices, cards):
    AttendanceSettings.objects.create(district=world.district, school=world.a.school)
    d = timezone.localdate() - datetime.timedelta(days=1)
    while d.isoweekday() < 6:
        d -= datetime.timedelta(days=1)
    r = post(client, devices["a"][1], [ev("w", at(d, 9, 0), card="C0")])
    assert r.data["accepted"] == 1 and not Mark.objects.exists()


def test_constant_queries_per_batch(client, world, day, devices):
    students = add_students(world.a.g7c2, 500, tag="Q")
    StudentCard.objects.bulk_create(
        [
            StudentCard(district=world.district, school=world.a.school, student=s, number=f"Q{i}")
            for i, s in enumerate(students)
        ]
    )
    device = GateDevice.objects.select_related("school").get(pk=devices["a"][0].pk)

    def run(n, prefix):
        events = [
            gate.IncomingEvent(
                event_id=f"{prefix}{i}",
                time=at(day, 7, 0) + datetime.timedelta(seconds=7 * i),
                direction="in",
                card=f"Q{i}",
            )
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            result = gate.ingest(device, events)
        return len(ctx.captured_queries), result

    run(5, "warm")  # the first batch of the day also creates the day's registers (two more queries)
    small, r50 = run(50, "s")
    large, r500 = run(500, "l")
    assert r50.accepted == 50 and r500.accepted == 500 and r500.duplicate == 0
    assert small == large, (small, large)
    assert Mark.objects.filter(date=day, source="gate").count() == 500


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer gate_wrong"}, {"Authorization": "Token abc"}],
)
def test_missing_or_invalid_token_is_401(client, world, day, devices, headers):
    r = ApiClient(client, **headers).post(URL, {"events": []})
    assert r.status_code == 401 and r.data["error"]["code"] == "unauthorized"
    assert set(r.data["error"]) == {"code", "message", "fields"}


def test_revoked_and_user_tokens_are_refused(client, world, day, devices):
    device, raw = devices["a"]
    gate.revoke_device(world.user("a_admin"), device.pk)
    assert post(client, raw, []).status_code == 401
    assert post(client, token_for(world.user("a_admin")), []).status_code == 401


def test_bad_batches_store_nothing(client, world, day, devices, cards):
    raw = devices["a"][1]
    r = post(client, raw, [ev("ok", at(day, 7, 0), card="C0"), ev("bad", at(day, 7, 0))])
    assert r.status_code == 422 and "events.1.card" in r.data["error"]["fields"]
    r = post(client, raw, [ev(str(i), at(day, 7, 0), card="C0") for i in range(501)])
    assert r.status_code == 422
    future = timezone.now() + datetime.timedelta(hours=2)
    r = post(client, raw, [ev("f", future, card="C0")])
    assert r.status_code == 422 and "events.0.time" in r.data["error"]["fields"]
    r = post(client, raw, [{**ev("d", at(day, 7, 0), card="C0"), "device": "西门"}])
    assert r.status_code == 422 and "events.0.device" in r.data["error"]["fields"]
    assert not GateEvent.objects.exists() and not Mark.objects.exists()
    r = post(client, raw, [{**ev("d", at(day, 7, 0), card="C0"), "device": "东门"}])
    assert r.status_code == 200


def test_assigning_a_card_attaches_its_unmatched_passages(client, world, day, devices):
    s3 = world.a.students["g7c1"][2]
    post(client, devices["a"][1], [ev("u", at(day, 8, 5), card="NEW-7")])
    assert GateEvent.objects.get(event_id="u").student_id is None
    c = verified_client(world.user("a_admin"))
    url = f"/attendance/school/{world.a.school.pk}/gate/"
    r = c.post(url, {"form": "card", "c-number": "NEW-7", "c-student_number": "nope"})
    assert r.status_code == 400 and "No student of this school" in r.content.decode()
    r = c.post(url, {"form": "card", "c-number": "NEW-7", "c-student_number": s3.student_number})
    assert r.status_code == 302
    assert GateEvent.objects.get(event_id="u").student_id == s3.pk
    assert mark_of(s3, day).status == "late"


def test_device_page_shows_the_token_once_and_stores_its_hash(world):
    c = verified_client(world.user("a_admin"))
    url = f"/attendance/school/{world.a.school.pk}/gate/"
    r = c.post(url, {"form": "device", "d-name": "北门"})
    body = r.content.decode()
    assert r.status_code == 200
    device = GateDevice.objects.get(name="北门")
    raw = body.split('id="token-value" readonly value="', 1)[1].split('"', 1)[0]
    assert raw.startswith(device.token_prefix) and gate.device_for_token(raw) == device
    assert raw not in device.token_hash and gate.hash_token(raw) == device.token_hash
    assert raw not in c.get(url).content.decode()
    r = c.post(url, {"form": "device", "d-name": "北门"})
    assert r.status_code == 400 and "already has a device" in r.content.decode()
    # other schools' admins and teachers do not see the page
    assert verified_client(world.user("b_admin")).get(url).status_code == 404
    assert english_client(world.user("a_teacher")).get(url).status_code == 404
