"""The version as an engine Instance: checked with the engine's own scorer; solving from the browser
when the CP-SAT engine is there."""

from __future__ import annotations

import pytest
from django.test import Client

from schoolbridge.notify.models import Notification
from schoolbridge.testing.auth import login_verified
from schoolbridge.timetable import actions, solving
from schoolbridge.timetable.engine.model import Placement
from schoolbridge.timetable.engine.score import score
from schoolbridge.timetable.models import Lesson

from .ttworld import build

pytestmark = pytest.mark.django_db


def solution_of(tt, mapping):
    out = {}
    for x in Lesson.objects.filter(version=tt.version, day__isnull=False).select_related("room"):
        room = next((name for name, pk in mapping.rooms.items() if pk == x.room_id), None)
        out[x.pk] = Placement(mapping.weekdays.index(x.day), mapping.periods.index(x.period), room)
    return out


def test_instance_matches_the_school(world):
    tt = build(world)
    actions.set_unavailable(tt.admin, world.a.term.pk, tt.teacher.pk, [(5, 8)])
    inst, mapping = solving.instance_for(tt.version)
    assert mapping.weekdays == [1, 2, 3, 4, 5] and mapping.periods == list(range(1, 9))
    assert inst.n_days == 5 and inst.n_hours == 8
    assert set(inst.teachers) == {"王老师", "李老师", "周老师家长"}
    assert set(inst.subgroups) == {"七年级1班", "七年级2班", "八年级1班"}
    assert len(inst.activities) == 6
    chinese = [a for a in inst.activities.values() if a.subject == "语文"]
    assert len(chinese) == 2 and chinese[0].group_id == chinese[1].group_id and chinese[0].total_duration == 2
    double = next(a for a in inst.activities.values() if a.duration == 2)
    tags = {type(c).__name__ for c in inst.constraints}
    assert {
        "BasicCompulsoryTime",
        "BasicCompulsorySpace",
        "TeacherNotAvailableTimes",
        "ActivityPreferredRoom",
    } <= tags
    from schoolbridge.timetable.engine.model import ActivityPreferredStartingTimes

    starts = next(c for c in inst.constraints if isinstance(c, ActivityPreferredStartingTimes))
    assert starts.activity_id == double.id
    # A double lesson may start at periods 1–3 and 5–7 each day, not at 4 (midday) nor 8.
    assert sorted(h for d, h in starts.times if d == 0) == [0, 1, 2, 4, 5, 6]


def test_the_engine_scorer_agrees_with_the_clash_checks(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    tt.place("g7c1_maths", 1, 2, 1)
    tt.place("g7c1_chinese", 0, 1, 2)
    tt.place("g7c1_chinese", 1, 3, 2)
    tt.place("g8c1_maths", 0, 1, 1)
    tt.place("g7c2_maths", 0, 1, 5)
    inst, mapping = solving.instance_for(tt.version)
    report = score(inst, solution_of(tt, mapping))
    assert report.hard_total == 0, report.to_text()
    # A clash written behind the editor's back: the scorer sees it too.
    Lesson.objects.filter(pk=tt.lessons("g8c1_maths")[0].pk).update(day=1, period=2)  # 李老师 twice
    report = score(inst, solution_of(tt, mapping))
    assert report.hard_total > 0


def test_apply_solution_refuses_clashes(world):
    tt = build(world)
    inst, mapping = solving.instance_for(tt.version)
    a, b = tt.lessons("g7c1_chinese")
    from schoolbridge.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        solving.apply_solution(tt.admin, tt.version, {a.pk: (0, 0, None), b.pk: (0, 0, None)}, mapping)
    assert not Lesson.objects.filter(version=tt.version, day__isnull=False).exists()
    # A partial timetable (the solver ran out of time): stored lesson by lesson, the clashing one left out.
    clash = {a.pk: (0, 0, None), b.pk: (0, 0, None)}
    assert solving.apply_solution(tt.admin, tt.version, clash, mapping, partial=True) == 1
    assert Lesson.objects.filter(version=tt.version, day__isnull=False).count() == 1
    assert (
        solving.apply_solution(tt.admin, tt.version, {a.pk: (0, 0, "A 101"), b.pk: (2, 3, None)}, mapping)
        == 2
    )
    a.refresh_from_db()
    assert (a.day, a.period, a.room_id) == (1, 1, tt.rooms[0].pk)


def test_solve_from_the_browser(world):
    if not solving.solver_available():
        pytest.skip("the CP-SAT engine (timetable.engine.solver.compile_instance) is not available")
    tt = build(world)
    tt.place("g7c1_maths", 0, 2, 2)
    actions.set_locked(tt.admin, tt.lessons("g7c1_maths")[0].pk, True)
    client = Client()
    login_verified(client, tt.admin)
    assert "/solve/" in client.get(f"/timetable/v/{tt.version.pk}/").content.decode()
    r = client.post(f"/timetable/v/{tt.version.pk}/solve/", {"seconds": 5})
    assert r.status_code == 302
    # The job runs after the commit (eagerly in tests).
    solving.solve_version(tt.version.pk, tt.admin.pk, 5)
    assert not Lesson.objects.filter(version=tt.version, day__isnull=True).exists()
    locked = tt.lessons("g7c1_maths")[0]
    assert (locked.day, locked.period) == (2, 2)
    from schoolbridge.timetable import clashes, queries

    assert (
        clashes.all_clashes(queries.week_of(world.a.term), queries.as_placed(queries.lessons_of(tt.version)))
        == []
    )
    assert Notification.objects.filter(user=tt.admin, kind="timetable.solve").count() >= 2


def test_quick_fill_places_everything_without_clashes(world):
    from schoolbridge.timetable import clashes, queries

    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    actions.set_locked(tt.admin, tt.lessons("g7c1_maths")[0].pk, True)
    actions.set_unavailable(
        tt.admin, world.a.term.pk, tt.teacher.pk, [(d, p) for d in range(1, 6) for p in (1, 2)]
    )
    assert solving.quick_fill(tt.admin, tt.version) == 5
    lessons = queries.lessons_of(tt.version)
    assert all(x.placed for x in lessons)
    assert clashes.all_clashes(queries.week_of(world.a.term), queries.as_placed(lessons)) == []
    # 李老师's lessons avoid periods 1–2; a requirement's lessons go on different days.
    assert all((x.period or 0) > 2 for x in lessons if tt.teacher in x.requirement.teachers.all())
    maths = [x.day for x in lessons if x.requirement_id == tt.reqs["g7c1_maths"].pk]
    assert len(set(maths)) == 2
    assert (tt.lessons("g7c1_maths")[0].day, tt.lessons("g7c1_maths")[0].period) == (1, 1)


def test_demo_command(world):
    from io import StringIO

    from django.core.management import call_command

    from schoolbridge.timetable import clashes, queries
    from schoolbridge.timetable.models import TimetableVersion

    out = StringIO()
    call_command("timetable_demo", "--seconds", "3", "--lessons-per-week", "3", stdout=out)
    # School A: four classes-and-subjects taught (the teacher-parent teaches in A); school B: three.
    for sw, n in ((world.a, 4 * 3), (world.b, 3 * 3)):
        version = TimetableVersion.objects.get(school=sw.school, status="published")
        lessons = queries.lessons_of(version)
        assert len(lessons) == n and all(x.placed for x in lessons)
        assert clashes.all_clashes(queries.week_of(sw.term), queries.as_placed(lessons)) == []
        assert queries.has_bell_schedule(sw.term)
    assert "12 of 12 lessons placed" in out.getvalue()
    # Run again: schools with a published timetable are left alone.
    call_command("timetable_demo", stdout=StringIO())
    assert TimetableVersion.objects.count() == 2
