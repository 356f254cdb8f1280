"""In a real browser on a phone: a teacher enters scores in the grid with the keyboard, the grade director
publishes, and the guardian sees their child's score with the class average and no rank."""

from __future__ import annotations

import pytest

from schoolbridge.grades.models import Score
from schoolbridge.web.tests.browser import assert_accessible, assert_fits_phone, log_in

from .conftest import make_assessment

pytestmark = pytest.mark.browser


def test_teacher_enters_scores_director_publishes_guardian_sees_average_without_rank(
    live_world, live_server_url, browser, phone_page
):
    world = live_world
    assessment = make_assessment(world)
    students = sorted(world.a.students["g7c1"], key=lambda s: s.student_number)
    child = world.a.students["g7c1"][0]
    page = phone_page

    # The head teacher (who also teaches maths in the class) types the scores.
    log_in(page, live_server_url, "a_head")
    page.goto(f"{live_server_url}/grades/")
    page.click(f"a[href='/grades/{assessment.pk}/']")
    page.click(f"a.entry-link[href='/grades/{assessment.pk}/entry/{world.a.g7c1.pk}/{world.a.maths.pk}/']")
    page.wait_for_selector("#score-1")
    assert_fits_phone(page)
    assert_accessible(page, "the score grid")
    typed = {students[0].pk: "92", students[1].pk: "78", students[2].pk: "缺考"}
    page.click("#score-1")
    for i, st in enumerate(students, start=1):
        assert page.evaluate("document.activeElement.id") == f"score-{i}"
        page.keyboard.type(typed[st.pk])
        page.keyboard.press("Enter")  # moves down, does not submit
    assert Score.objects.count() == 0
    with page.expect_navigation():
        page.click("#save-scores")
    assert page.locator(".messages").count() == 1
    assert Score.objects.count() == 3

    # The grade director publishes.
    director = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        dpage = director.new_page()
        log_in(dpage, live_server_url, "a_director")
        dpage.goto(f"{live_server_url}/grades/{assessment.pk}/")
        with dpage.expect_navigation():
            dpage.click("#publish")
        assert dpage.locator("#publish").count() == 0
    finally:
        director.close()
    assessment.refresh_from_db()
    assert assessment.is_published

    # The guardian: own child's score, the class average (92 + 78) / 2 = 85.0, no rank.
    parent = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        ppage = parent.new_page()
        log_in(ppage, live_server_url, "a_parent")
        ppage.goto(f"{live_server_url}/grades/")
        with ppage.expect_navigation():
            ppage.click(f"a[href='/grades/child/{child.pk}/']")
        line = ppage.locator("tr.subject-line").first
        own = typed[child.pk]
        assert own in line.locator(".score").inner_text()
        assert line.locator(".class-average").inner_text().strip() == "85.0"
        assert ppage.locator(".rank").count() == 0
        assert "排名" not in ppage.inner_text("main") and "Rank" not in ppage.inner_text("main")
        assert_fits_phone(ppage)
        assert_accessible(ppage, "the guardian's scores page")
        other = world.a.students["g7c1"][1]
        response = ppage.goto(f"{live_server_url}/grades/child/{other.pk}/")
        assert response.status == 404
    finally:
        parent.close()


def test_grade_director_creates_an_assessment_on_a_phone(live_world, live_server_url, phone_page):
    from schoolbridge.grades.models import Assessment, AssessmentSubject

    world = live_world
    page = phone_page
    log_in(page, live_server_url, "a_director")
    page.goto(f"{live_server_url}/grades/")
    with page.expect_navigation():
        page.click("a.new-assessment")
    page.wait_for_selector("#assessment-form")
    assert_fits_phone(page)
    assert_accessible(page, "the new assessment form")
    page.fill("#id_name", "第二次月考")
    page.select_option("#id_kind", "monthly")
    page.select_option("#id_grade", str(world.a.grade7.pk))
    maths = page.locator("label.include", has_text=world.a.maths.name)
    maths.locator("input[type=checkbox]").check()
    row = page.locator("fieldset.subject-row", has=maths)
    row.locator("input[name$='-full_marks']").fill("120")
    row.locator("input[name$='-pass_mark']").fill("130")  # above the full marks
    with page.expect_navigation():
        page.click("#create-assessment")
    assert page.locator("#form-problems").count() == 1
    assert row.locator("input[name$='-pass_mark'][aria-invalid='true']").count() == 1
    assert Assessment.objects.count() == 0
    assert_accessible(page, "the new assessment form with errors")
    row.locator("input[name$='-pass_mark']").fill("72")
    with page.expect_navigation():
        page.click("#create-assessment")
    created = Assessment.objects.get()
    assert page.url.endswith(f"/grades/{created.pk}/")
    (subject,) = AssessmentSubject.objects.filter(assessment=created)
    assert subject.subject_id == world.a.maths.pk and subject.full_marks == 120 and subject.pass_mark == 72
