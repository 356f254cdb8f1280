"""OneRoster 1.2 REST paging: walking every user a page at a time, against a raw SELECT of each page.

    python bench/oneroster_rest.py [--scale small|full] [--limit 1000] [--keep]

The data is the OneRoster zip that bench/import_oneroster.py generates (its `generate`, imported and
used as it is: schools of 8 homerooms × 250 students, 20 teachers, one or two guardians per student,
9 scheduled subject classes per homeroom), imported with `oneroster.importer.import_zip` into a freshly
migrated scratch database (see bench/_scratch.py; not timed), then ANALYZE (the planner statistics
autovacuum gathers after a bulk load). small: 3 schools (6,000 students), full: 100 schools (200,000
students).

Then a district-wide integration client, with a real OAuth 2.0 token from the token endpoint, walks
/ims/oneroster/v1p2/users?limit=L&offset=… from the first page to the last, following X-Total-Count:
in-process requests through the whole middleware stack (Django's test client; one warm-up request
first, as a running server has its URL configuration loaded). Each page is timed, and right after it
the **raw** side: the same page's SQL (the people the client may see, ORDER BY id LIMIT L OFFSET …, as
the binding's queryset compiles it) run with the driver's cursor and fetched whole. The ratio says what
building the page's records (roles, agents, sourcedIds) and JSON costs over reading its rows.

Also sampled: 5 pages of /enrollments spread over the whole collection (the costliest collection: the
scheduled classes' students are a join of homeroom enrolments with the teaching assignments).

Last line: JSON {"bench", "engine", "scale", "students", "users", "limit", "pages", "page_p50_ms",
"page_p95_ms", "raw_p50_ms", "raw_p95_ms", "ratio_p50_vs_raw", "ratio_p95_vs_raw", "enrollments",
"enrollment_page_p50_ms", "enrollment_page_max_ms"}. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import drop_postgres, use_scratch  # noqa: E402

STUDENTS_PER_SCHOOL = 8 * 250  # bench/import_oneroster.py: HOMEROOMS_PER_SCHOOL × STUDENTS_PER_HOMEROOM


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def token_for_client(http: Any) -> str:
    """A district-wide client with every scope, and a bearer token from the token endpoint."""
    from schoolbridge.core.models import District
    from schoolbridge.oneroster import actions
    from schoolbridge.oneroster.models import Client

    district = District.objects.get(code="BENCH")
    from django.contrib.auth.hashers import make_password

    Client.objects.create(
        district=district,
        name="bench-rest",
        client_id="bench-rest",
        secret_hash=make_password("bench-secret"),
        scopes=list(actions.SCOPES),
    )
    basic = base64.b64encode(b"bench-rest:bench-secret").decode()
    response = http.post(
        "/ims/oneroster/v1p2/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    if response.status_code != 200:
        raise SystemExit(f"token: {response.status_code} {response.content[:300]!r}")
    return str(response.json()["access_token"])


def raw_page(sql: str, params: tuple[Any, ...]) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()
    return time.perf_counter() - started


def walk_users(http: Any, token: str, limit: int) -> dict[str, Any]:
    from schoolbridge.oneroster.models import Client
    from schoolbridge.oneroster.queries import Source

    source = Source(Client.objects.select_related("district").get(client_id="bench-rest"))
    people = source.person_queryset(None).order_by("pk")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    http.get("/ims/oneroster/v1p2/users?limit=1", **auth)  # warm-up
    pages: list[float] = []
    raws: list[float] = []
    offset, total, seen, ids = 0, None, 0, set()
    while total is None or offset < total:
        started = time.perf_counter()
        response = http.get(f"/ims/oneroster/v1p2/users?limit={limit}&offset={offset}", **auth)
        pages.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"/users at offset {offset}: {response.status_code} {response.content[:300]!r}")
        total = int(response["X-Total-Count"])
        users = response.json()["users"]
        seen += len(users)
        ids.update(u["sourcedId"] for u in users)
        sql, params = people[offset : offset + limit].query.sql_with_params()
        raws.append(raw_page(sql, params))
        offset += limit
        print(
            f"  /users offset {offset - limit}: {pages[-1] * 1000:.0f} ms (raw {raws[-1] * 1000:.1f} ms)",
            file=sys.stderr,
        )
    if seen != total or len(ids) != total:
        raise SystemExit(f"walked {seen} users ({len(ids)} distinct), X-Total-Count says {total}")
    return {"users": total, "pages": pages, "raws": raws}


def sample_enrollments(http: Any, token: str, limit: int, samples: int = 5) -> dict[str, Any]:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    total = int(http.get("/ims/oneroster/v1p2/enrollments?limit=1", **auth)["X-Total-Count"])
    last = max(0, (total - 1) // limit * limit)
    offsets = sorted({(last * i // (samples - 1)) // limit * limit for i in range(samples)})
    times = []
    for offset in offsets:
        started = time.perf_counter()
        response = http.get(f"/ims/oneroster/v1p2/enrollments?limit={limit}&offset={offset}", **auth)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"/enrollments at {offset}: {response.status_code} {response.content[:300]!r}")
        print(f"  /enrollments offset {offset}: {times[-1] * 1000:.0f} ms", file=sys.stderr)
    return {"enrollments": total, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["small", "full"], default="small")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    wanted = 200_000 if args.scale == "full" else 5_000
    schools = math.ceil(wanted / STUDENTS_PER_SCHOOL)

    var = Path(tempfile.mkdtemp(prefix="schoolbridge-bench-oneroster-rest-"))
    engine = use_scratch(var, "bench_oneroster_rest", fresh=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as HttpClient
    from import_oneroster import generate  # the same generator, used as it is

    import schoolbridge.urls  # noqa: F401  (every view module now, as a server has at start)
    from schoolbridge.oneroster.importer import import_zip

    print(f"scratch database: {settings.DATABASES['default']['NAME']}", file=sys.stderr)
    call_command("migrate", verbosity=0)
    zip_path = var / "oneroster.zip"
    counts = generate(zip_path, schools)
    started = time.perf_counter()
    import_zip(None, zip_path)
    with connection.cursor() as cursor:  # planner statistics, as autovacuum gathers after a bulk load
        cursor.execute("ANALYZE")
    print(f"generated and imported {counts} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)

    http = HttpClient(SERVER_NAME="localhost")
    token = token_for_client(http)
    users = walk_users(http, token, args.limit)
    enrollments = sample_enrollments(http, token, args.limit)
    connection.close()
    if not args.keep:
        if engine == "postgresql":
            drop_postgres(os.environ["DATABASE_URL"])
        shutil.rmtree(var, ignore_errors=True)
    else:
        print(f"kept: {var}", file=sys.stderr)

    pages, raws = users["pages"], users["raws"]
    p50, p95 = statistics.median(pages), pct(pages, 0.95)
    r50, r95 = statistics.median(raws), pct(raws, 0.95)
    figures = {
        "bench": "oneroster_rest",
        "engine": engine,
        "scale": args.scale,
        "students": counts.get("students", schools * STUDENTS_PER_SCHOOL),
        "users": users["users"],
        "limit": args.limit,
        "pages": len(pages),
        "page_p50_ms": round(p50 * 1000, 1),
        "page_p95_ms": round(p95 * 1000, 1),
        "raw_p50_ms": round(r50 * 1000, 2),
        "raw_p95_ms": round(r95 * 1000, 2),
        "ratio_p50_vs_raw": round(p50 / r50, 1) if r50 else None,
        "ratio_p95_vs_raw": round(p95 / r95, 1) if r95 else None,
        "enrollments": enrollments["enrollments"],
        "enrollment_page_p50_ms": round(statistics.median(enrollments["times"]) * 1000, 1),
        "enrollment_page_max_ms": round(max(enrollments["times"]) * 1000, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
