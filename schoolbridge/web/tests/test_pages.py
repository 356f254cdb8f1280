"""The portal pages of each role, through the real views, middleware and access layer."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from schoolbridge.audit.models import SensitiveRead
from schoolbridge.notify.models import Notification

from .helpers import english_client, verified_client

pytestmark = pytest.mark.django_db


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_guardian_home_shows_a_card_per_child(world):
    parent = world.user("a_parent")
    child = world.a.students["g7c1"][0]
    Notification.objects.create(user=parent, school=world.a.school, kind="notice", title="Sports day on Friday")
    Notification.objects.create(user=parent, school=world.b.school, kind="notice", title="Other school notice")
    html = english_client(parent).get("/").content.decode()
    assert child.person.full_name in html
    assert "第A中学" in html and "七年级1班" in html
    assert "No arrival recorded yet" in html  # today's attendance, from the attendance app
    assert "Sports day on Friday" in html
    assert "Other school notice" not in html.split("Latest notifications")[1].split("</section>")[0]
    assert f"/children/{child.id}/" in html
    # The bell shows the unread count; live updates load only for signed-in users.
    assert '<span id="bell-count" class="bell-count" data-count="2">2</span>' in html
    assert "notify/live.js" in html


def test_guardian_without_records_sees_the_child_but_no_record(world):
    parent = world.user("a_parent_norec")
    child = world.a.students["g7c1"][1]
    c = english_client(parent)
    html = c.get("/").content.decode()
    assert child.person.full_name in html
    assert f"/children/{child.id}/" not in html
    assert "has not shared this child" in html
    assert c.get(f"/children/{child.id}/").status_code == 404


def test_subject_teacher_sees_their_classes_with_subjects_and_counts_but_no_contacts(world):
    html = english_client(world.user("a_teacher")).get("/").content.decode()
    assert "My classes today" in html
    assert "七年级1班" in html and "八年级1班" in html
    assert "七年级2班" not in html
    assert "语文" in html and "数学" in html
    assert html.count('<span class="num">3</span>') == 2
    assert "My class:" not in html
    assert "tel:" not in html


def test_head_teacher_sees_roster_with_guardian_contacts(world):
    html = english_client(world.user("a_head")).get("/").content.decode()
    assert "My class: 七年级1班" in html
    for student in world.a.students["g7c1"]:
        assert student.person.full_name in html
    assert f'tel:{world.user("a_parent").phone}' in html
    assert f'tel:{world.user("a_parent_norec").phone}' in html
    # Another class's students are not on the roster.
    assert world.a.students["g7c2"][0].person.full_name not in html


def test_school_admin_needs_two_factor_then_sees_overview(world):
    admin = world.user("a_admin")
    unverified = english_client(admin)
    response = unverified.get("/")
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]
    html = verified_client(admin).get("/").content.decode()
    assert "School overview" in html
    assert '<span class="num">9</span><span class="label">Students enrolled' in html
    assert '<span class="num">3</span><span class="label">Classes this year' in html
    # Five staff of the school plus the teacher who is also a parent.
    assert '<span class="num">6</span><span class="label">Staff' in html
    assert '<span class="num">2</span><span class="label">Guardians with an account' in html
    assert '<span class="num">7</span><span class="label">Students with no bound guardian' in html
    assert 'href="/manage/"' in html


def test_grade_director_sees_their_grade_only_without_staff(world):
    html = english_client(world.user("a_director")).get("/").content.decode()
    assert '<span class="num">6</span><span class="label">Students enrolled' in html
    assert '<span class="num">2</span><span class="label">Classes this year' in html
    assert "Staff</span>" not in html


def test_district_officer_sees_school_counts_only(world):
    html = english_client(world.user("district_officer")).get("/").content.decode()
    assert "District overview" in html
    assert "第A中学" in html and "第B中学" in html
    assert '<span class="num">18</span><span class="label">Students enrolled' in html
    assert '<span class="num">6</span><span class="label">Classes this year' in html
    for student in world.a.students["g7c1"]:
        assert student.person.full_name not in html


def test_student_home_shows_own_card(world):
    me = world.a.students["g7c1"][0]
    html = english_client(world.user("a_student")).get("/").content.decode()
    assert me.person.full_name in html
    assert me.student_number in html
    assert world.a.students["g7c1"][1].person.full_name not in html


def test_user_without_grant_is_told_how_to_bind(db):
    user = get_user_model().objects.create_user("newparent", password="x-very-long-1")
    html = english_client(user).get("/").content.decode()
    assert 'href="/accounts/bind/"' in html
    assert "binding code" in html
    assert 'id="role-select"' not in html


def test_role_switch_between_teacher_and_parent(world):
    tp = world.user("teacher_parent")
    c = english_client(tp)
    html = c.get("/").content.decode()
    assert 'id="role-select"' in html
    assert "My classes today" in html
    guardian_key = next(
        opt.split('"')[1] for opt in html.split("<option ")[1:] if "Parent" in opt
    )
    response = c.post("/switch-role/", {"grant": guardian_key})
    assert response.status_code == 302 and response["Location"] == "/"
    html = c.get("/").content.decode()
    assert "My children" in html
    assert world.b.students["g7c1"][2].person.full_name in html
    # A key the user does not hold changes nothing.
    c.post("/switch-role/", {"grant": "school_admin:1::::"})
    assert "My children" in c.get("/").content.decode()
    assert c.get("/switch-role/").status_code == 405


def test_single_role_user_has_no_switcher(world):
    html = english_client(world.user("a_parent")).get("/").content.decode()
    assert 'id="role-select"' not in html


def test_child_page_scope(world):
    parent = world.user("a_parent")
    child = world.a.students["g7c1"][0]
    c = english_client(parent)
    html = c.get(f"/children/{child.id}/").content.decode()
    assert child.student_number in html
    assert f"/audit/children/{child.id}/views/" in html
    # Sensitive values are never in the page until asked for.
    assert child.national_id not in html and child.health_notes not in html
    assert 'id="show-national_id"' in html
    for other in (world.a.students["g7c1"][1], world.b.students["g7c1"][0], 999999):
        other_id = getattr(other, "id", other)
        assert c.get(f"/children/{other_id}/").status_code == 404


def test_reveal_sensitive_is_logged(world):
    parent = world.user("a_parent")
    child = world.a.students["g7c1"][0]
    c = english_client(parent)
    response = c.post(f"/children/{child.id}/reveal/", {"field": "national_id"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert child.national_id in response.content.decode()
    assert child.health_notes not in response.content.decode()
    read = SensitiveRead.objects.get()
    assert (read.actor, read.student, read.field) == (parent, child, "national_id")
    # Without htmx the whole page comes back with the value shown.
    page = c.post(f"/children/{child.id}/reveal/", {"field": "health_notes"}).content.decode()
    assert child.health_notes in page and child.national_id not in page
    assert SensitiveRead.objects.count() == 2
    assert c.post(f"/children/{child.id}/reveal/", {"field": "password"}).status_code == 400


def test_subject_teacher_sees_record_but_cannot_reveal(world):
    teacher = world.user("a_teacher")
    child = world.a.students["g7c1"][0]
    c = english_client(teacher)
    html = c.get(f"/children/{child.id}/").content.decode()
    assert child.student_number in html
    assert "show-national_id" not in html
    assert "/audit/children/" not in html
    assert "tel:" not in html
    assert c.post(f"/children/{child.id}/reveal/", {"field": "national_id"}).status_code == 404
    assert not SensitiveRead.objects.exists()


def test_head_teacher_child_page_shows_guardian_contacts(world):
    child = world.a.students["g7c1"][0]
    html = english_client(world.user("a_head")).get(f"/children/{child.id}/").content.decode()
    assert f'tel:{world.user("a_parent").phone}' in html
    assert "show-health_notes" in html


def test_language_switch(world):
    c = english_client(world.user("a_parent"), lang="zh-hans")
    html = c.get("/").content.decode()
    assert '<html lang="zh-CN">' in html
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = c.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "My children" in html
