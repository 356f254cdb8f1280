"""A timetable on top of the fixture world (school A): a bell schedule of eight periods, three rooms,
a draft version with four requirements. Tests import it explicitly."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from schoolbridge.core.models import Room, Staff
from schoolbridge.schoolcal.models import BellPeriod
from schoolbridge.testing.world import World
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import Lesson, LessonRequirement, TimetableVersion

TIMES = [
    (1, "08:00", "08:45", "am"),
    (2, "08:55", "09:40", "am"),
    (3, "10:00", "10:45", "am"),
    (4, "10:55", "11:40", "am"),
    (5, "14:00", "14:45", "pm"),
    (6, "14:55", "15:40", "pm"),
    (7, "16:00", "16:45", "pm"),
    (8, "16:55", "17:40", "pm"),
]


@dataclass
class TT:
    world: World
    version: TimetableVersion
    head: Staff  # 王老师: maths in g7c1
    teacher: Staff  # 李老师: Chinese in g7c1, maths in g8c1
    tp: Staff  # 周老师家长: maths in g7c2
    rooms: list[Room]
    reqs: dict[str, LessonRequirement] = field(default_factory=dict)

    @property
    def admin(self) -> Any:
        return self.world.user("a_admin")

    def lessons(self, key: str) -> list[Lesson]:
        return list(Lesson.objects.filter(requirement=self.reqs[key]).order_by("pk"))

    def place(self, key: str, index: int, day: int, period: int, room: Room | None = None) -> Lesson:
        lesson = self.lessons(key)[index]
        return actions.move_lesson(self.admin, lesson.pk, day, period, room.pk if room else "keep")


def bell_schedule(world: World) -> None:
    sw = world.a
    for n, start, end, half in TIMES:
        BellPeriod.objects.create(
            district=world.district,
            school=sw.school,
            term=sw.term,
            number=n,
            start=datetime.time.fromisoformat(start),
            end=datetime.time.fromisoformat(end),
            half=half,
        )


def build(world: World, schedule: bool = True) -> TT:
    if schedule:
        bell_schedule(world)
    sw = world.a
    rooms = [
        Room.objects.create(district=world.district, school=sw.school, name=name, building="A")
        for name in ("101", "102", "Lab")
    ]
    staff = {
        getattr(s.person.user, "username", ""): s
        for s in Staff.objects.filter(school=sw.school).select_related("person__user")
    }
    head, teacher, tp = staff["a_head"], staff["a_teacher"], staff["teacher_parent"]
    admin = world.user("a_admin")
    version = actions.create_version(admin, sw.school.pk, sw.term.pk, "第一版")
    tt = TT(world, version, head, teacher, tp, rooms)
    tt.reqs["g7c1_maths"] = actions.add_requirement(admin, version, sw.g7c1.pk, sw.maths.pk, [head.pk], 2)
    tt.reqs["g7c1_chinese"] = actions.add_requirement(
        admin, version, sw.g7c1.pk, sw.chinese.pk, [teacher.pk], 2, 1, rooms[0].pk
    )
    tt.reqs["g8c1_maths"] = actions.add_requirement(admin, version, sw.g8c1.pk, sw.maths.pk, [teacher.pk], 1)
    tt.reqs["g7c2_maths"] = actions.add_requirement(admin, version, sw.g7c2.pk, sw.maths.pk, [tp.pk], 1, 2)
    return tt
