"""Every REST collection pages in the database: totals from COUNT, stable order across page sizes,
Link headers, filters and sorts pushed into SQL giving the same answer as the Python fallback."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from schoolbridge.core.models import Enrollment, TeachingAssignment
from schoolbridge.oneroster.export import build_files
from schoolbridge.oneroster.filtering import parse_filter
from schoolbridge.oneroster.queries import FILE_OF, Source, nested
from schoolbridge.oneroster.tests.test_rest import BASE, bearer, make_client
from schoolbridge.oneroster.tests.test_roundtrip import add_gradebook

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world: Any) -> Any:
    """GET through the binding with a district-wide token holding every scope."""
    client, secret = make_client(world)
    http = HttpClient()
    token = bearer(http, client, secret)

    def call(path: str) -> Any:
        return http.get(BASE + path, HTTP_AUTHORIZATION=f"Bearer {token}")

    call.client = client  # type: ignore[attr-defined]
    return call


# REST collection → the CSV file whose export rows it must hold (the same records, built by records.py).
SAME_AS_EXPORT = {
    "orgs": "orgs",
    "academicSessions": "academicSessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "demographics": "demographics",
    "enrollments": "enrollments",
    "categories": "categories",
    "lineItems": "lineItems",
    "results": "results",
}


def walk(api: Any, path: str, limit: int, envelope: str, extra: str = "") -> tuple[list[dict[str, Any]], int]:
    """Every object of a collection, following rel="next" links; and the X-Total-Count."""
    out: list[dict[str, Any]] = []
    url = f"{path}?limit={limit}{extra}"
    total = -1
    for _ in range(1000):
        response = api(url)
        assert response.status_code == 200, response.content
        total = int(response["X-Total-Count"])
        out += response.json()[envelope]
        nxt = [part for part in response["Link"].split(", ") if part.endswith('rel="next"')]
        if not nxt:
            break
        link = urlparse(nxt[0][1 : nxt[0].index(">")])
        query = {k: v[0] for k, v in parse_qs(link.query).items()}
        assert int(query["limit"]) == limit
        url = f"{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    return out, total


@pytest.mark.parametrize("name", sorted(SAME_AS_EXPORT))
def test_every_collection_pages_to_the_exported_records(api: Any, world: Any, name: str) -> None:
    add_gradebook(world)
    envelope = name
    whole, total = walk(api, f"/{name}", 1000, envelope)
    small, total_small = walk(api, f"/{name}", 3, envelope)
    ids = [o["sourcedId"] for o in whole]
    assert [o["sourcedId"] for o in small] == ids  # the same stable order whatever the page size
    assert total == total_small == len(ids) == len(set(ids))
    exported = build_files(world.district)[SAME_AS_EXPORT[name]]
    assert set(ids) == {row[0] for row in exported}
    assert total > 0


def test_enrollments_are_read_a_page_at_a_time(api: Any, world: Any) -> None:
    everything = api("/enrollments?limit=1000")
    total = int(everything["X-Total-Count"])
    assert total == len(everything.json()["enrollments"]) > 20
    page = api("/enrollments?limit=5&offset=10")
    assert [e["sourcedId"] for e in page.json()["enrollments"]] == [
        e["sourcedId"] for e in everything.json()["enrollments"][10:15]
    ]
    link = page["Link"]
    assert "offset=15" in link and 'rel="next"' in link
    assert "offset=5" in link and 'rel="prev"' in link
    assert f"offset={((total - 1) // 5) * 5}" in link and 'rel="last"' in link
    # The last page: no next link, and only the rows that are left.
    last = api(f"/enrollments?limit=5&offset={((total - 1) // 5) * 5}")
    assert 'rel="next"' not in last["Link"]
    assert len(last.json()["enrollments"]) == total - ((total - 1) // 5) * 5
    assert api(f"/enrollments?limit=5&offset={total + 10}").json() == {"enrollments": []}
    # Reading one small page does not grow with the number of rows: count it, then add rows.
    with CaptureQueriesContext(connection) as before:
        api("/enrollments?limit=5&offset=3")
    a = world.a
    for student in a.students["g7c2"]:
        Enrollment.objects.create(  # a past enrolment: history is kept
            district=world.district,
            school=a.school,
            student=student,
            klass=a.g7c1,
            start_date=a.term.start_date,
            end_date=a.term.start_date,
        )
    api("/enrollments?limit=1000")  # gives the new rows their sourcedIds
    with CaptureQueriesContext(connection) as after:
        api("/enrollments?limit=5&offset=3")
    assert len(after.captured_queries) <= len(before.captured_queries)
    assert int(api("/enrollments?limit=1")["X-Total-Count"]) > total


def test_fields_and_filters_on_enrollments_and_classes(api: Any, world: Any) -> None:
    slim = api("/enrollments?fields=sourcedId,role&limit=4").json()["enrollments"]
    assert len(slim) == 4 and all(set(e) == {"sourcedId", "role"} for e in slim)
    teachers, total = walk(api, "/enrollments", 4, "enrollments", "&filter=role='teacher'")
    assert teachers and {e["role"] for e in teachers} == {"teacher"}
    everyone = api("/enrollments?limit=1000").json()["enrollments"]
    assert total == sum(e["role"] == "teacher" for e in everyone)
    homeroom = next(c for c in api("/classes?limit=1000").json()["classes"] if c["classType"] == "homeroom")
    by_class = api(f"/enrollments?limit=1000&filter=class='{homeroom['sourcedId']}'").json()["enrollments"]
    assert {e["class"]["sourcedId"] for e in by_class} == {homeroom["sourcedId"]}
    assert len(by_class) == sum(e["class"]["sourcedId"] == homeroom["sourcedId"] for e in everyone)
    sorted_classes = api("/classes?sort=title&orderBy=desc&limit=1000").json()["classes"]
    titles = [c["title"] for c in sorted_classes]
    assert titles == sorted(titles, reverse=True)
    assert api("/classes?limit=1000&filter=classType='scheduled'")["X-Total-Count"] == str(
        len({(a.klass_id, a.subject_id, a.term_id) for a in TeachingAssignment.objects.all()})
    )
    assert api("/enrollments?sort=nothing").status_code == 400
    assert api("/enrollments?fields=nothing").status_code == 400


CASES = [
    ("users", "givenName~'g7' AND familyName!='张'", "familyName", True),
    ("users", "email='' OR phone~'1'", "givenName", True),
    ("users", "identifier~'A'", None, False),  # computed: read in Python
    ("students", "status='active'", "familyName", True),
    ("enrollments", "role='student' AND beginDate>='2000-01-01'", None, True),
    ("enrollments", "endDate<'2100-01-01' OR primary='true'", None, True),
    ("enrollments", "role='teacher'", "sourcedId", False),  # a sort across segments
    ("classes", "classType='homeroom' OR classCode~'M'", None, True),
    ("classes", "title~'数学'", None, False),  # a scheduled class's title is computed
    ("academicSessions", "startDate>'2000-01-01' AND type='term'", "title", False),
    ("terms", "endDate>='2000-01-01'", "startDate", True),
    ("courses", "courseCode!=''", None, True),
    ("demographics", "birthDate<='2020-01-01'", "birthDate", True),
    ("orgs", "type='school'", None, True),
    ("lineItems", "description~'期中'", None, True),
    ("results", "comment=''", None, True),
    ("results", "scoreStatus='fully graded'", None, False),
]


@pytest.mark.parametrize(("name", "flt", "sort", "pushed"), CASES)
def test_pushed_down_equals_python(
    api: Any, world: Any, name: str, flt: str, sort: str | None, pushed: bool
) -> None:
    add_gradebook(world)
    api(f"/{name}?limit=1000")  # every record has its sourcedId
    source = Source(api.client)
    file = FILE_OF[name]
    parsed = parse_filter(flt, source.fields_of(name))
    for desc in (False, True):
        args = ("http://x", "now", 0, 1000, parsed, sort, desc)
        fast = source.page(source.segments(name), file, *args)
        slow = source._page_in_python(source.segments(name), file, *args)
        assert fast.pushed is pushed
        assert fast.total == slow.total
        if sort:
            keyed = [(o.get(sort), o["sourcedId"]) for o in fast.records]
            assert [o.get(sort) for o in fast.records] == [o.get(sort) for o in slow.records]
            assert len(keyed) == len(set(keyed))
        else:
            assert [o["sourcedId"] for o in fast.records] == [o["sourcedId"] for o in slow.records]
        paged = [
            o["sourcedId"]
            for at in range(0, fast.total, 2)
            for o in source.page(
                source.segments(name), file, "http://x", "now", at, 2, parsed, sort, desc
            ).records
        ]
        assert paged == [o["sourcedId"] for o in fast.records]


def test_nested_collections_page_in_the_database(api: Any, world: Any) -> None:
    add_gradebook(world)
    source = Source(api.client)
    classes = api("/classes?limit=1000").json()["classes"]
    everyone = api("/enrollments?limit=1000").json()["enrollments"]
    for klass in classes:
        sid = klass["sourcedId"]
        got = api(f"/classes/{sid}/enrollments?limit=2")
        expected = [e["sourcedId"] for e in everyone if e["class"]["sourcedId"] == sid]
        assert got["X-Total-Count"] == str(len(expected)), klass["title"]
        walked, _ = walk(api, f"/classes/{sid}/enrollments", 2, "enrollments")
        assert [e["sourcedId"] for e in walked] == expected
        students = {
            e["user"]["sourcedId"]
            for e in everyone
            if e["class"]["sourcedId"] == sid and e["role"] == "student"
        }
        listed = api(f"/classes/{sid}/students?limit=1000").json()["users"]
        assert {u["sourcedId"] for u in listed} == students
        segments = nested(source, "classes", sid, "enrollments", [])
        assert segments is not None and all(hasattr(s, "rows") for s in segments)
    school = next(o for o in api("/schools").json()["orgs"] if o["identifier"] == "SA")["sourcedId"]
    in_school = [e["sourcedId"] for e in everyone if e["school"]["sourcedId"] == school]
    walked, total = walk(api, f"/schools/{school}/enrollments", 5, "enrollments")
    assert [e["sourcedId"] for e in walked] == in_school and total == len(in_school)
