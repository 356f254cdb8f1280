"""Versions, requirements, moving lessons with clash checks in words, publishing, access."""

from __future__ import annotations

import pytest
from django.utils import translation

from schoolbridge.access.helpers import NotFound
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput
from schoolbridge.notify.models import Notification
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import Lesson, TimetableVersion

from .ttworld import build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def messages(exc: InvalidInput) -> list[str]:
    return [str(m) for ms in exc.message_dict.values() for m in ms]


def test_requirements_create_unplaced_lessons(world):
    tt = build(world)
    assert Lesson.objects.filter(version=tt.version).count() == 2 + 2 + 1 + 1
    assert not Lesson.objects.filter(version=tt.version, day__isnull=False).exists()
    double = tt.lessons("g7c2_maths")[0]
    assert double.duration == 2
    assert tt.lessons("g7c1_chinese")[0].room == tt.rooms[0]
    assert AuditEvent.objects.filter(action="timetable.requirement.add").count() == 4
    assert AuditEvent.objects.filter(action="timetable.version.create").count() == 1


def test_bad_requirement_input_writes_nothing(world):
    tt = build(world)
    before = Lesson.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.add_requirement(tt.admin, tt.version, world.b.g7c1.pk, world.a.maths.pk, [tt.head.pk], 0, 9)
    assert {"klass", "lessons_per_week", "duration"} <= set(exc.value.message_dict)
    with pytest.raises(InvalidInput) as exc:
        # A teacher of another school.
        other = world.b.school.staff.first()
        actions.add_requirement(tt.admin, tt.version, world.a.g7c1.pk, world.a.maths.pk, [other.pk], 2)
    assert "teachers" in exc.value.message_dict
    assert Lesson.objects.count() == before


def test_move_refuses_clashes_with_a_specific_message(world):
    tt = build(world)
    tt.place("g8c1_maths", 0, 1, 3)  # 李老师 teaches 八年级1班 on Monday period 3
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c1_chinese", 0, 1, 3)
    assert messages(exc.value) == ["李老师 already teaches 八年级1班 on Monday period 3"]
    # The class is busy: maths and Chinese of 七年级1班 at the same time.
    tt.place("g7c1_maths", 0, 2, 1)
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c1_chinese", 0, 2, 1)
    assert messages(exc.value) == ["七年级1班 already has 数学 on Tuesday period 1"]
    # The room: Chinese of 七年级1班 in A 101 on Wednesday 2; 七年级2班's double maths wants it at 1–2.
    tt.place("g7c1_chinese", 0, 3, 2)
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c2_maths", 0, 3, 1, tt.rooms[0])
    assert messages(exc.value) == ["A 101 is already used by 七年级1班 on Wednesday period 2"]
    # A double lesson across the midday break, and a period that does not exist.
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c2_maths", 0, 3, 4)
    assert "cannot run across the midday break" in messages(exc.value)[0]
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c1_maths", 1, 1, 9)
    assert messages(exc.value) == ["There is no period 9 on Monday"]
    with pytest.raises(InvalidInput) as exc:
        tt.place("g7c1_maths", 1, 6, 1)
    assert "not a school day" in messages(exc.value)[0]
    # Nothing moved by the refused attempts.
    assert [(x.day, x.period) for x in tt.lessons("g7c2_maths")] == [(None, None)]
    assert AuditEvent.objects.filter(action="timetable.lesson.move").count() == 3


def test_unavailable_teacher(world):
    tt = build(world)
    actions.set_unavailable(tt.admin, world.a.term.pk, tt.teacher.pk, [(5, 7), (5, 8)])
    with pytest.raises(InvalidInput) as exc:
        tt.place("g8c1_maths", 0, 5, 8)
    assert messages(exc.value) == ["李老师 is not available on Friday period 8"]
    tt.place("g8c1_maths", 0, 5, 6)


def test_alternatives_list_only_legal_slots(world):
    tt = build(world)
    tt.place("g8c1_maths", 0, 1, 3)
    chinese = tt.place("g7c1_chinese", 0, 1, 1)
    lesson, alts = actions.alternatives(tt.version, chinese.pk)
    slots = {(a.day, a.period) for a in alts}
    assert (1, 3) not in slots and (1, 1) not in slots and (1, 2) in slots
    assert len(slots) == 5 * 8 - 2
    for a in alts:
        assert a.room_ids[0] == tt.rooms[0].pk
    # Every listed slot really is accepted.
    a = alts[-1]
    moved = actions.move_lesson(tt.admin, chinese.pk, a.day, a.period, a.room_ids[0])
    assert (moved.day, moved.period) == (a.day, a.period)


def test_publish_supersedes_and_locks_editing(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    v1 = actions.publish(tt.admin, tt.version)
    assert v1.status == TimetableVersion.Status.PUBLISHED and v1.published_by == tt.admin
    assert AuditEvent.objects.filter(action="timetable.version.publish", object_id=str(v1.pk)).exists()
    # The teachers hear about it.
    assert Notification.objects.filter(user=world.user("a_head"), kind="timetable.published").exists()
    with pytest.raises(InvalidInput):
        tt.place("g7c1_maths", 1, 1, 2)
    v2 = actions.create_version(tt.admin, world.a.school.pk, world.a.term.pk, "第二版", copy_from=v1.pk)
    assert Lesson.objects.filter(version=v2).count() == 6
    copied = {
        (
            r.klass_id,
            r.subject_id,
            tuple(sorted(t.pk for t in r.teachers.all())),
            r.lessons_per_week,
            r.room_id,
        )
        for r in v2.requirements.all()
    }
    original = {
        (
            r.klass_id,
            r.subject_id,
            tuple(sorted(t.pk for t in r.teachers.all())),
            r.lessons_per_week,
            r.room_id,
        )
        for r in v1.requirements.all()
    }
    assert copied == original and all(len(c[2]) == 1 for c in copied)
    assert not Lesson.objects.filter(version=v2).exclude(requirement__version=v2).exists()
    assert Lesson.objects.filter(version=v2, day=1, period=1).count() == 1
    actions.publish(tt.admin, v2)
    v1.refresh_from_db()
    assert v1.status == TimetableVersion.Status.SUPERSEDED
    assert TimetableVersion.objects.filter(term=world.a.term, status="published").get() == v2


def test_others_cannot_edit(world):
    tt = build(world)
    lesson = tt.lessons("g7c1_maths")[0]
    for name in ("b_admin", "a_teacher", "a_head", "a_parent", "a_principal"):
        with pytest.raises(NotFound):
            actions.move_lesson(world.user(name), lesson.pk, 1, 1)
        with pytest.raises(NotFound):
            actions.publish(world.user(name), tt.version)
    with pytest.raises(NotFound):
        actions.create_version(world.user("b_admin"), world.a.school.pk, world.a.term.pk, "x")


def test_requirements_from_teaching_assignments(world):
    sw = world.a
    admin = world.user("a_admin")
    version = actions.create_version(admin, sw.school.pk, sw.term.pk, "从任课安排")
    made = actions.requirements_from_assignments(admin, version, 3)
    pairs = {
        (r.klass.name, r.subject.name, tuple(t.person.full_name for t in r.teachers.all())) for r in made
    }
    assert pairs == {
        ("七年级1班", "数学", ("王老师",)),
        ("七年级1班", "语文", ("李老师",)),
        ("八年级1班", "数学", ("李老师",)),
        ("七年级2班", "数学", ("周老师家长",)),
    }
    assert Lesson.objects.filter(version=version).count() == 12
    assert actions.requirements_from_assignments(admin, version, 3) == []
    with pytest.raises(InvalidInput):
        actions.requirements_from_assignments(admin, version, 0)
    with pytest.raises(NotFound):
        actions.requirements_from_assignments(world.user("b_admin"), version, 3)
