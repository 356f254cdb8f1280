"""Exam scores from a file, wide (a column per subject) or long (subject and score columns)."""

import datetime

import pytest

from schoolbridge.core.errors import Refused
from schoolbridge.grades.models import Assessment, AssessmentSubject, Score
from schoolbridge.imports import actions
from schoolbridge.imports.models import ImportRow

from .helpers import office_csv, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    return world.user("a_admin")


@pytest.fixture
def exam(world):
    a = world.a
    exam = Assessment.objects.create(district=world.district, school=a.school, term=a.term, grade=a.grade7,
                                     name="期中考试", kind="midterm", date=datetime.date.today())  # fmt: skip
    for subject, full in ((a.maths, 100), (a.chinese, 120)):
        AssessmentSubject.objects.create(
            district=world.district, school=a.school, assessment=exam, subject=subject, full_marks=full
        )
    return exam


def test_wide_file_commit_update_and_rollback(world, admin, exam):
    s1, s2 = world.a.students["g7c1"][:2]
    s3 = world.a.students["g7c2"][0]
    header = ["学号", "姓名", "考试", "数学", "语文", "总分"]
    rows = [
        [s1.student_number, "x", "期中考试", "95", "110.5", "205.5"],
        [s2.student_number, "x", "期中考试", "缺考", "", ""],
        [s3.student_number, "x", "期中考试", "101", "abc", ""],
        ["NOPE", "x", "期末考试", "1", "1", ""],
    ]
    batch = run(admin, world.a.school, office_csv(rows, header=header), target="scores")
    assert batch.mapping == {"student_number": "学号", "assessment": "考试"}
    by = {r.number: r for r in ImportRow.objects.filter(batch=batch)}
    assert by[2].action == "create" and by[3].action == "create"
    assert {e["column"] for e in by[4].errors} == {"数学", "语文"}
    assert "out of range" in by[4].errors[0]["message"] or "范围" in by[4].errors[0]["message"]
    assert {e["field"] for e in by[5].errors} == {"student_number", "assessment"}
    actions.commit(admin, batch.pk)
    maths = AssessmentSubject.objects.get(assessment=exam, subject=world.a.maths)
    chinese = AssessmentSubject.objects.get(assessment=exam, subject=world.a.chinese)
    assert Score.objects.get(assessment_subject=maths, student=s1).value == 95
    assert Score.objects.get(assessment_subject=chinese, student=s1).value == 110.5
    assert Score.objects.get(assessment_subject=maths, student=s2).marker == "absent"
    assert not Score.objects.filter(assessment_subject=chinese, student=s2).exists()

    rows2 = [
        [s1.student_number, "x", "期中考试", "96", "110.5", ""],
        [s2.student_number, "x", "期中考试", "缺考", "", ""],
    ]
    again = run(admin, world.a.school, office_csv(rows2, header=header), target="scores")
    r1, r2 = ImportRow.objects.filter(batch=again).order_by("number")
    assert r1.action == "update" and r1.changes == {"数学": ["95.00", "96.00"]}
    assert r2.action == "unchanged"
    actions.commit(admin, again.pk)
    assert Score.objects.get(assessment_subject=maths, student=s1).value == 96
    actions.rollback(admin, again)
    assert Score.objects.get(assessment_subject=maths, student=s1).value == 95
    actions.rollback(admin, batch)
    assert not Score.objects.filter(assessment_subject__assessment=exam).exists()


def test_long_file_and_published_exam(world, admin, exam):
    s1 = world.a.students["g7c1"][0]
    header = ["学号", "考试", "科目", "成绩"]
    rows = [[s1.student_number, "期中考试", "数学", "88"], [s1.student_number, "期中考试", "物理", "70"]]
    batch = run(admin, world.a.school, office_csv(rows, header=header), target="scores")
    r1, r2 = ImportRow.objects.filter(batch=batch).order_by("number")
    assert r1.action == "create" and r2.errors[0]["params"] == {"exam": "期中考试", "value": "物理"}
    exam.status = "published"
    exam.save()
    failed = actions.commit(admin, batch.pk)
    assert failed.status == "failed" and failed.errors[0]["params"]["row"] == 2
    assert not Score.objects.exists()
    exam.status = "draft"
    exam.save()
    batch = run(admin, world.a.school, office_csv(rows[:1], header=header), target="scores")
    batch = actions.commit(admin, batch.pk)
    exam.status = "published"
    exam.save()
    with pytest.raises(Refused):
        actions.rollback(admin, batch)
    assert Score.objects.count() == 1
