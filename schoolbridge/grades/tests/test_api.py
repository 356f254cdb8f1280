"""The grades API, every answer checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from schoolbridge.api_support.testing import ApiClient, token_for
from schoolbridge.grades import actions
from schoolbridge.grades.models import Score

pytestmark = pytest.mark.django_db


def api(client, world, name):
    return ApiClient(client, token_for(world.user(name)))


def test_teacher_posts_scores_and_reads_them_back(client, world, assessment):
    head = api(client, world, "a_head")
    listed = head.get("/grades/assessments")
    assert listed.status_code == 200 and [a["id"] for a in listed.data["items"]] == [assessment.pk]
    n = [s.student_number for s in world.a.students["g7c1"]]
    path = f"/grades/assessments/{assessment.pk}/scores"
    body = {
        "class_id": world.a.g7c1.pk,
        "subject_id": world.a.maths.pk,
        "rows": [
            {"student_number": n[0], "value": "88"},
            {"student_number": n[1], "value": "absent"},
            {"student_number": n[2], "value": "200"},
        ],
    }
    bad = head.post(path, body)
    assert bad.status_code == 422 and bad.data["error"]["code"] == "validation_error"
    assert len(bad.data["error"]["fields"]["rows"]) == 1 and "200" in bad.data["error"]["fields"]["rows"][0]
    assert Score.objects.count() == 0
    body["rows"][2]["value"] = "79.5"
    saved = head.post(path, body)
    assert saved.status_code == 200 and saved.data["saved"] == 3
    read = head.get(path, {"class": world.a.g7c1.pk, "subject": world.a.maths.pk})
    assert [(i["value"], i["marker"]) for i in read.data["items"]] == [
        (88.0, "none"),
        (None, "absent"),
        (79.5, "none"),
    ]
    # The Chinese teacher may not read or write maths; another school sees nothing.
    teacher = api(client, world, "a_teacher")
    assert teacher.get(path, {"class": world.a.g7c1.pk, "subject": world.a.maths.pk}).status_code == 404
    assert teacher.post(path, body).status_code == 404
    assert api(client, world, "b_head").get("/grades/assessments").data["count"] == 0


def test_published_scores_are_locked_and_the_guardian_reads_them(client, world, assessment):
    n = [s.student_number for s in world.a.students["g7c1"]]
    actions.enter_scores(
        world.user("a_head"),
        assessment.subjects.get(subject=world.a.maths),
        world.a.g7c1,
        actions.rows_from_pairs([(n[0], "90"), (n[1], "70")]),
    )
    actions.publish(world.user("a_admin"), assessment)
    head = api(client, world, "a_head")
    body = {
        "class_id": world.a.g7c1.pk,
        "subject_id": world.a.maths.pk,
        "rows": [{"student_number": n[0], "value": "1"}],
    }
    locked = head.post(f"/grades/assessments/{assessment.pk}/scores", body)
    assert locked.status_code == 403 and locked.data["error"]["code"] == "forbidden"
    child = world.a.students["g7c1"][0]
    parent = api(client, world, "a_parent")
    mine = parent.get(f"/grades/children/{child.pk}/scores")
    assert mine.status_code == 200
    (line,) = mine.data["items"][0]["lines"]
    assert line["value"] == 90.0 and line["class_average"] == 80.0 and line["class_max"] == 90.0
    assert line["rank"] is None
    other = world.a.students["g7c1"][1]
    assert parent.get(f"/grades/children/{other.pk}/scores").status_code == 404
    assert api(client, world, "a_parent_norec").get(f"/grades/children/{other.pk}/scores").status_code == 404
