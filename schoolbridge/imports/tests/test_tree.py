"""Classes (with grade and head teacher) and teaching assignments from a file."""

import pytest

from schoolbridge.core.errors import Refused
from schoolbridge.core.models import Class, Enrollment, TeachingAssignment
from schoolbridge.imports import actions
from schoolbridge.imports.models import ImportRow

from .helpers import office_csv, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    return world.user("a_admin")


def test_classes_created_updated_and_rolled_back(world, admin):
    header = ["班级", "年级", "班主任"]
    rows = [
        ["七年级3班", "初一", "T-teacher"],  # new; grade by its other name; head teacher by staff number
        ["初一(2)班", "七年级", "李老师"],  # the existing 七年级2班; head teacher by name
        ["七年级1班", "七年级", ""],  # existing, nothing to change
        ["九年级1班", "九年级", ""],  # no such grade
        ["七年级3班", "七年级", ""],  # again
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=header), target="classes")
    by = {r.number: r for r in ImportRow.objects.filter(batch=batch)}
    assert [by[n].action for n in range(2, 7)] == ["error", "update", "unchanged", "error", "error"]
    assert by[5].errors[0]["params"] == {"value": "九年级"}
    assert by[2].errors[0]["params"] == {"value": "七年级3班", "other": 6}  # both copies are flagged
    teacher = world.a.g7c1.assignments.first().teacher  # 王老师 heads g7c1; 李老师 is a_teacher
    assert by[3].changes["head_teacher"][1] != teacher.pk

    rows[4] = ["七年级4班", "七年级", ""]
    batch = run(admin, world.a.school, office_csv(rows[:3] + rows[4:], header=header), target="classes")
    assert batch.counts["create"] == 2 and batch.counts["update"] == 1 and batch.counts["unchanged"] == 1
    actions.commit(admin, batch.pk)
    g7c3 = Class.objects.get(school=world.a.school, name="七年级3班")
    assert g7c3.grade == world.a.grade7
    assert g7c3.head_teacher is not None and g7c3.head_teacher.staff_number == "T-teacher"
    world.a.g7c2.refresh_from_db()
    assert world.a.g7c2.head_teacher.person.full_name == "李老师"

    actions.rollback(admin, batch)
    assert not Class.objects.filter(name__in=["七年级3班", "七年级4班"]).exists()
    world.a.g7c2.refresh_from_db()
    assert world.a.g7c2.head_teacher is None


def test_a_class_with_students_is_not_rolled_back(world, admin):
    batch = run(
        admin,
        world.a.school,
        office_csv([["七年级5班", "七年级", ""]], header=["班级", "年级", "班主任"]),
        target="classes",
    )
    actions.commit(admin, batch.pk)
    klass = Class.objects.get(name="七年级5班")
    student = world.a.students["g7c1"][0]
    Enrollment.objects.filter(student=student, end_date__isnull=True).update(end_date=world.a.year.start_date)
    Enrollment.objects.create(district=world.district, school=world.a.school, student=student, klass=klass,
                              start_date=world.a.year.start_date)  # fmt: skip
    with pytest.raises(Refused):
        actions.rollback(admin, batch)
    assert Class.objects.filter(pk=klass.pk).exists()


def test_teaching_assignments(world, admin):
    header = ["工号", "任教班级", "科目", "学期"]
    rows = [
        ["T-teacher", "初一(2)班", "数学", ""],  # new, current term
        ["王老师", "七年级2班", "CHN", "上学期"],  # new; by name and subject code
        ["T-head", "七年级1班", "数学", ""],  # exists already
        ["T-nobody", "七年级1班", "物理", "下学期"],
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=header), target="assignments")
    assert batch.counts == {**batch.counts, "create": 2, "unchanged": 1, "error": 1}
    bad = ImportRow.objects.get(batch=batch, number=5)
    assert {e["column"] for e in bad.errors} == {"工号", "科目", "学期"}
    before = TeachingAssignment.objects.count()
    actions.commit(admin, batch.pk)
    assert TeachingAssignment.objects.count() == before + 2
    assert TeachingAssignment.objects.filter(
        klass=world.a.g7c2, subject=world.a.chinese, teacher__staff_number="T-head"
    ).exists()
    again = run(admin, world.a.school, office_csv(rows[:3], header=header), target="assignments")
    assert again.counts["unchanged"] == 3
    actions.rollback(admin, batch)
    assert TeachingAssignment.objects.count() == before
