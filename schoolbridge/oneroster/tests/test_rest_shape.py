"""The REST objects have the field names and types of the 1.2 REST binding's schemas."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from schoolbridge.oneroster.jsonshape import json_fields
from schoolbridge.oneroster.tests.test_rest import BASE, bearer, make_client
from schoolbridge.oneroster.tests.test_roundtrip import add_gradebook

pytestmark = pytest.mark.django_db

# 1EdTech OneRoster 1.2 Rostering service, OpenAPI 3 binding (onerosterv1p2rostersservice_openapi3_v1p0
# .json), components/schemas/<X>DType: "properties" and "required" of each object. "metadata" (our
# objects carry none) and "password" (never sent) are left out.
REST_1_2: dict[str, tuple[set[str], set[str]]] = {
    "academicSessions": (
        {"title", "startDate", "endDate", "type", "parent", "children", "schoolYear"},
        {"title", "startDate", "endDate", "type", "schoolYear"},
    ),
    "classes": (
        {
            "title",
            "classCode",
            "classType",
            "location",
            "grades",
            "subjects",
            "course",
            "school",
            "terms",
            "subjectCodes",
            "periods",
            "resources",
        },
        {"title", "course", "school", "terms"},
    ),
    "courses": (
        {"title", "schoolYear", "courseCode", "grades", "subjects", "org", "subjectCodes", "resources"},
        {"title", "courseCode"},
    ),
    "demographics": (
        {
            "birthDate",
            "sex",
            "americanIndianOrAlaskaNative",
            "asian",
            "blackOrAfricanAmerican",
            "nativeHawaiianOrOtherPacificIslander",
            "white",
            "demographicRaceTwoOrMoreRaces",
            "hispanicOrLatinoEthnicity",
            "countryOfBirthCode",
            "stateOfBirthAbbreviation",
            "cityOfBirth",
            "publicSchoolResidenceStatus",
        },
        set(),
    ),
    "enrollments": (
        {"user", "class", "school", "role", "primary", "beginDate", "endDate"},
        {"user", "class", "school", "role"},
    ),
    "orgs": ({"name", "type", "identifier", "parent", "children"}, {"name", "type", "identifier"}),
    "users": (
        {
            "userMasterIdentifier",
            "username",
            "userIds",
            "enabledUser",
            "givenName",
            "familyName",
            "middleName",
            "preferredFirstName",
            "preferredMiddleName",
            "preferredLastName",
            "pronouns",
            "roles",
            "userProfiles",
            "primaryOrg",
            "identifier",
            "email",
            "sms",
            "phone",
            "agents",
            "grades",
            "resources",
        },
        {"enabledUser", "givenName", "familyName", "roles"},
    ),
}
COMMON = {"sourcedId", "status", "dateLastModified"}
ROLE_FIELDS = {"roleType", "role", "org", "userProfile", "beginDate", "endDate"}  # RoleDType


@pytest.fixture
def api(world: Any) -> Any:
    client, secret = make_client(world)
    http = HttpClient()
    token = bearer(http, client, secret)
    return lambda path: http.get(BASE + path, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("file", sorted(REST_1_2))
def test_field_names_are_the_binding_ones(file: str) -> None:
    fields, _ = REST_1_2[file]
    assert json_fields(file) == fields | COMMON


@pytest.mark.parametrize("file", sorted(REST_1_2))
def test_objects_have_the_required_fields_and_no_others(api: Any, world: Any, file: str) -> None:
    add_gradebook(world)
    fields, required = REST_1_2[file]
    objects = api(f"/{file}?limit=1000").json()[file]
    assert objects
    for o in objects:
        assert COMMON | required <= set(o) <= COMMON | fields, (file, set(o) ^ (COMMON | fields))
        assert None not in o.values(), o  # an empty optional field is left out, never null
        for value in o.values():
            if isinstance(value, dict):  # a GUID reference
                assert set(value) == {"href", "sourcedId", "type"} and value["href"].endswith(
                    value["sourcedId"]
                )


def test_string_enumerations_and_roles(api: Any) -> None:
    users = api("/users?limit=1000").json()["users"]
    assert {u["enabledUser"] for u in users} <= {"true", "false"}
    for u in users:
        assert u["roles"]  # minItems 1
        for role in u["roles"]:
            assert set(role) <= ROLE_FIELDS and {"roleType", "role", "org"} <= set(role)
    enrollments = api("/enrollments?limit=1000").json()["enrollments"]
    assert {e["primary"] for e in enrollments} == {"true", "false"}
    sessions = api("/academicSessions?limit=1000").json()["academicSessions"]
    years = [s for s in sessions if s["type"] == "schoolYear"]
    terms = {s["sourcedId"]: s for s in sessions if s["type"] == "term"}
    assert years and all(y["children"] for y in years)
    for y in years:
        for child in y["children"]:
            assert child["type"] == "academicSession"
            assert terms[child["sourcedId"]]["parent"]["sourcedId"] == y["sourcedId"]
    district = next(o for o in api("/orgs").json()["orgs"] if o["type"] == "district")
    assert "parent" not in district
    assert {c["sourcedId"] for c in district["children"]} == {
        s["sourcedId"] for s in api("/schools").json()["orgs"]
    }
