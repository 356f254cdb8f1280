"""The error shape, stable codes, identical 404s and field-level validation errors."""

from __future__ import annotations

import pytest
from django.utils import translation

from schoolbridge.api_support.testing import ApiClient, token_for


@pytest.fixture
def head(client, world):
    return ApiClient(client, token_for(world.user("a_head")))


MISSING = 987654


def _urls(world, key):
    """The same endpoints for an object of the other school (b) and for an id that does not exist."""
    b = world.b
    ids = {
        "student": b.students["g7c1"][0].pk,
        "class": b.g7c1.pk,
        "school": b.school.pk,
    }
    if key == "missing":
        ids = dict.fromkeys(ids, MISSING)
    return [
        f"/students/{ids['student']}",
        f"/students/{ids['student']}/sensitive/national_id",
        f"/classes/{ids['class']}/students",
        f"/schools/{ids['school']}",
    ]


@pytest.mark.parametrize("username", ["a_head", "a_parent", "a_teacher", "district_officer"])
def test_out_of_scope_and_missing_give_identical_404(client, world, username):
    api = ApiClient(client, token_for(world.user(username)))
    for other, missing in zip(_urls(world, "other"), _urls(world, "missing"), strict=True):
        r_other, r_missing = api.get(other), api.get(missing)
        if r_other.status_code == 200:
            # The district officer sees school B's overview: aggregates are in scope for them.
            assert username == "district_officer" and other.startswith(("/schools/", "/classes/"))
            continue
        assert r_other.status_code == r_missing.status_code == 404, other
        assert r_other.content == r_missing.content
        assert r_other.data["error"]["code"] == "not_found"


def test_own_object_is_found(head, world):
    assert head.get(f"/students/{world.a.students['g7c1'][0].pk}").status_code == 200


def test_unknown_sensitive_field_is_404(head, world):
    student = world.a.students["g7c1"][0]
    r = head.get(f"/students/{student.pk}/sensitive/password")
    assert r.status_code == 404
    assert r.content == head.get(f"/students/{MISSING}/sensitive/national_id").content


def test_unknown_path_is_json_404(head):
    r = head.get("/no/such/thing")
    assert r.status_code == 404
    assert r.data["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path, field",
    [
        ("/students?limit=0", "limit"),
        ("/students?limit=501", "limit"),
        ("/students?limit=abc", "limit"),
        ("/students?offset=-1", "offset"),
        ("/students?school=x", "school"),
        ("/students?class=0", "class"),
        ("/students?status=expelled", "status"),
        ("/students/abc", "student_id"),
        ("/students/99999999999999999999999", "student_id"),
        ("/notifications?since_id=-3", "since_id"),
    ],
)
def test_bad_query_values_are_field_errors(head, path, field):
    r = head.get(path)
    assert r.status_code == 422
    err = r.data["error"]
    assert err["code"] == "validation_error"
    assert list(err["fields"]) == [field]
    assert all(isinstance(m, str) and m for m in err["fields"][field])


def zh(message):
    with translation.override("zh-hans"):
        return translation.gettext(message)


def test_body_field_errors(head):
    r = head.post("/notifications/read", {"ids": ["x", 5]})
    assert r.status_code == 422
    assert r.data["error"]["fields"] == {"ids.0": [zh("Enter a whole number.")]}
    r = head.post("/notifications/read", {})
    assert r.data["error"]["fields"] == {"ids": [zh("This field is required.")]}


def test_invalid_json_is_bad_request(head):
    r = head.post("/notifications/read", "{not json")
    assert r.status_code == 400
    assert r.data["error"]["code"] == "bad_request"


def test_messages_follow_the_request_language(head):
    zh_r = head.get("/students?limit=0")
    en = head.get("/students?limit=0", **{"Accept-Language": "en"})
    english = "Ensure this value is greater than or equal to 1."
    assert en.data["error"]["fields"]["limit"] == [english]
    chinese = zh("Ensure this value is greater than or equal to %(limit_value)s.") % {"limit_value": 1}
    assert zh_r.data["error"]["fields"]["limit"] == [chinese] != [english]
    assert zh_r.data["error"]["code"] == en.data["error"]["code"] == "validation_error"


def test_unauthorized_message_in_english_on_request(client, world):
    r = ApiClient(client).get("/me", **{"Accept-Language": "en"})
    assert r.data["error"]["message"].startswith("Authentication required")
