"""Grades pages through the test client: the grid (typing, paste, upload), the guardian's page, statistics
and report cards."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from schoolbridge.core.models import Enrollment, Person, Student, Subject
from schoolbridge.grades import actions, queries
from schoolbridge.grades.actions import rows_from_pairs
from schoolbridge.grades.models import AssessmentSubject, Score
from schoolbridge.grades.views import parse_paste
from schoolbridge.web.tests.helpers import verified_client

from .conftest import make_assessment, subject_row

pytestmark = pytest.mark.django_db


def login(world, name):
    """A logged-in client (two-factor verified, as administrators must be)."""
    return verified_client(world.user(name), "zh-hans")


def entry_url(assessment, klass, subject):
    return f"/grades/{assessment.pk}/entry/{klass.pk}/{subject.pk}/"


def published(world, assessment, maths_values, chinese_values=None):
    n = [s.student_number for s in world.a.students["g7c1"]]
    head, teacher = world.user("a_head"), world.user("a_teacher")
    actions.enter_scores(
        head,
        subject_row(assessment, world.a.maths),
        world.a.g7c1,
        rows_from_pairs(zip(n, maths_values, strict=True)),
    )
    if chinese_values:
        actions.enter_scores(
            teacher,
            subject_row(assessment, world.a.chinese),
            world.a.g7c1,
            rows_from_pairs(zip(n, chinese_values, strict=True)),
        )
    actions.publish(world.user("a_admin"), assessment)


def test_grid_post_saves_and_errors_name_rows(client, world, assessment):
    client = login(world, "a_head")
    url = entry_url(assessment, world.a.g7c1, world.a.maths)
    page = client.get(url)
    assert page.status_code == 200
    n = [s.student_number for s in world.a.students["g7c1"]]
    bad = client.post(url, {"mode": "grid", "n": n, "v": ["90", "101", "x"]})
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "第 2 行" in text or "Row 2" in text
    assert Score.objects.count() == 0
    good = client.post(url, {"mode": "grid", "n": n, "v": ["90", "缺考", "75.5"]})
    assert good.status_code == 302
    assert Score.objects.count() == 3
    # A Chinese teacher may not open the maths grid of this class.
    assert login(world, "a_teacher").get(url).status_code == 404
    assert login(world, "b_admin").get(url).status_code == 404


def test_paste_two_columns_and_one_column():
    grid = ["A1", "A2", "A3"]
    two = parse_paste("A2\t88\r\nA1\t缺考\n\n", grid)
    assert [(r.row, r.student_number, r.value) for r in two] == [(1, "A2", "88"), (2, "A1", "缺考")]
    one = parse_paste("70\n80\n\n", grid)
    assert [(r.student_number, r.value) for r in one] == [("A1", "70"), ("A2", "80")]


def test_paste_form_posts(client, world, assessment):
    client = login(world, "a_head")
    n = [s.student_number for s in world.a.students["g7c1"]]
    url = entry_url(assessment, world.a.g7c1, world.a.maths)
    response = client.post(url, {"mode": "paste", "paste": f"{n[0]}\t66\n{n[1]}\t77\n"})
    assert response.status_code == 302
    assert list(Score.objects.order_by("value").values_list("value", flat=True)) == [
        Decimal("66"),
        Decimal("77"),
    ]


def test_template_download_and_upload(client, world, assessment):
    client = login(world, "a_head")
    url = entry_url(assessment, world.a.g7c1, world.a.maths)
    download = client.get(url + "template.xlsx")
    assert download.status_code == 200
    ws = load_workbook(io.BytesIO(download.content)).worksheets[0]
    listed = [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)]
    assert listed == sorted(s.student_number for s in world.a.students["g7c1"])
    ws.cell(row=2, column=3).value = 91
    ws.cell(row=3, column=3).value = "免考"
    ws.cell(row=4, column=3).value = 130
    buf = io.BytesIO()
    ws.parent.save(buf)
    buf.seek(0)
    buf.name = "scores.xlsx"
    bad = client.post(url, {"mode": "upload", "file": buf})
    assert bad.status_code == 422
    assert "130" in bad.content.decode() and Score.objects.count() == 0
    ws.cell(row=4, column=3).value = 88
    buf = io.BytesIO()
    ws.parent.save(buf)
    buf.seek(0)
    buf.name = "scores.xlsx"
    assert client.post(url, {"mode": "upload", "file": buf}).status_code == 302
    assert Score.objects.count() == 3
    junk = io.BytesIO(b"not a workbook")
    junk.name = "scores.xlsx"
    response = client.post(url, {"mode": "upload", "file": junk})
    assert response.status_code == 422 and Score.objects.count() == 3


def test_guardian_sees_own_child_with_class_average_and_no_rank(client, world, assessment):
    published(world, assessment, ["90", "70", "缺考"], ["80", "60", "85"])
    child = world.a.students["g7c1"][0]
    client = login(world, "a_parent")
    page = client.get(f"/grades/child/{child.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "90" in html and "80.0" in html  # maths: own 90, class average (90 + 70) / 2 = 80
    assert "class-average" in html
    assert 'class="numcol rank"' not in html and "Rank in class" not in html
    lines = queries.child_scores(child)
    maths = next(x for x in lines[0].lines if x.subject_name == world.a.maths.name)
    assert maths.class_average == 80.0 and maths.class_max == 90.0 and maths.rank is None
    # Another child, a child whose guardianship has no records, a child of another school: 404.
    other = world.a.students["g7c1"][1]
    assert client.get(f"/grades/child/{other.pk}/").status_code == 404
    client = login(world, "a_parent_norec")
    assert client.get(f"/grades/child/{other.pk}/").status_code == 404
    client = login(world, "b_parent")
    assert client.get(f"/grades/child/{child.pk}/").status_code == 404
    # Staff do not use the guardian page.
    client = login(world, "a_head")
    assert client.get(f"/grades/child/{child.pk}/").status_code == 404


def test_rank_only_when_the_school_allows(client, world, assessment):
    published(world, assessment, ["90", "95", "缺考"])
    actions.set_grades_settings(world.user("a_admin"), world.a.school, True)
    child = world.a.students["g7c1"][0]
    client = login(world, "a_parent")
    html = client.get(f"/grades/child/{child.pk}/").content.decode()
    assert 'class="numcol rank">2 / 2' in html


def test_draft_scores_are_not_shown_to_guardians(client, world, assessment):
    n = [s.student_number for s in world.a.students["g7c1"]]
    actions.enter_scores(
        world.user("a_head"),
        subject_row(assessment, world.a.maths),
        world.a.g7c1,
        rows_from_pairs([(n[0], "93")]),
    )
    assert queries.child_scores(world.a.students["g7c1"][0]) == []


def test_child_page_queries_do_not_grow_with_assessments(client, world):
    child = world.a.students["g7c1"][0]
    first = make_assessment(world, "一")
    published(world, first, ["90", "70", "60"], ["80", "60", "85"])
    client = login(world, "a_parent")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/grades/child/{child.pk}/")
    for name in ("二", "三"):
        published(world, make_assessment(world, name), ["91", "71", "61"], ["81", "61", "86"])
    with CaptureQueriesContext(connection) as three:
        page = client.get(f"/grades/child/{child.pk}/")
    assert len(one.captured_queries) == len(three.captured_queries)
    assert page.content.decode().count("assessment-scores") == 3


def _big_grade(world, per_class=250, classes=4, subjects=9):
    """1,000 students in grade 7 of school A and 9 subjects, scored."""
    from schoolbridge.core.models import Class

    a = world.a
    extra = [
        Class.objects.create(
            district=world.district, school=a.school, year=a.year, grade=a.grade7, name=f"七年级{i}班"
        )
        for i in range(3, 3 + classes - 2)
    ]
    klasses = [a.g7c1, a.g7c2, *extra]
    subs = [a.maths, a.chinese] + [
        Subject.objects.create(district=world.district, school=a.school, name=f"科目{i}", code=f"S{i}")
        for i in range(subjects - 2)
    ]
    assessment = actions.create_assessment(
        world.user("a_admin"),
        a.term,
        a.grade7,
        "期末",
        "final",
        a.term.start_date,
        [actions.SubjectSpec(s) for s in subs],
    )
    people = Person.objects.bulk_create(
        [
            Person(district=world.district, family_name="吴", given_name=str(i))
            for i in range(per_class * classes)
        ]
    )
    students = Student.objects.bulk_create(
        [
            Student(
                district=world.district,
                school=a.school,
                person=p,
                student_number=f"G{i:06d}",
                current_class=klasses[i % classes],
            )
            for i, p in enumerate(people)
        ]
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                district=world.district,
                school=a.school,
                student=s,
                klass=klasses[i % classes],
                start_date=a.year.start_date,
            )
            for i, s in enumerate(students)
        ]
    )
    rows = list(AssessmentSubject.objects.filter(assessment=assessment))
    Score.objects.bulk_create(
        [
            Score(
                district=world.district,
                school=a.school,
                assessment_subject=r,
                student=s,
                klass=klasses[i % classes],
                value=Decimal((i * 7 + j * 13) % 101),
                marker="none",
            )
            for j, r in enumerate(rows)
            for i, s in enumerate(students)
        ],
        batch_size=2000,
    )
    return assessment, klasses


def test_grade_statistics_for_1000_students_and_9_subjects_use_constant_queries(client, world):
    assessment, klasses = _big_grade(world)
    with CaptureQueriesContext(connection) as ctx:
        report = queries.assessment_statistics(assessment, klasses, whole_grade=True)
    assert len(ctx.captured_queries) == 2
    assert len(report.subjects) == 9
    assert all(s.grade is not None and s.grade.count == 1000 for s in report.subjects)
    assert sum(summary.count for _k, summary in report.subjects[0].classes) == 1000
    # The statistics page for the school administrator: a constant handful of queries too.
    client = login(world, "a_admin")
    with CaptureQueriesContext(connection) as page_ctx:
        page = client.get(f"/grades/{assessment.pk}/statistics/")
    assert page.status_code == 200
    assert len(page_ctx.captured_queries) <= 12, [q["sql"][:80] for q in page_ctx.captured_queries]
    assert 'id="stats-data"' in page.content.decode()


def test_statistics_values_and_scope(client, world, assessment):
    published(world, assessment, ["90", "70", "缺考"])
    client = login(world, "a_head")
    page = client.get(f"/grades/{assessment.pk}/statistics/")
    assert page.status_code == 200
    report = page.context["report"]
    maths = next(s for s in report.subjects if s.subject.subject_id == world.a.maths.pk)
    assert maths.grade is None  # a head teacher sees their class, not the grade
    ((klass, summary),) = maths.classes
    assert klass == world.a.g7c1 and summary.mean == 80.0 and summary.absent == 1 and summary.pass_rate == 1.0
    assert login(world, "a_parent").get(f"/grades/{assessment.pk}/statistics/").status_code == 404
    assert login(world, "b_admin").get(f"/grades/{assessment.pk}/statistics/").status_code == 404


def test_report_cards_render_as_pdf(client, world, assessment):
    published(world, assessment, ["90", "70", "缺考"], ["80", "60", "85"])
    child = world.a.students["g7c1"][0]
    actions.set_comment(world.user("a_head"), assessment, child, "学习认真，继续保持。")
    from schoolbridge.grades import reports

    html = reports.render_html(assessment, [child])
    assert child.person.full_name in html and "学习认真" in html and "80.0" in html
    client = login(world, "a_head")
    one = client.get(f"/grades/{assessment.pk}/student/{child.pk}/report.pdf")
    assert one.status_code == 200 and one["Content-Type"] == "application/pdf"
    assert one.content.startswith(b"%PDF")
    whole = client.get(f"/grades/{assessment.pk}/class/{world.a.g7c1.pk}/report.pdf")
    assert whole.content.startswith(b"%PDF")
    assert len(whole.content) > 5000
    from weasyprint import HTML

    students = world.a.students["g7c1"]
    document = HTML(string=reports.render_html(assessment, students)).render()
    assert len(document.pages) == len(students)  # one page per student
    assert (
        login(world, "a_teacher").get(f"/grades/{assessment.pk}/student/{child.pk}/report.pdf").status_code
        == 404
    )


def test_publish_view_and_correction_view(client, world, assessment):
    n = [s.student_number for s in world.a.students["g7c1"]]
    actions.enter_scores(
        world.user("a_head"),
        subject_row(assessment, world.a.maths),
        world.a.g7c1,
        rows_from_pairs([(n[0], "50")]),
    )
    client = login(world, "a_teacher")
    assert client.post(f"/grades/{assessment.pk}/publish/").status_code == 404
    client = login(world, "a_admin")
    assert client.post(f"/grades/{assessment.pk}/publish/").status_code == 302
    client = login(world, "a_head")
    score = Score.objects.get()
    url = f"/grades/score/{score.pk}/correct/"
    bad = client.post(url, {"value": "55", "reason": " "})
    assert bad.status_code == 200 and Score.objects.get().value == Decimal("50")
    assert client.post(url, {"value": "55", "reason": "漏加附加题"}).status_code == 302
    assert Score.objects.get().value == Decimal("55")
    # The grid is read-only now; a POST is refused.
    grid = entry_url(assessment, world.a.g7c1, world.a.maths)
    assert "readonly" in client.get(grid).content.decode()
    assert client.post(grid, {"mode": "grid", "n": [n[0]], "v": ["1"]}).status_code == 404
