"""The REST binding: OAuth 2.0 client credentials, scopes, envelopes, paging, filter, errors, gradebook."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as HttpClient

from schoolbridge.core.errors import NotFound
from schoolbridge.grades.models import Score
from schoolbridge.oneroster import actions
from schoolbridge.oneroster.models import AccessToken, CallLog, Client, SourcedId
from schoolbridge.oneroster.records import Ids
from schoolbridge.oneroster.tests.test_roundtrip import add_gradebook

pytestmark = pytest.mark.django_db
BASE = "/ims/oneroster/v1p2"
S = actions.SCOPE_BASE


def make_client(
    world: Any, scopes: tuple[str, ...] = actions.SCOPES, school: Any = None
) -> tuple[Client, str]:
    actor = world.user("a_admin") if school is not None else world.user("district_admin")
    return actions.create_client(actor, world.district, "LMS", list(scopes), school=school)


def bearer(http: HttpClient, client: Client, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    response = http.post(f"{BASE}/token", data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    return str(body["access_token"])


@pytest.fixture
def api(world: Any) -> Any:
    client, secret = make_client(world)
    http = HttpClient()
    token = bearer(http, client, secret)

    def call(path: str, method: str = "get", **kw: Any) -> Any:
        return getattr(http, method)(BASE + path, HTTP_AUTHORIZATION=f"Bearer {token}", **kw)

    call.client = client  # type: ignore[attr-defined]
    return call


def minor(response: Any) -> str:
    body = response.json()
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_severity"] == "error"
    assert body["imsx_description"]
    return str(body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"])


def test_secret_is_hashed_and_token_errors(world: Any) -> None:
    client, secret = make_client(world)
    assert secret not in client.secret_hash
    http = HttpClient()
    basic = base64.b64encode(f"{client.client_id}:wrong".encode()).decode()
    response = http.post(
        f"{BASE}/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    limited, secret2 = make_client(world, (S + "roster-core.readonly",))
    basic = base64.b64encode(f"{limited.client_id}:{secret2}".encode()).decode()
    response = http.post(
        f"{BASE}/token",
        {"grant_type": "client_credentials", "scope": S + "roster.readonly"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.json() == {"error": "invalid_scope"}
    token = bearer(http, limited, secret2)
    assert AccessToken.objects.get(client=limited).token_hash != token


def test_only_managers_create_clients(world: Any) -> None:
    with pytest.raises(NotFound):
        actions.create_client(
            world.user("a_teacher"), world.district, "x", [S + "roster.readonly"], school=world.a.school
        )
    with pytest.raises(NotFound):
        actions.create_client(
            world.user("a_admin"), world.district, "x", [S + "roster.readonly"], school=world.b.school
        )
    with pytest.raises(NotFound):
        actions.create_client(world.user("a_admin"), world.district, "x", [S + "roster.readonly"])


def test_unauthenticated_and_scope_enforcement(world: Any) -> None:
    http = HttpClient()
    response = http.get(f"{BASE}/users")
    assert response.status_code == 401
    assert minor(response) == "unauthorisedrequest"
    client, secret = make_client(world, (S + "roster-core.readonly",))
    token = bearer(http, client, secret)
    assert http.get(f"{BASE}/classes", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    response = http.get(f"{BASE}/users", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert minor(response) == "forbidden"
    assert http.get(f"{BASE}/demographics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    assert http.get(f"{BASE}/lineItems", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    assert CallLog.objects.filter(client=client).count() == 1 + 4  # the token request and four reads
    assert CallLog.objects.filter(client=None, status=401).count() == 1


def test_envelopes_and_references(api: Any, world: Any) -> None:
    users = api("/users").json()["users"]
    assert len(users) == 18 + 11 + 5 - 1  # students, staff, guardians; teacher_parent is one person
    one = api(f"/users/{users[0]['sourcedId']}").json()
    assert set(one) == {"user"}
    assert one["user"]["sourcedId"] == users[0]["sourcedId"]
    classes = api("/classes").json()["classes"]
    homeroom = next(c for c in classes if c["classType"] == "homeroom")
    assert homeroom["school"]["type"] == "org"
    assert homeroom["school"]["href"].endswith(f"/schools/{homeroom['school']['sourcedId']}")
    assert isinstance(homeroom["terms"], list) and homeroom["terms"]
    schools = api("/schools").json()["orgs"]
    assert [s["type"] for s in schools] == ["school", "school"]
    student = next(u for u in users if u["roles"] and u["roles"][0]["role"] == "student")
    assert student["enabledUser"] == "true"  # a string enumeration in the 1.2 REST binding
    assert api("/users/nope").status_code == 404
    assert minor(api("/users/nope")) == "unknownobject"
    assert api("/nothing").status_code == 404


def test_paging_headers(api: Any) -> None:
    response = api("/users?limit=10&offset=10")
    assert response.status_code == 200
    assert len(response.json()["users"]) == 10
    assert response["X-Total-Count"] == "33"
    assert (
        'rel="next"' in response["Link"]
        and 'rel="prev"' in response["Link"]
        and 'rel="last"' in response["Link"]
    )
    assert "offset=20" in response["Link"]
    everyone = [
        u["sourcedId"] for o in (0, 10, 20, 30) for u in api(f"/users?limit=10&offset={o}").json()["users"]
    ]
    assert len(everyone) == len(set(everyone)) == 33
    assert minor(api("/users?limit=0")) == "invaliddata"
    assert api("/users?limit=abc").status_code == 400


def test_filter_sort_fields(api: Any, world: Any) -> None:
    person = world.a.students["g7c1"][0].person
    person.email = "kid@example.org"
    person.save()
    found = api("/users?filter=email='kid@example.org'").json()["users"]
    assert [u["givenName"] for u in found] == [person.given_name]
    assert api("/users?filter=status='active'")["X-Total-Count"] == "33"
    both = api("/users?filter=email='kid@example.org' OR givenName='老师'").json()["users"]
    assert len(both) == 1 + 4  # the kid, and the four teachers named 老师
    assert api("/students?filter=givenName~'ag7c1' AND familyName='张'")["X-Total-Count"] == "3"
    names = [u["givenName"] for u in api("/students?sort=givenName&orderBy=desc").json()["users"]]
    assert names == sorted(names, reverse=True)
    slim = api("/classes?fields=sourcedId,title").json()["classes"]
    assert set(slim[0]) == {"sourcedId", "title"}
    assert minor(api("/users?filter=password='x'")) == "invalid_filter_field"
    assert minor(api("/users?filter=email=x")) == "invalid_filter_field"
    assert minor(api("/classes?fields=secret")) == "invalid_selection_field"
    assert minor(api("/classes?sort=secret")) == "invalid_sort_field"


def test_nested_collections(api: Any, world: Any) -> None:
    schools = api("/schools").json()["orgs"]
    a = next(s for s in schools if s["identifier"] == "SA")
    classes = api(f"/schools/{a['sourcedId']}/classes").json()["classes"]
    assert {c["school"]["sourcedId"] for c in classes} == {a["sourcedId"]}
    assert len(api(f"/schools/{a['sourcedId']}/students").json()["users"]) == 9
    homeroom = next(c for c in classes if c["title"] == "七年级1班")
    students = api(f"/classes/{homeroom['sourcedId']}/students").json()["users"]
    assert len(students) == 3
    teachers = api(f"/classes/{homeroom['sourcedId']}/teachers").json()["users"]
    assert [t["familyName"] for t in teachers] == ["王"]
    their = api(f"/teachers/{teachers[0]['sourcedId']}/classes").json()["classes"]
    assert homeroom["sourcedId"] in {c["sourcedId"] for c in their}
    term = homeroom["terms"][0]["sourcedId"]
    assert api(f"/terms/{term}/classes")["X-Total-Count"] == str(len(classes))
    assert api(f"/terms/{term}/gradingPeriods").json() == {"academicSessions": []}
    assert (
        len(api(f"/schools/{a['sourcedId']}/classes/{homeroom['sourcedId']}/students").json()["users"]) == 3
    )
    assert api("/schools/nope/classes").status_code == 404


def test_school_client_sees_only_its_school(world: Any) -> None:
    client, secret = make_client(world, school=world.a.school)
    http = HttpClient()
    token = bearer(http, client, secret)
    orgs = http.get(f"{BASE}/schools", HTTP_AUTHORIZATION=f"Bearer {token}").json()["orgs"]
    assert [o["identifier"] for o in orgs] == ["SA"]
    users = http.get(f"{BASE}/students", HTTP_AUTHORIZATION=f"Bearer {token}").json()["users"]
    assert len(users) == 9
    b_student = world.b.students["g7c1"][0]
    ids = Ids(world.district)
    sid = ids.get("person", b_student.person_id)
    ids.save()
    assert http.get(f"{BASE}/users/{sid}", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404


def test_gradebook_reads_and_writes(api: Any, world: Any) -> None:
    add_gradebook(world)
    items = api("/lineItems").json()["lineItems"]
    assert len(items) == 2
    item = items[0]
    results = api(f"/classes/{item['class']['sourcedId']}/lineItems/{item['sourcedId']}/results").json()[
        "results"
    ]
    assert {r["scoreStatus"] for r in results} == {"fully graded", "not submitted"}
    categories = api("/categories").json()["categories"]
    midterm = next(c for c in categories if c["title"] == "Midterm exam")
    section = item["class"]["sourcedId"]
    body = {
        "lineItem": {
            "title": "Quiz 1",
            "assignDate": "2026-10-01T00:00:00.000Z",
            "dueDate": "2026-10-02T00:00:00.000Z",
            "class": {"sourcedId": section},
            "category": {"sourcedId": midterm["sourcedId"]},
            "resultValueMin": 0,
            "resultValueMax": 20,
        }
    }
    created = api("/lineItems/li-quiz-1", "put", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["lineItem"]["resultValueMax"] == 20.0
    body["lineItem"]["resultValueMax"] = 25
    replaced = api("/lineItems/li-quiz-1", "put", data=json.dumps(body), content_type="application/json")
    assert replaced.status_code == 200
    assert replaced.json()["lineItem"]["resultValueMax"] == 25.0
    student = api(f"/classes/{section}/students").json()["users"][0]["sourcedId"]
    for n, (status, score) in enumerate(
        [
            ("fully graded", 30),
            ("exempt", None),
            ("not submitted", None),
            ("partially graded", 5),
            ("submitted", 7),
        ]
    ):
        result = {
            "result": {
                "lineItem": {"sourcedId": "li-quiz-1"},
                "student": {"sourcedId": student},
                "scoreStatus": status,
                "score": score,
                "scoreDate": "2026-10-03",
            }
        }
        response = api("/results/r-1", "put", data=json.dumps(result), content_type="application/json")
        assert response.status_code == (201 if n == 0 else 200), response.content
        assert response.json()["result"]["scoreStatus"] == (
            "fully graded" if status in ("partially graded", "submitted") else status
        )
    assert Score.objects.get(pk=SourcedId.objects.get(sourced_id="r-1").key).value == Decimal("7")
    # Extra credit (30 > 25) was accepted above; bad input is a 422 / 400 with the spec's payload.
    bad = api(
        "/results/r-2",
        "put",
        data=json.dumps(
            {
                "result": {
                    "lineItem": {"sourcedId": "li-quiz-1"},
                    "student": {"sourcedId": student},
                    "scoreStatus": "graded",
                }
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422 and minor(bad) == "invaliddata"
    assert api("/results/r-2", "put", data="{not json", content_type="application/json").status_code == 400
    bad_date = {
        "result": {
            "lineItem": {"sourcedId": "li-quiz-1"},
            "student": {"sourcedId": student},
            "scoreStatus": "exempt",
            "scoreDate": "yesterday",
        }
    }
    response = api("/results/r-2", "put", data=json.dumps(bad_date), content_type="application/json")
    assert response.status_code == 422 and "scoreDate" in response.json()["imsx_description"]
    assert (
        api(
            "/results/r-2", "put", data=json.dumps({"lineItem": {}}), content_type="application/json"
        ).status_code
        == 400
    )
    listed = api(f"/classes/{section}/students/{student}/results").json()["results"]
    assert "r-1" in {r["sourcedId"] for r in listed}
    assert api("/results/r-1", "delete").status_code == 204
    assert api("/results/r-1").status_code == 404
    assert api("/lineItems/li-quiz-1", "delete").status_code == 204
    assert api("/lineItems/li-quiz-1").status_code == 404
    assert api("/lineItems/li-quiz-1", "delete").status_code == 404


def test_gradebook_write_scopes(world: Any) -> None:
    client, secret = make_client(world, (S + "gradebook.readonly",))
    http = HttpClient()
    token = bearer(http, client, secret)
    response = http.put(
        f"{BASE}/lineItems/x",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403
    response = http.delete(f"{BASE}/results/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "envelope", "count"),
    [
        ("/orgs", "orgs", 3),
        ("/academicSessions", "academicSessions", 4),
        ("/terms", "academicSessions", 2),
        ("/gradingPeriods", "academicSessions", 0),
        ("/courses", "courses", 8),
        ("/students", "users", 18),
        ("/teachers", "users", 11),
        ("/demographics", "demographics", 33),
        ("/categories", "categories", 4),
        ("/scoreScales", "scoreScales", 0),
        ("/results", "results", 3),
    ],
)
def test_every_top_level_collection(api: Any, world: Any, path: str, envelope: str, count: int) -> None:
    add_gradebook(world)
    response = api(path)
    assert response.status_code == 200
    assert list(response.json()) == [envelope]
    assert response["X-Total-Count"] == str(count)


def test_more_nested_collections(api: Any, world: Any) -> None:
    add_gradebook(world)
    a = next(s for s in api("/schools").json()["orgs"] if s["identifier"] == "SA")["sourcedId"]
    assert api(f"/schools/{a}/courses")["X-Total-Count"] == "4"  # two grades, two subjects
    assert api(f"/schools/{a}/terms")["X-Total-Count"] == "1"
    assert api(f"/schools/{a}/teachers")["X-Total-Count"] == "6"
    enrollments = api(f"/schools/{a}/enrollments").json()["enrollments"]
    assert {e["role"] for e in enrollments} == {"student", "teacher"}
    assert {e["primary"] for e in enrollments} == {"true", "false"}  # a string enumeration
    section = api("/lineItems").json()["lineItems"][0]["class"]["sourcedId"]
    assert api(f"/classes/{section}/lineItems")["X-Total-Count"] == "1"
    assert api(f"/classes/{section}/categories").json()["categories"][0]["title"] == "Midterm exam"
    assert api(f"/classes/{section}/results")["X-Total-Count"] in ("3", "0")
    student = api(f"/classes/{section}/students").json()["users"][0]["sourcedId"]
    assert section in {c["sourcedId"] for c in api(f"/students/{student}/classes").json()["classes"]}
    course = api(f"/classes/{section}").json()["class"]["course"]["sourcedId"]
    assert section in {c["sourcedId"] for c in api(f"/courses/{course}/classes").json()["classes"]}
    assert api(f"/students/{student}/nothing").status_code == 404
