"""The OpenAPI document, and the contract: answers match the schemas it declares."""

from __future__ import annotations

from typing import Any

import pytest

from schoolbridge.api_support.testing import ApiClient, ContractError, check_contract, token_for

EXPECTED = {
    ("get", "/api/v1/me"),
    ("get", "/api/v1/schools"),
    ("get", "/api/v1/schools/{school_id}"),
    ("get", "/api/v1/classes"),
    ("get", "/api/v1/classes/{class_id}/students"),
    ("get", "/api/v1/students"),
    ("post", "/api/v1/students"),
    ("get", "/api/v1/students/{student_id}"),
    ("get", "/api/v1/students/{student_id}/sensitive/{field}"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/notifications/read"),
    ("post", "/api/v1/notifications/read-all"),
}


def test_openapi_json_lists_the_endpoints(client, db):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    ops = {(m, p) for p, item in doc["paths"].items() for m in item}
    assert EXPECTED.issubset(ops)
    for method, path in EXPECTED:
        responses = doc["paths"][path][method]["responses"]
        success = "201" if (method, path) == ("post", "/api/v1/students") else "200"
        assert {success, "401", "404", "422"}.issubset(responses), (method, path)
        assert responses["404"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }


def test_contract_check_is_not_vacuous(db):
    good = {"count": 0, "limit": 50, "offset": 0, "items": []}
    check_contract("GET", "/api/v1/schools", 200, good)
    with pytest.raises(ContractError):
        check_contract("GET", "/api/v1/schools", 200, {**good, "count": "many"})
    with pytest.raises(ContractError):
        check_contract("GET", "/api/v1/schools", 200, {"items": []})
    with pytest.raises(ContractError):
        check_contract("GET", "/api/v1/schools", 418, {})
    with pytest.raises(ContractError):
        check_contract("GET", "/api/v1/me", 404, {"detail": "Not Found"})


def test_every_endpoint_answers_per_contract(client, world):
    """A tour of every endpoint and its main outcomes; ApiClient checks each answer against the schema."""
    a = world.a
    student = a.students["g7c1"][0]
    head = ApiClient(client, token_for(world.user("a_head")))
    parent = ApiClient(client, token_for(world.user("a_parent")))
    officer = ApiClient(client, token_for(world.user("district_officer")))
    anonymous = ApiClient(client)
    admin = ApiClient(client, token_for(world.user("a_admin")))
    new = {"school": a.school.pk, "family_name": "陈", "given_name": "一", "student_number": "NEW-1"}
    calls: list[tuple[ApiClient, str, str, Any, int]] = [
        (head, "GET", "/me", None, 200),
        (officer, "GET", "/schools", None, 200),
        (officer, "GET", f"/schools/{a.school.pk}", None, 200),
        (head, "GET", f"/schools/{a.school.pk}", None, 404),
        (officer, "GET", "/classes", {"school": a.school.pk}, 200),
        (head, "GET", f"/classes/{a.g7c1.pk}/students", None, 200),
        (parent, "GET", "/students", {"q": "张"}, 200),
        (head, "GET", f"/students/{student.pk}", None, 200),
        (parent, "GET", f"/students/{student.pk}", None, 200),
        (head, "GET", f"/students/{student.pk}/sensitive/national_id", None, 200),
        (parent, "GET", f"/students/{a.students['g7c1'][1].pk}", None, 404),
        (head, "GET", "/notifications", {"unread": 1}, 200),
        (head, "POST", "/notifications/read", {"ids": [1, 2]}, 200),
        (head, "POST", "/notifications/read", {"ids": []}, 422),
        (head, "POST", "/notifications/read-all", None, 200),
        (head, "GET", "/students", {"limit": 9999}, 422),
        (anonymous, "GET", "/students", None, 401),
        (anonymous, "POST", "/notifications/read-all", None, 401),
        (head, "GET", "/nothing-here", None, 404),
        (admin, "POST", "/students", new, 201),
        (admin, "POST", "/students", new, 409),
        (admin, "POST", "/students", {**new, "student_number": "NEW-2", "family_name": ""}, 422),
        (admin, "POST", "/students", "{broken", 400),
        (head, "POST", "/students", new, 403),
    ]
    for api, method, path, data, status in calls:
        r = api.request(method, path, data)
        assert r.status_code == status, (method, path, r.data)
