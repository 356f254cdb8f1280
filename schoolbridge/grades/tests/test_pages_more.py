"""Creating an assessment through its page, the guardian's PDF report card and trend chart, the settings
shortcut."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from schoolbridge.audit.models import AuditEvent
from schoolbridge.grades import actions
from schoolbridge.grades.models import Assessment, AssessmentSubject
from schoolbridge.testing.auth import login_verified
from schoolbridge.testing.world import World

from .conftest import make_assessment
from .test_views import published

pytestmark = pytest.mark.django_db


def client_for(world: World, name: str) -> Client:
    client = Client()
    client.cookies["sb_lang"] = "en"
    login_verified(client, world.user(name))
    return client


def form_data(world: World, **overrides: Any) -> dict[str, Any]:
    """The page's POST for school A: grade 7, maths ticked (full marks 120), Chinese not ticked."""
    a = world.a
    subjects = sorted([a.maths, a.chinese], key=lambda s: (s.code, s.pk))  # the page's order: by code
    data: dict[str, Any] = {
        "name": "期中考试",
        "kind": "midterm",
        "term": a.term.pk,
        "grade": a.grade7.pk,
        "date": datetime.date.today().isoformat(),
        "s-TOTAL_FORMS": str(len(subjects)),
        "s-INITIAL_FORMS": str(len(subjects)),
        "s-MIN_NUM_FORMS": "0",
        "s-MAX_NUM_FORMS": "60",
    }
    for i, s in enumerate(subjects):
        data[f"s-{i}-subject"] = s.pk
        data[f"s-{i}-full_marks"] = "100"
        data[f"s-{i}-weight"] = "1"
        if s == a.maths:
            data[f"s-{i}-include"] = "on"
            data[f"s-{i}-full_marks"] = "120"
            data[f"s-{i}-pass_mark"] = "72"
    data.update(overrides)
    return data


def row_index(world: World, subject: Any) -> int:
    subjects = sorted([world.a.maths, world.a.chinese], key=lambda s: (s.code, s.pk))
    return subjects.index(subject)


def url(world: World) -> str:
    return f"/grades/school/{world.a.school.pk}/new/"


def test_admin_creates_an_assessment(world):
    client = client_for(world, "a_admin")
    page = client.get(url(world))
    assert page.status_code == 200
    html = page.content.decode()
    assert world.a.maths.name in html and world.a.chinese.name in html
    assert 'name="s-0-include"' in html and 'type="date"' in html
    response = client.post(url(world), form_data(world))
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Assessment.objects.get()
    assert response["Location"] == f"/grades/{created.pk}/"
    assert (created.name, created.kind, created.grade_id, created.term_id) == (
        "期中考试",
        "midterm",
        world.a.grade7.pk,
        world.a.term.pk,
    )
    (row,) = AssessmentSubject.objects.filter(assessment=created)
    assert row.subject_id == world.a.maths.pk
    assert (row.full_marks, row.pass_mark, row.excellent_mark, row.weight) == (
        Decimal("120"),
        Decimal("72"),
        Decimal("102"),  # 85 % of 120
        Decimal("1"),
    )
    assert AuditEvent.objects.filter(action="grades.assessment.create").count() == 1


def test_grade_director_only_for_their_grade(world):
    client = client_for(world, "a_director")
    page = client.get(url(world))
    assert page.status_code == 200
    grades_offered = list(page.context["form"].fields["grade"].queryset)
    assert grades_offered == [world.a.grade7]
    bad = client.post(url(world), form_data(world, grade=world.a.grade8.pk))
    assert bad.status_code == 422
    assert "grade" in bad.context["form"].errors and Assessment.objects.count() == 0
    assert client.post(url(world), form_data(world)).status_code == 302
    assert Assessment.objects.get().grade_id == world.a.grade7.pk


def test_field_errors_and_nothing_saved(world):
    client = client_for(world, "a_admin")
    i = row_index(world, world.a.maths)
    response = client.post(
        url(world),
        form_data(
            world,
            name="  ",
            date="2001-01-01",
            **{f"s-{i}-pass_mark": "130", f"s-{i}-excellent_mark": "abc"},
        ),
    )
    assert response.status_code == 422
    form, rows = response.context["form"], response.context["rows"]
    assert "name" in form.errors
    assert "within the term" in str(form.errors["date"])
    assert "above the full marks" in str(rows.forms[i].errors["pass_mark"])
    assert "excellent_mark" in rows.forms[i].errors
    html = response.content.decode()
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    assert Assessment.objects.count() == 0 and AssessmentSubject.objects.count() == 0


def test_no_subject_ticked_and_duplicate_name(world):
    client = client_for(world, "a_admin")
    i = row_index(world, world.a.maths)
    data = form_data(world)
    del data[f"s-{i}-include"]
    response = client.post(url(world), data)
    assert response.status_code == 422
    assert "Choose at least one subject." in response.content.decode()
    make_assessment(world, "期中考试")
    response = client.post(url(world), form_data(world))
    assert response.status_code == 422
    assert "already has an assessment of this name" in str(response.context["form"].errors["name"])
    assert Assessment.objects.count() == 1


def test_out_of_scope_is_404(world):
    assert client_for(world, "b_admin").get(url(world)).status_code == 404
    assert client_for(world, "a_head").get(url(world)).status_code == 404
    assert client_for(world, "a_parent").get(url(world)).status_code == 404
    assert client_for(world, "a_admin").get("/grades/school/999999/new/").status_code == 404
    # A subject of another school in the hidden field is refused, nothing saved.
    other = world.b.maths
    i = row_index(world, world.a.maths)
    response = client_for(world, "a_admin").post(url(world), form_data(world, **{f"s-{i}-subject": other.pk}))
    assert response.status_code == 422 and Assessment.objects.count() == 0


def test_index_links_to_creation(world):
    html = client_for(world, "a_admin").get("/grades/").content.decode()
    assert url(world) in html
    assert url(world) not in client_for(world, "a_teacher").get("/grades/").content.decode()
    picked = client_for(world, "a_director").get("/grades/new/")
    assert picked.status_code == 302 and picked["Location"] == url(world)
    assert client_for(world, "a_teacher").get("/grades/new/").status_code == 404


def test_guardian_downloads_own_childs_report_card(world, assessment):
    published(world, assessment, ["90", "70", "缺考"], ["80", "60", "85"])
    child, other = world.a.students["g7c1"][0], world.a.students["g7c1"][1]
    report = f"/grades/child/{child.pk}/{assessment.pk}/report.pdf"
    client = client_for(world, "a_parent")
    page = client.get(f"/grades/child/{child.pk}/")
    assert report in page.content.decode()
    response = client.get(report)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and response["Cache-Control"] == "no-store"
    # Another child; a guardianship without records; another school's guardian; staff: all 404.
    assert client.get(f"/grades/child/{other.pk}/{assessment.pk}/report.pdf").status_code == 404
    assert (
        client_for(world, "a_parent_norec")
        .get(f"/grades/child/{other.pk}/{assessment.pk}/report.pdf")
        .status_code
        == 404
    )
    assert client_for(world, "b_parent").get(report).status_code == 404
    assert client_for(world, "a_head").get(report).status_code == 404


def test_guardian_report_card_needs_a_published_assessment_with_the_childs_scores(world, assessment):
    child = world.a.students["g7c1"][0]
    client = client_for(world, "a_parent")
    draft = make_assessment(world, "草稿")
    n = [s.student_number for s in world.a.students["g7c1"]]
    actions.enter_scores(
        world.user("a_head"),
        AssessmentSubject.objects.get(assessment=draft, subject=world.a.maths),
        world.a.g7c1,
        actions.rows_from_pairs([(n[0], "90")]),
    )
    assert client.get(f"/grades/child/{child.pk}/{draft.pk}/report.pdf").status_code == 404
    # Published, but the child has no score in it.
    actions.enter_scores(
        world.user("a_head"),
        AssessmentSubject.objects.get(assessment=assessment, subject=world.a.maths),
        world.a.g7c1,
        actions.rows_from_pairs([(n[1], "80")]),
    )
    actions.publish(world.user("a_admin"), assessment)
    assert client.get(f"/grades/child/{child.pk}/{assessment.pk}/report.pdf").status_code == 404
    assert client.get(f"/grades/child/{child.pk}/999999/report.pdf").status_code == 404


def test_trend_chart_with_its_data_when_there_are_two_exams(world):
    child = world.a.students["g7c1"][0]
    first = make_assessment(world, "一")
    published(world, first, ["90", "70", "60"], ["80", "60", "85"])
    client = client_for(world, "a_parent")
    html = client.get(f"/grades/child/{child.pk}/").content.decode()
    assert 'id="trend-chart"' not in html  # one exam: no trend
    published(world, make_assessment(world, "二"), ["60", "71", "61"], ["70", "61", "86"])
    html = client.get(f"/grades/child/{child.pk}/").content.decode()
    assert 'id="trend-chart"' in html and 'role="img"' in html
    assert 'id="trend-data"' in html and "vendor/echarts.min.js" in html and "grades/trend.js" in html
    assert '"percent": 85.0' in html and '"percent": 65.0' in html


def test_settings_shortcut(world):
    response = client_for(world, "a_admin").get("/grades/settings/")
    assert response.status_code == 302 and response["Location"] == f"/grades/settings/{world.a.school.pk}/"
    assert client_for(world, "a_director").get("/grades/settings/").status_code == 404
