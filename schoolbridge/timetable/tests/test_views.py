"""Timetable pages: the office builds and edits a draft in the browser, publishes it; teachers, students
and guardians see only the published version of classes within their reach; print and PDF."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client

from schoolbridge.testing.auth import login_verified
from schoolbridge.timetable import actions
from schoolbridge.timetable.models import Lesson, LessonRequirement, TimetableVersion

from .ttworld import build

pytestmark = pytest.mark.django_db


def client_for(world, name: str) -> Client:
    client = Client()
    client.cookies["sb_lang"] = "en"
    login_verified(client, world.user(name))
    return client


def test_office_builds_a_timetable_in_the_browser(world):
    from .ttworld import bell_schedule

    bell_schedule(world)
    admin = client_for(world, "a_admin")
    sw = world.a
    assert admin.get("/timetable/").status_code == 200
    page = admin.get(f"/timetable/school/{sw.school.pk}/")
    assert page.status_code == 200
    r = admin.post(f"/timetable/school/{sw.school.pk}/", {"term": sw.term.pk, "name": ""})
    assert r.status_code == 422 and "Give the version a name" in r.content.decode()
    r = admin.post(f"/timetable/school/{sw.school.pk}/", {"term": sw.term.pk, "name": "草稿"})
    version = TimetableVersion.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/timetable/v/{version.pk}/"
    head = world.a.g7c1.head_teacher
    r = admin.post(
        f"/timetable/v/{version.pk}/",
        {
            "klass": sw.g7c1.pk,
            "subject": sw.maths.pk,
            "teachers": [head.pk],
            "lessons_per_week": 3,
            "duration": 1,
        },
    )
    assert r.status_code == 302
    req = LessonRequirement.objects.get()
    assert req.lessons.count() == 3
    html = admin.get(f"/timetable/v/{version.pk}/").content.decode()
    assert "0 / 3" in html and "七年级1班" in html
    grid = admin.get(f"/timetable/class/{sw.g7c1.pk}/?version={version.pk}")
    assert grid.status_code == 200 and "Lessons not yet placed" in grid.content.decode()
    first, second, _third = req.lessons.order_by("pk")
    # The panel: as an HTMX fragment and as a page of its own.
    panel = admin.get(f"/timetable/v/{version.pk}/lesson/{first.pk}/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and "<html" not in panel.content.decode()
    assert "Free slots without a clash: 40" in panel.content.decode()
    assert "<html" in admin.get(f"/timetable/v/{version.pk}/lesson/{first.pk}/").content.decode()
    # Place one, then a clash is refused with the reason.
    nxt = f"/timetable/class/{sw.g7c1.pk}/?version={version.pk}"
    r = admin.post(
        f"/timetable/v/{version.pk}/lesson/{first.pk}/move/",
        {"day": 1, "period": 2, "room": "keep", "next": nxt},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 204 and r["HX-Redirect"] == nxt
    check = f"/timetable/v/{version.pk}/lesson/{second.pk}/check/"
    assert (
        "王老师 already teaches 七年级1班 on Monday period 2"
        in admin.get(check, {"day": 1, "period": 2}).content.decode()
    )
    assert "no clash" in admin.get(check, {"day": 1, "period": 3}).content.decode()
    assert "There is no period 9 on Monday" in admin.get(check, {"day": 1, "period": 9}).content.decode()
    assert client_for(world, "b_admin").get(check, {"day": 1, "period": 3}).status_code == 404
    r = admin.post(
        f"/timetable/v/{version.pk}/lesson/{second.pk}/move/", {"day": 1, "period": 2, "room": "keep"}
    )
    assert r.status_code == 422
    assert "王老师 already teaches 七年级1班 on Monday period 2" in r.content.decode()
    r = admin.post(
        f"/timetable/v/{version.pk}/lesson/{second.pk}/move/",
        {"day": 1, "period": 2, "room": "keep"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "already teaches" in r.content.decode()
    assert Lesson.objects.get(pk=second.pk).day is None
    # An open redirect is not followed.
    r = admin.post(
        f"/timetable/v/{version.pk}/lesson/{second.pk}/move/",
        {"day": 2, "period": 2, "next": "https://evil.example/"},
    )
    assert r.status_code == 302 and r["Location"] == f"/timetable/v/{version.pk}/"
    # Publish.
    r = admin.post(f"/timetable/v/{version.pk}/publish/")
    version.refresh_from_db()
    assert r.status_code == 302 and version.status == "published"
    # A published version is not editable any more.
    assert admin.post(
        f"/timetable/v/{version.pk}/lesson/{second.pk}/move/", {"day": 3, "period": 2}
    ).status_code in (200, 422)
    assert Lesson.objects.get(pk=second.pk).day == 2


def test_who_sees_what(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    tt.place("g8c1_maths", 0, 2, 3)
    sw = world.a
    url = f"/timetable/class/{sw.g7c1.pk}/"
    # Nothing is published yet: families and teachers see nothing; the office sees the draft by version.
    assert client_for(world, "a_parent").get(url).status_code == 404
    assert client_for(world, "a_admin").get(f"{url}?version={tt.version.pk}").status_code == 200
    for name in ("a_parent", "a_teacher", "b_admin"):
        assert client_for(world, name).get(f"{url}?version={tt.version.pk}").status_code == 404
    actions.publish(tt.admin, tt.version)
    for name in ("a_parent", "a_parent_norec", "a_student", "a_head", "a_teacher", "a_admin", "a_principal"):
        r = client_for(world, name).get(url)
        assert r.status_code == 200, name
        assert "数学" in r.content.decode() and "王老师" in r.content.decode()
    for name in ("b_parent", "b_admin", "teacher_parent", "b_student"):
        assert client_for(world, name).get(url).status_code == 404, name
    # Teacher pages: oneself and the school office.
    turl = f"/timetable/teacher/{tt.teacher.pk}/"
    assert "八年级1班" in client_for(world, "a_teacher").get(turl).content.decode()
    assert client_for(world, "a_admin").get(turl).status_code == 200
    assert client_for(world, "a_head").get(turl).status_code == 404
    assert client_for(world, "a_parent").get(turl).status_code == 404
    # A child's page for the guardian, also without record rights.
    child = sw.students["g7c1"][1]
    assert client_for(world, "a_parent_norec").get(f"/timetable/student/{child.pk}/").status_code == 200
    assert client_for(world, "a_parent").get(f"/timetable/student/{child.pk}/").status_code == 404
    # Rooms: staff of the school.
    rurl = f"/timetable/room/{tt.rooms[0].pk}/"
    assert client_for(world, "a_teacher").get(rurl).status_code == 200
    assert client_for(world, "a_parent").get(rurl).status_code == 404
    # The index names what each may open.
    assert (
        f"/timetable/student/{sw.students['g7c1'][0].pk}/"
        in client_for(world, "a_parent").get("/timetable/").content.decode()
    )
    assert (
        f"/timetable/teacher/{tt.teacher.pk}/"
        in client_for(world, "a_teacher").get("/timetable/").content.decode()
    )


def test_pdf(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    actions.publish(tt.admin, tt.version)
    r = client_for(world, "a_parent").get(f"/timetable/class/{world.a.g7c1.pk}/?format=pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")


def test_teacher_unavailable_periods_from_the_page(world):
    tt = build(world)
    admin = client_for(world, "a_admin")
    url = f"/timetable/teacher/{tt.teacher.pk}/?version={tt.version.pk}"
    html = admin.get(url).content.decode()
    assert 'name="off" value="5-8"' in html and "Friday period 8" in html
    r = admin.post(
        f"/timetable/v/{tt.version.pk}/teacher/{tt.teacher.pk}/unavailable/", {"off": ["5-8", "5-7", "x"]}
    )
    assert r.status_code == 302 and r["Location"] == url
    assert 'value="5-8" aria-label="Friday period 8" checked' in admin.get(url).content.decode()
    lesson = tt.lessons("g8c1_maths")[0]
    r = admin.post(f"/timetable/v/{tt.version.pk}/lesson/{lesson.pk}/move/", {"day": 5, "period": 8})
    assert r.status_code == 422 and "李老师 is not available on Friday period 8" in r.content.decode()
    # Another school's office: 404, nothing changed.
    other = client_for(world, "b_admin")
    r = other.post(f"/timetable/v/{tt.version.pk}/teacher/{tt.teacher.pk}/unavailable/", {"off": []})
    assert r.status_code == 404
    assert 'aria-label="Friday period 7" checked' in admin.get(url).content.decode()


def test_add_from_teaching_assignments_page(world):
    sw = world.a
    admin = client_for(world, "a_admin")
    version = actions.create_version(world.user("a_admin"), sw.school.pk, sw.term.pk, "v")
    r = admin.post(f"/timetable/v/{version.pk}/", {"from_assignments": "1", "lessons_per_week": 2})
    assert r.status_code == 302
    assert LessonRequirement.objects.filter(version=version).count() == 4
    assert "4 classes and subjects added" in admin.get(f"/timetable/v/{version.pk}/").content.decode()


def test_pdf_of_every_class_and_teacher(world):
    tt = build(world)
    tt.place("g7c1_maths", 0, 1, 1)
    admin = client_for(world, "a_admin")
    for query in ("", "?by=teacher"):
        r = admin.get(f"/timetable/v/{tt.version.pk}/print.pdf{query}")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # Three classes, three pages; teachers: those with lessons in the version.
    from weasyprint import HTML

    from schoolbridge.timetable import views

    pages = views.print_pages(tt.version)
    assert [p["title"] for p in pages] == ["七年级1班", "七年级2班", "八年级1班"]
    assert {p["title"] for p in views.print_pages(tt.version, "teacher")} == {
        "王老师",
        "李老师",
        "周老师家长",
    }
    html = render_to_string(
        "timetable/print.html", {"version": tt.version, "pages": pages, "printed_on": tt.version.created_at}
    )
    assert len(HTML(string=html).render().pages) == 3
    assert client_for(world, "a_teacher").get(f"/timetable/v/{tt.version.pk}/print.pdf").status_code == 404
