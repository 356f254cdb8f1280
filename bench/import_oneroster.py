"""OneRoster 1.2 CSV import speed, against a raw bulk insert of the same rows; REST paging.

    python bench/import_oneroster.py [--scale small|full] [--keep]

full: ≈200k students, 300k guardians, 8k classes, 2M enrollments (100 schools; each has 8 homeroom
classes of 250 students and 9 scheduled subject classes per homeroom — our model has no per-section
rosters, so each scheduled class is one homeroom's lesson in one subject, see oneroster/mapping.py);
small: 1/100 of that. Steps, all into a freshly migrated scratch database:

1. generate the zip (streamed: csv.writer into each zip member; not timed);
2. **import** it (`oneroster.importer.import_zip`, one transaction, into an empty database) — timed;
3. **raw**: exactly the rows the import wrote (every table it touched, read back in primary-key
   order) inserted into an empty copy of the migrated schema in one transaction: COPY on PostgreSQL,
   executemany of single-row INSERTs on SQLite. Only the writes are timed;
4. **re-import** the unchanged zip — timed twice: as it runs by default (every file's digest equals
   the last import's, so no row is read) and row by row (`trust_digests=False`: every row is read,
   checked and fingerprinted, and skipped because its fingerprint is unchanged);
5. **re-import a changed zip**: the same files but users.csv with 1% of the users renamed (every 100th
   row), as it runs by default — timed (reimport_changed_*);
6. REST: a district-wide client walks /users with limit=1000 (in-process requests through the whole
   middleware stack, after one warm-up request); p95 per page.

Last line: JSON with ratio_vs_raw (import / raw, wall clock), reimport_ratio_vs_raw,
reimport_changed_ratio_vs_raw, peak_rss_mb (the process's peak resident set; peak_rss_mb_import: up to
the end of the import; peak_rss_mb_before_import: up to its start, i.e. Django and the zip's
generation), page timings, and the CPU seconds of each side (*_cpu_s; on a busy machine they say more
than the wall clock — on PostgreSQL the server's work is not in them). Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import drop_postgres, postgres_scratch, use_scratch  # noqa: E402

SUBJECTS = ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "政治"]
HOMEROOMS_PER_SCHOOL = 8
STUDENTS_PER_HOMEROOM = 250
TEACHERS_PER_SCHOOL = 20


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Ids:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def generate(path: Path, schools: int, seed: int = 1) -> dict[str, int]:
    """Writes the zip, one member at a time, each row as it is made."""
    from schoolbridge.oneroster import spec

    new = Ids(seed)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    district = new()
    year, term1, term2 = new(), new(), new()
    school_ids = [new() for _ in range(schools)]
    grade_course = {s: new() for s in school_ids}
    subject_course = {(s, j): new() for s in school_ids for j in range(len(SUBJECTS))}
    homerooms = [(s, h, new()) for s in school_ids for h in range(HOMEROOMS_PER_SCHOOL)]
    sections = {(hr, j): new() for _, _, hr in homerooms for j in range(len(SUBJECTS))}
    teachers = {s: [new() for _ in range(TEACHERS_PER_SCHOOL)] for s in school_ids}
    n_students = len(homerooms) * STUDENTS_PER_HOMEROOM
    students = [new() for _ in range(n_students)]
    first_guardian = [new() for _ in range(n_students)]
    second_guardian = {i: new() for i in range(0, n_students, 2)}
    blank = {c: "" for c in ("status", "dateLastModified")}

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def member(name: str) -> Any:
            stream = archive.open(f"{name}.csv", "w")
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            writer = csv.DictWriter(text, fieldnames=spec.HEADERS[name], lineterminator="\r\n", restval="")
            writer.writeheader()
            return text, writer

        archive.writestr(
            "manifest.csv",
            spec.manifest_bytes(set(spec.HEADERS) - {"userProfiles", "categories", "lineItems", "results"}),
        )
        text, w = member("orgs")
        w.writerow(
            {"sourcedId": district, "name": "基准区", "type": "district", "identifier": "BENCH", **blank}
        )
        for i, s in enumerate(school_ids):
            w.writerow(
                {
                    "sourcedId": s,
                    "name": f"第{i + 1}中学",
                    "type": "school",
                    "identifier": f"S{i:04d}",
                    "parentSourcedId": district,
                }
            )
        text.close()
        text, w = member("academicSessions")
        w.writerow(
            {
                "sourcedId": year,
                "title": "2026-2027",
                "type": "schoolYear",
                "startDate": "2026-09-01",
                "endDate": "2027-07-15",
                "schoolYear": "2027",
            }
        )
        w.writerow(
            {
                "sourcedId": term1,
                "title": "上学期",
                "type": "term",
                "startDate": "2026-09-01",
                "endDate": "2027-01-20",
                "parentSourcedId": year,
                "schoolYear": "2027",
            }
        )
        w.writerow(
            {
                "sourcedId": term2,
                "title": "下学期",
                "type": "term",
                "startDate": "2027-02-20",
                "endDate": "2027-07-15",
                "parentSourcedId": year,
                "schoolYear": "2027",
            }
        )
        text.close()
        text, w = member("courses")
        for s in school_ids:
            w.writerow({"sourcedId": grade_course[s], "title": "七年级", "grades": "07", "orgSourcedId": s})
            for j, name in enumerate(SUBJECTS):
                w.writerow(
                    {
                        "sourcedId": subject_course[(s, j)],
                        "title": name,
                        "courseCode": f"SUB{j}",
                        "orgSourcedId": s,
                        "subjects": name,
                    }
                )
        text.close()
        text, w = member("classes")
        for s, h, hr in homerooms:
            w.writerow(
                {
                    "sourcedId": hr,
                    "title": f"七年级{h + 1}班",
                    "grades": "07",
                    "courseSourcedId": grade_course[s],
                    "classType": "homeroom",
                    "schoolSourcedId": s,
                    "termSourcedIds": f"{term1},{term2}",
                }
            )
            for j, name in enumerate(SUBJECTS):
                w.writerow(
                    {
                        "sourcedId": sections[(hr, j)],
                        "title": f"七年级{h + 1}班 {name}",
                        "grades": "07",
                        "courseSourcedId": subject_course[(s, j)],
                        "classCode": f"SUB{j}",
                        "classType": "scheduled",
                        "schoolSourcedId": s,
                        "termSourcedIds": term1,
                        "subjects": name,
                    }
                )
        text.close()
        counts["classes"] = len(homerooms) * (1 + len(SUBJECTS))

        def school_of_student(i: int) -> tuple[str, str]:
            s, _, hr = homerooms[i // STUDENTS_PER_HOMEROOM]
            return s, hr

        text, w = member("users")
        roles_rows: list[dict[str, str]] = []
        for s in school_ids:
            for k, t in enumerate(teachers[s]):
                w.writerow(
                    {
                        "sourcedId": t,
                        "enabledUser": "true",
                        "username": f"{s[:8]}-T{k}",
                        "givenName": "老师",
                        "familyName": "王",
                        "identifier": f"T{k:03d}",
                        "primaryOrgSourcedId": s,
                    }
                )
        for i, st in enumerate(students):
            s, _ = school_of_student(i)
            agents = first_guardian[i] + ("," + second_guardian[i] if i in second_guardian else "")
            w.writerow(
                {
                    "sourcedId": st,
                    "enabledUser": "true",
                    "username": f"S{i:07d}",
                    "givenName": f"生{i}",
                    "familyName": "张",
                    "identifier": f"S{i:07d}",
                    "agentSourcedIds": agents,
                    "grades": "07",
                    "primaryOrgSourcedId": s,
                }
            )
        for i, g in enumerate(first_guardian):
            w.writerow(
                {
                    "sourcedId": g,
                    "enabledUser": "true",
                    "username": f"G{i:07d}",
                    "givenName": "家长",
                    "familyName": "张",
                    "phone": f"139{i:08d}",
                    "agentSourcedIds": students[i],
                    "primaryOrgSourcedId": district,
                }
            )
        for i, g in second_guardian.items():
            w.writerow(
                {
                    "sourcedId": g,
                    "enabledUser": "true",
                    "username": f"H{i:07d}",
                    "givenName": "家长",
                    "familyName": "李",
                    "phone": f"138{i:08d}",
                    "agentSourcedIds": students[i],
                    "primaryOrgSourcedId": district,
                }
            )
        text.close()
        counts["students"], counts["guardians"] = n_students, n_students + len(second_guardian)
        del roles_rows
        text, w = member("roles")
        for s in school_ids:
            for t in teachers[s]:
                w.writerow(
                    {
                        "sourcedId": new(),
                        "userSourcedId": t,
                        "roleType": "primary",
                        "role": "teacher",
                        "orgSourcedId": s,
                    }
                )
        for i, st in enumerate(students):
            w.writerow(
                {
                    "sourcedId": new(),
                    "userSourcedId": st,
                    "roleType": "primary",
                    "role": "student",
                    "orgSourcedId": school_of_student(i)[0],
                    "beginDate": "2026-09-01",
                }
            )
        for g in first_guardian:
            w.writerow(
                {
                    "sourcedId": new(),
                    "userSourcedId": g,
                    "roleType": "primary",
                    "role": "parent",
                    "orgSourcedId": district,
                }
            )
        for g in second_guardian.values():
            w.writerow(
                {
                    "sourcedId": new(),
                    "userSourcedId": g,
                    "roleType": "primary",
                    "role": "relative",
                    "orgSourcedId": district,
                }
            )
        text.close()
        text, w = member("demographics")
        for i, st in enumerate(students):
            w.writerow(
                {
                    "sourcedId": st,
                    "birthDate": f"2013-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "sex": rng.choice(["male", "female"]),
                }
            )
        text.close()
        text, w = member("enrollments")
        n = 0
        for h, (s, _, hr) in enumerate(homerooms):
            staff = teachers[s]
            w.writerow(
                {
                    "sourcedId": new(),
                    "classSourcedId": hr,
                    "schoolSourcedId": s,
                    "userSourcedId": staff[h % len(staff)],
                    "role": "teacher",
                    "primary": "true",
                }
            )
            n += 1
            for j in range(len(SUBJECTS)):
                w.writerow(
                    {
                        "sourcedId": new(),
                        "classSourcedId": sections[(hr, j)],
                        "schoolSourcedId": s,
                        "userSourcedId": staff[(h + j) % len(staff)],
                        "role": "teacher",
                        "primary": "true",
                    }
                )
                n += 1
        for i, st in enumerate(students):
            s, hr = school_of_student(i)
            w.writerow(
                {
                    "sourcedId": new(),
                    "classSourcedId": hr,
                    "schoolSourcedId": s,
                    "userSourcedId": st,
                    "role": "student",
                    "primary": "false",
                    "beginDate": "2026-09-01",
                }
            )
            for j in range(len(SUBJECTS)):
                w.writerow(
                    {
                        "sourcedId": new(),
                        "classSourcedId": sections[(hr, j)],
                        "schoolSourcedId": s,
                        "userSourcedId": st,
                        "role": "student",
                        "primary": "false",
                    }
                )
            n += 1 + len(SUBJECTS)
        text.close()
        counts["enrollments"] = n
    return counts


def changed_copy(source: Path, target: Path, every: int = 100) -> int:
    """A copy of the zip whose users.csv has every `every`-th user renamed. Returns how many."""
    changed = 0
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != "users.csv":
                with src.open(info) as member, dst.open(info.filename, "w") as out:
                    shutil.copyfileobj(member, out, 1 << 20)
                continue
            with src.open(info) as member, dst.open("users.csv", "w") as out:
                reader = csv.reader(io.TextIOWrapper(member, encoding="utf-8", newline=""))
                text = io.TextIOWrapper(out, encoding="utf-8", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                header = next(reader)
                writer.writerow(header)
                given = header.index("givenName")
                for n, row in enumerate(reader, start=1):
                    if n % every == 0:
                        row[given] += "改"
                        changed += 1
                    writer.writerow(row)
                text.close()
    return changed


TOUCHED = [
    "core.District",
    "core.School",
    "core.SchoolYear",
    "core.Term",
    "core.GradeLevel",
    "core.Subject",
    "core.Class",
    "core.Person",
    "core.Staff",
    "core.Student",
    "core.Guardian",
    "core.Guardianship",
    "core.Enrollment",
    "core.TeachingAssignment",
    "oneroster.SourcedId",
    "audit.AuditEvent",
]


def raw_insert(engine: str, src_dsn: str, dst_dsn: str) -> dict[str, Any]:
    """One transaction writing every row the import wrote, table by table in primary-key order."""
    from django.apps import apps

    models = [apps.get_model(label) for label in TOUCHED]
    if engine == "sqlite":
        import sqlite3

        src: Any = sqlite3.connect(src_dsn)
        dst: Any = sqlite3.connect(dst_dsn, isolation_level=None)
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"):
            dst.execute(pragma)
    else:
        import psycopg

        src = psycopg.connect(src_dsn)
        dst = psycopg.connect(dst_dsn, autocommit=True)
    seconds, cpu, rows = 0.0, 0.0, {}
    cur = dst.cursor()
    started = time.perf_counter()
    cur.execute("BEGIN IMMEDIATE" if engine == "sqlite" else "BEGIN")
    seconds += time.perf_counter() - started
    for model in models:
        table = model._meta.db_table
        columns = [f.column for f in model._meta.concrete_fields]
        cols = ", ".join(f'"{c}"' for c in columns)
        read = src.cursor()
        read.execute(f'SELECT {cols} FROM "{table}" ORDER BY id')
        total = 0
        while True:
            chunk = read.fetchmany(50000)
            if not chunk:
                break
            if engine == "postgresql":
                from psycopg.types.json import Jsonb

                chunk = [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in r) for r in chunk]
            started, cpu0 = time.perf_counter(), time.process_time()
            if engine == "sqlite":
                marks = ", ".join("?" * len(columns))
                cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', chunk)
            else:
                with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                    for r in chunk:
                        copy.write_row(r)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu0
            total += len(chunk)
        read.close()
        rows[table] = total
    started = time.perf_counter()
    cur.execute("COMMIT")
    seconds += time.perf_counter() - started
    src.close()
    dst.close()
    return {"seconds": seconds, "cpu": cpu, "rows": rows}


def rest_paging(limit: int = 1000) -> dict[str, Any]:
    from django.test import Client as HttpClient

    from schoolbridge.core.models import District
    from schoolbridge.oneroster import actions
    from schoolbridge.oneroster.models import Client

    district = District.objects.get(code="BENCH")
    client = Client.objects.create(
        district=district,
        name="bench",
        client_id="bench-client",
        secret_hash="!",
        scopes=list(actions.SCOPES),
    )
    from django.contrib.auth.hashers import make_password

    client.secret_hash = make_password("bench-secret")
    client.save()
    token, _ = actions.issue_token("bench-client", "bench-secret", None)
    http = HttpClient(SERVER_NAME="localhost")
    # One warm-up request first: the process's first request imports the URL configuration (every
    # app's views and API modules), which a running server has done long before.
    http.get("/ims/oneroster/v1p2/users?limit=1", HTTP_AUTHORIZATION=f"Bearer {token}")
    times, offset, seen, total = [], 0, 0, None
    while total is None or offset < total:
        started = time.perf_counter()
        response = http.get(
            f"/ims/oneroster/v1p2/users?limit={limit}&offset={offset}", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(
                f"REST page at offset {offset}: {response.status_code} {response.content[:300]!r}"
            )
        total = int(response["X-Total-Count"])
        seen += len(response.json()["users"])
        offset += limit
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {
        "pages": len(times),
        "users": seen,
        "p95_s": round(p95, 3),
        "median_s": round(statistics.median(times), 3),
        "max_s": round(times[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["small", "full"], default="small")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and the zip")
    args = parser.parse_args()
    schools = 100 if args.scale == "full" else 1

    var = Path(tempfile.mkdtemp(prefix="schoolbridge-bench-oneroster-"))
    original_url = os.environ.get("DATABASE_URL", "")
    engine = use_scratch(var, "bench_oneroster", fresh=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    import schoolbridge.urls  # noqa: F401  (every view module now, as a server has at start)
    from schoolbridge.oneroster.importer import import_zip

    db_name = settings.DATABASES["default"]["NAME"]
    print(f"scratch database: {db_name}", file=sys.stderr)
    call_command("migrate", verbosity=0)
    connection.close()
    if hasattr(connection, "close_pool"):  # PostgreSQL's pool: no session may stay on the template
        connection.close_pool()
    if engine == "sqlite":
        import sqlite3

        raw_dsn = str(var / "raw.sqlite3")
        with sqlite3.connect(db_name) as src, sqlite3.connect(raw_dsn) as dst:
            src.backup(dst)
        src_dsn = db_name
    else:
        raw_url = postgres_scratch(original_url, "bench_oneroster_raw", fresh=True, template=db_name)
        src_dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        raw_dsn = raw_url.replace("postgres://", "postgresql://", 1)

    zip_path = var / "oneroster.zip"
    started = time.perf_counter()
    counts = generate(zip_path, schools)
    print(
        f"generated {counts} in {time.perf_counter() - started:.1f} s ({zip_path.stat().st_size / 1e6:.1f} MB)",
        file=sys.stderr,
    )

    rss_before_import = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    report = import_zip(None, zip_path)
    import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"import: {import_s:.1f} s  {dict(report.created)}", file=sys.stderr)
    print(f"import steps (s): {report.seconds}", file=sys.stderr)
    rss_after_import = peak_rss_mb()
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()

    raw = raw_insert(engine, src_dsn, raw_dsn)
    print(f"raw: {sum(raw['rows'].values()):,} rows in {raw['seconds']:.1f} s", file=sys.stderr)

    started, cpu = time.perf_counter(), time.process_time()
    again = import_zip(None, zip_path)
    reimport_s, reimport_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"re-import: {reimport_s:.1f} s  unchanged {dict(again.unchanged)}", file=sys.stderr)
    started, cpu = time.perf_counter(), time.process_time()
    rows_again = import_zip(None, zip_path, trust_digests=False)
    reimport_rows_s, reimport_rows_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"re-import row by row: {reimport_rows_s:.1f} s  created {dict(rows_again.created)}", file=sys.stderr
    )
    print(f"re-import steps (s): {rows_again.seconds}", file=sys.stderr)

    changed_path = var / "oneroster-changed.zip"
    n_changed = changed_copy(zip_path, changed_path)
    started, cpu = time.perf_counter(), time.process_time()
    changed = import_zip(None, changed_path)
    reimport_changed_s, reimport_changed_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"re-import of a changed zip ({n_changed} users renamed): {reimport_changed_s:.1f} s  "
        f"updated {dict(changed.updated)}  unchanged {dict(changed.unchanged)}",
        file=sys.stderr,
    )
    print(f"changed re-import steps (s): {changed.seconds}", file=sys.stderr)
    if changed.updated.get("user") != n_changed:
        raise SystemExit(
            f"the changed re-import updated {changed.updated.get('user')} users, not {n_changed}"
        )

    paging = rest_paging()
    print(f"REST /users paging: {paging}", file=sys.stderr)
    connection.close()

    if not args.keep:
        if engine == "postgresql":
            drop_postgres(os.environ["DATABASE_URL"])
            drop_postgres(raw_url)
        shutil.rmtree(var, ignore_errors=True)
    else:
        print(f"kept: {var}", file=sys.stderr)
    figures = {
        "bench": "import_oneroster",
        "engine": engine,
        "scale": args.scale,
        **{f"n_{k}": v for k, v in counts.items()},
        "rows_written": sum(raw["rows"].values()),
        "import_s": round(import_s, 2),
        "raw_s": round(raw["seconds"], 2),
        "ratio_vs_raw": round(import_s / raw["seconds"], 2) if raw["seconds"] else None,
        "reimport_s": round(reimport_s, 2),
        "reimport_ratio_vs_raw": round(reimport_s / raw["seconds"], 2) if raw["seconds"] else None,
        "reimport_rows_s": round(reimport_rows_s, 2),
        "reimport_rows_ratio_vs_raw": round(reimport_rows_s / raw["seconds"], 2) if raw["seconds"] else None,
        "n_users_changed": n_changed,
        "reimport_changed_s": round(reimport_changed_s, 2),
        "reimport_changed_ratio_vs_raw": round(reimport_changed_s / raw["seconds"], 2)
        if raw["seconds"]
        else None,
        "import_cpu_s": round(import_cpu, 2),
        "raw_cpu_s": round(raw["cpu"], 2),
        "reimport_cpu_s": round(reimport_cpu, 2),
        "reimport_rows_cpu_s": round(reimport_rows_cpu, 2),
        "reimport_changed_cpu_s": round(reimport_changed_cpu, 2),
        "peak_rss_mb_before_import": rss_before_import,
        "peak_rss_mb_import": rss_after_import,
        "peak_rss_mb": peak_rss_mb(),
        "rest_users_pages": paging["pages"],
        "rest_users_page_p95_s": paging["p95_s"],
        "rest_users_page_median_s": paging["median_s"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
