"""Score entry, correction, publication and comments through the actions, on the real database."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schoolbridge.access.scope import get_scope
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound, Refused
from schoolbridge.core.models import Enrollment, Person, Student
from schoolbridge.grades import actions
from schoolbridge.grades.actions import ScoreErrors, ScoreRow, rows_from_pairs
from schoolbridge.grades.models import Score
from schoolbridge.notify.models import Notification

from .conftest import subject_row

pytestmark = pytest.mark.django_db


def numbers(world, key="g7c1"):
    return [s.student_number for s in world.a.students[key]]


def test_head_teacher_enters_maths_scores_with_markers(world, assessment):
    n = numbers(world)
    maths = subject_row(assessment, world.a.maths)
    result = actions.enter_scores(
        world.user("a_head"),
        maths,
        world.a.g7c1,
        rows_from_pairs([(n[0], "95.5"), (n[1], "缺考"), (n[2], "exempt")]),
    )
    assert result.saved == 3
    got = {s.student.student_number: (s.value, s.marker) for s in Score.objects.select_related("student")}
    assert got == {n[0]: (Decimal("95.50"), "none"), n[1]: (None, "absent"), n[2]: (None, "exempt")}
    assert Score.objects.filter(klass=world.a.g7c1, school=world.a.school).count() == 3
    event = AuditEvent.objects.get(action="grades.scores.enter")
    assert (event.after or {})["scores"][n[0]] == "95.5"


def test_every_error_named_by_row_and_column_and_nothing_saved(world, assessment):
    n = numbers(world)
    maths = subject_row(assessment, world.a.maths)
    actions.enter_scores(world.user("a_head"), maths, world.a.g7c1, rows_from_pairs([(n[0], "50")]))
    rows = [
        ScoreRow(2, n[0], "80"),  # fine on its own
        ScoreRow(3, n[1], "120"),  # out of range
        ScoreRow(4, n[2], "abc"),  # not a number
        ScoreRow(5, "X99999", "70"),  # unknown student
        ScoreRow(6, n[1], "60"),  # duplicate of row 3
        ScoreRow(7, "", "60"),  # missing number
        ScoreRow(8, n[2], "-1"),  # duplicate and below zero
    ]
    with pytest.raises(ScoreErrors) as caught:
        actions.enter_scores(world.user("a_head"), maths, world.a.g7c1, rows)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {
        (3, "score"),
        (4, "score"),
        (5, "student_number"),
        (6, "student_number"),
        (7, "student_number"),
        (8, "student_number"),
        (8, "score"),
    }
    messages = caught.value.message_dict["rows"]
    assert any("120" in m and "100" in m and "3" in m for m in messages)
    assert any("X99999" in m for m in messages)
    # Nothing changed: the earlier 50 stands, no other score was written.
    assert list(Score.objects.values_list("value", flat=True)) == [Decimal("50.00")]


def test_blank_removes_a_score_and_unchanged_values_are_not_audited(world, assessment):
    n = numbers(world)
    maths = subject_row(assessment, world.a.maths)
    head = world.user("a_head")
    actions.enter_scores(head, maths, world.a.g7c1, rows_from_pairs([(n[0], "50"), (n[1], "60")]))
    result = actions.enter_scores(head, maths, world.a.g7c1, rows_from_pairs([(n[0], ""), (n[1], "60")]))
    assert result.cleared == 1 and result.changed == 1
    assert list(Score.objects.values_list("student__student_number", flat=True)) == [n[1]]


def test_only_teachers_of_the_subject_in_the_class(world, assessment):
    n = numbers(world)
    maths, chinese = subject_row(assessment, world.a.maths), subject_row(assessment, world.a.chinese)
    rows = rows_from_pairs([(n[0], "70")])
    # a_teacher teaches Chinese in g7c1, not maths.
    with pytest.raises(NotFound):
        actions.enter_scores(world.user("a_teacher"), maths, world.a.g7c1, rows)
    actions.enter_scores(world.user("a_teacher"), chinese, world.a.g7c1, rows)
    # teacher_parent teaches maths in g7c2 only.
    with pytest.raises(NotFound):
        actions.enter_scores(world.user("teacher_parent"), maths, world.a.g7c1, rows)
    for outsider in ("b_admin", "b_head", "a_parent", "a_student", "district_admin"):
        with pytest.raises(NotFound):
            actions.enter_scores(world.user(outsider), maths, world.a.g7c1, rows)
    # The school administrator may enter any class of the school.
    actions.enter_scores(world.user("a_admin"), maths, world.a.g7c1, rows)
    # A class of another grade is not part of this assessment.
    with pytest.raises(NotFound):
        actions.enter_scores(
            world.user("a_admin"), maths, world.a.g8c1, rows_from_pairs([(numbers(world, "g8c1")[0], "1")])
        )


_NUMBERS = itertools.count(1)


def _add_students(world, klass, count, counter=_NUMBERS):
    people = Person.objects.bulk_create(
        [Person(district=world.district, family_name="陈", given_name=f"生{i}") for i in range(count)]
    )
    students = Student.objects.bulk_create(
        [
            Student(
                district=world.district,
                school=klass.school,
                person=p,
                student_number=f"Q{next(counter):06d}",
                current_class=klass,
            )
            for p in people
        ]
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                district=world.district,
                school=klass.school,
                student=s,
                klass=klass,
                start_date=world.a.year.start_date,
            )
            for s in students
        ]
    )
    return students


def _count_entry(world, maths, students, value):
    head = world.user("a_head")
    get_scope(head)  # the user's grants load once per request, before the action
    rows = rows_from_pairs([(s.student_number, value) for s in students])
    with CaptureQueriesContext(connection) as ctx:
        actions.enter_scores(head, maths, world.a.g7c1, rows)
    return len(ctx.captured_queries)


def test_entry_uses_a_constant_number_of_queries(world, assessment):
    maths = subject_row(assessment, world.a.maths)
    small = _add_students(world, world.a.g7c1, 10)
    first = _count_entry(world, maths, small, "70")
    more = _add_students(world, world.a.g7c1, 40)
    second = _count_entry(world, maths, small + more, "71")
    assert first == second, (first, second)
    assert Score.objects.filter(value=Decimal("71")).count() == 50
    assert first <= 12


def test_publish_locks_entry_and_notifies_guardians_once(world, assessment):
    n = numbers(world)
    maths = subject_row(assessment, world.a.maths)
    actions.enter_scores(
        world.user("a_head"), maths, world.a.g7c1, rows_from_pairs([(n[0], "88"), (n[1], "70")])
    )
    with pytest.raises(NotFound):
        actions.publish(world.user("a_teacher"), assessment)
    with pytest.raises(NotFound):
        actions.publish(world.user("b_admin"), assessment)
    notified = actions.publish(world.user("a_director"), assessment)
    assessment.refresh_from_db()
    assert assessment.is_published and assessment.published_by == world.user("a_director")
    # a_parent (records, notices) is told; a_parent_norec may not see records: not told.
    assert notified == 1
    assert list(Notification.objects.filter(kind="grades").values_list("user__username", flat=True)) == [
        "a_parent"
    ]
    with pytest.raises(Refused):
        actions.enter_scores(world.user("a_head"), maths, world.a.g7c1, rows_from_pairs([(n[0], "99")]))
    with pytest.raises(Refused):
        actions.publish(world.user("a_admin"), assessment)
    assert Score.objects.get(student__student_number=n[0]).value == Decimal("88")


def test_correction_after_publication_is_audited(world, assessment):
    n = numbers(world)
    maths = subject_row(assessment, world.a.maths)
    actions.enter_scores(world.user("a_head"), maths, world.a.g7c1, rows_from_pairs([(n[0], "88")]))
    score = Score.objects.get()
    with pytest.raises(Refused):  # not published yet: use the grid
        actions.correct_score(world.user("a_head"), score, "90", "复核")
    actions.publish(world.user("a_admin"), assessment)
    with pytest.raises(NotFound):  # a subject teacher cannot correct
        actions.correct_score(world.user("a_teacher"), score, "90", "复核")
    with pytest.raises(InvalidInput) as caught:
        actions.correct_score(world.user("a_head"), score, "101", "")
    assert set(caught.value.message_dict) == {"reason", "value"}
    actions.correct_score(world.user("a_head"), score, "90", "复核加分")
    score.refresh_from_db()
    assert score.value == Decimal("90")
    event = AuditEvent.objects.get(action="grades.score.correct")
    before, after = event.before or {}, event.after or {}
    assert before["value"] == "88.00" and after["value"] == "90.00"
    assert after["reason"] == "复核加分"
    assert event.actor == world.user("a_head")


def test_comment_by_head_teacher_only(world, assessment):
    child = world.a.students["g7c1"][0]
    with pytest.raises(NotFound):
        actions.set_comment(world.user("a_teacher"), assessment, child, "好")
    c = actions.set_comment(world.user("a_head"), assessment, child, "进步明显，继续加油。")
    assert c is not None and c.text == "进步明显，继续加油。"
    with pytest.raises(InvalidInput):
        actions.set_comment(world.user("a_head"), assessment, child, "长" * 1001)
    assert actions.set_comment(world.user("a_head"), assessment, child, "") is None


def test_create_assessment_validation(world):
    a = world.a
    with pytest.raises(NotFound):
        actions.create_assessment(
            world.user("a_teacher"),
            a.term,
            a.grade7,
            "x",
            "quiz",
            a.term.start_date,
            [actions.SubjectSpec(a.maths)],
        )
    with pytest.raises(InvalidInput) as caught:
        actions.create_assessment(
            world.user("a_admin"),
            a.term,
            a.grade7,
            " ",
            "nope",
            None,
            [
                actions.SubjectSpec(a.maths, Decimal("100"), Decimal("120")),
                actions.SubjectSpec(world.b.maths),
            ],
        )
    assert set(caught.value.message_dict) == {"name", "kind", "date", "subjects"}
    created = actions.create_assessment(
        world.user("a_director"),
        a.term,
        a.grade7,
        "期中",
        "midterm",
        a.term.start_date,
        [actions.SubjectSpec(a.maths, Decimal("150"))],
    )
    row = created.subjects.get()
    assert row.pass_mark == Decimal("90.00") and row.excellent_mark == Decimal("127.50")
