#!/usr/bin/env python
"""Gate events per second through the real ingest path, against a raw insert of the same rows.

    python bench/gate_ingest.py [--scale small|full] [--engines sqlite,postgresql]

For each engine (SQLite always; PostgreSQL at DATABASE_URL if it points at one, else at
postgres://postgres@127.0.0.1:5432/postgres — a scratch database `<name>_bench_gate` is created and dropped),
in a child process with a freshly migrated scratch database:

* **ingest** — batches of 500 events `{event_id, card, time, direction}` POSTed with the device's bearer
  token to /api/v1/attendance/gate/events through Django's test Client (the whole middleware stack,
  django-ninja's parsing and validation, device authentication, the ingest: idempotency check, card
  lookup, event insert, the day's registers, the present/late marks, one audit row), one committed
  transaction per batch. Timed from the first request to the last answer, after one empty warm-up batch
  (a running server is warm); database connections persist between requests (DB_CONN_MAX_AGE=60).
* **raw** — the very rows the ingest wrote (gate events, registers, marks; read back, keys included),
  deleted and written again with the driver's `executemany` of single-row INSERTs, one transaction per
  batch in the same order (registers in the first). The audit rows are not re-inserted.

Each student arrives once a day over several school days (small: 1,000 students × 5 days; full: 5,000
× 8), with 2% unknown cards stored unmatched. `ratio_vs_raw` = ingest seconds / raw seconds.

Prints progress on stderr and ONE JSON line last: {"events_per_s": {engine: …}, "ratio_vs_raw":
{engine: …}, "raw_events_per_s": {…}, "runs": {engine: details}}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import ROOT, drop_postgres, is_postgres, postgres_scratch  # noqa: E402

SCALES = {"small": (1000, 5), "full": (5000, 8)}
BATCH = 500
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ worker


def build(students: int, days: int) -> tuple[Any, str, list[datetime.date]]:
    from django.utils import timezone

    from schoolbridge.attendance import gate
    from schoolbridge.attendance.models import AttendanceSettings, GateDevice, StudentCard
    from schoolbridge.core.models import (
        Class,
        District,
        Enrollment,
        GradeLevel,
        Person,
        School,
        SchoolYear,
        Student,
        Term,
    )
    from schoolbridge.schoolcal.queries import school_days

    today = timezone.localdate()
    district = District.objects.create(name="基准区", code="BENCH")
    school = School.objects.create(district=district, name="基准中学", code="B1")
    start = today - datetime.timedelta(days=120)
    year = SchoolYear.objects.create(
        district=district,
        school=school,
        name="Y",
        start_date=start,
        end_date=today + datetime.timedelta(days=200),
    )
    Term.objects.create(
        district=district, school=school, year=year, name="T", start_date=start, end_date=today
    )
    grade = GradeLevel.objects.create(district=district, school=school, name="七年级", order=7)
    per_class = 50
    classes = Class.objects.bulk_create(
        [
            Class(district=district, school=school, year=year, grade=grade, name=f"{i + 1}班")
            for i in range(students // per_class)
        ]
    )
    people = Person.objects.bulk_create(
        [Person(district=district, family_name="陈", given_name=f"生{i:05d}") for i in range(students)]
    )
    pupils = Student.objects.bulk_create(
        [
            Student(
                district=district,
                school=school,
                person=p,
                student_number=f"N{i:06d}",
                current_class=classes[i // per_class],
            )
            for i, p in enumerate(people)
        ],
        batch_size=1000,
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                district=district, school=school, student=s, klass=classes[i // per_class], start_date=start
            )
            for i, s in enumerate(pupils)
        ],
        batch_size=1000,
    )
    StudentCard.objects.bulk_create(
        [
            StudentCard(district=district, school=school, student=s, number=f"CARD{i:06d}")
            for i, s in enumerate(pupils)
        ],
        batch_size=1000,
    )
    AttendanceSettings.objects.create(district=district, school=school, late_after=datetime.time(7, 45))
    raw = gate.new_raw_token()
    GateDevice.objects.create(
        district=district, school=school, name="东门", token_prefix=raw[:10], token_hash=gate.hash_token(raw)
    )
    open_days = school_days(
        school, today - datetime.timedelta(days=days * 2 + 10), today - datetime.timedelta(days=1)
    )
    return school, raw, open_days[-days:]


def events_for(students: int, days: list[datetime.date]) -> list[dict[str, Any]]:
    from django.utils import timezone

    out: list[dict[str, Any]] = []
    n = 0
    for day in days:
        base = timezone.make_aware(datetime.datetime.combine(day, datetime.time(7, 10)))
        for i in range(students):
            n += 1
            card = f"CARD{i:06d}" if n % 50 else f"UNKNOWN{n}"
            when = base + datetime.timedelta(seconds=(i * 2.7) % 3600)
            out.append({"event_id": f"ev{n}", "card": card, "time": when.isoformat(), "direction": "in"})
    return out


def run_worker(scale: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from schoolbridge.attendance.models import GateEvent, Mark, Register

    call_command("migrate", verbosity=0)
    students, ndays = SCALES[scale]
    t0 = time.perf_counter()
    _school, token, days = build(students, ndays)
    events = events_for(students, days)
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    log(f"  built {students} students, {len(events)} events in {time.perf_counter() - t0:.1f}s")

    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [json.dumps({"events": b}) for b in batches]
    totals = {"accepted": 0, "duplicate": 0, "unmatched": 0}
    # Warm the process as a running server is warm (imports, URL resolver, the API's schemas): one empty batch.
    client.post(
        "/api/v1/attendance/gate/events", '{"events": []}', content_type="application/json", headers=headers
    )
    start = time.perf_counter()
    for body in bodies:
        r = client.post(
            "/api/v1/attendance/gate/events", body, content_type="application/json", headers=headers
        )
        if r.status_code != 200:
            raise SystemExit(f"ingest failed: {r.status_code} {r.content[:300]!r}")
        data = r.json()
        for k in totals:
            totals[k] += data[k]
    ingest_s = time.perf_counter() - start
    marks = Mark.objects.count()
    log(f"  ingest: {len(events)} events in {ingest_s:.2f}s, {marks} marks")

    # Raw side: the same rows, read back (not timed), deleted, inserted again batch by batch.
    def rows_of(model: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        cols = [f.column for f in model._meta.concrete_fields]
        with connection.cursor() as cur:
            cur.execute(f"SELECT {', '.join(cols)} FROM {model._meta.db_table} ORDER BY id")
            return cols, list(cur.fetchall())

    ev_cols, ev_rows = rows_of(GateEvent)
    reg_cols, reg_rows = rows_of(Register)
    mark_cols, mark_rows = rows_of(Mark)
    with transaction.atomic():
        Mark.objects.all().delete()
        Register.objects.all().delete()
        GateEvent.objects.all().delete()
    ev_by_id = {e["event_id"]: i for i, e in enumerate(events)}
    eid_col = ev_cols.index("event_id")
    ev_batches: list[list[tuple[Any, ...]]] = [[] for _ in batches]
    for row in ev_rows:
        ev_batches[ev_by_id[row[eid_col]] // BATCH].append(row)
    # A mark belongs to the batch that created it: the first batch carrying that student's day.
    student_col, date_col = mark_cols.index("student_id"), mark_cols.index("date")
    first_batch: dict[tuple[int, Any], int] = {}
    ev_student, ev_day = ev_cols.index("student_id"), ev_cols.index("day")
    for b, rows in enumerate(ev_batches):
        for row in rows:
            if row[ev_student] is not None:
                first_batch.setdefault((row[ev_student], str(row[ev_day])), b)
    mark_batches: list[list[tuple[Any, ...]]] = [[] for _ in batches]
    for row in mark_rows:
        mark_batches[first_batch[(row[student_col], str(row[date_col]))]].append(row)

    def insert_sql(table: str, cols: list[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"

    ev_sql = insert_sql(GateEvent._meta.db_table, ev_cols)
    reg_sql = insert_sql(Register._meta.db_table, reg_cols)
    mark_sql = insert_sql(Mark._meta.db_table, mark_cols)
    start = time.perf_counter()
    for b in range(len(batches)):
        with transaction.atomic(), connection.cursor() as cur:
            if b == 0:
                cur.executemany(reg_sql, reg_rows)
            cur.executemany(ev_sql, ev_batches[b])
            if mark_batches[b]:
                cur.executemany(mark_sql, mark_batches[b])
    raw_s = time.perf_counter() - start
    assert Mark.objects.count() == marks and GateEvent.objects.count() == len(ev_rows)
    log(f"  raw: {len(ev_rows) + len(reg_rows) + len(mark_rows)} rows in {raw_s:.2f}s")
    return {
        "engine": connection.vendor,
        "events": len(events),
        "batches": len(batches),
        "students": students,
        "days": len(days),
        "marks": marks,
        "registers": len(reg_rows),
        **totals,
        "ingest_s": round(ingest_s, 3),
        "raw_s": round(raw_s, 3),
        "events_per_s": round(len(events) / ingest_s, 1),
        "raw_events_per_s": round(len(events) / raw_s, 1),
        "ratio_vs_raw": round(ingest_s / raw_s, 2),
    }


# ------------------------------------------------------------------------------------ driver


def run_engine(engine: str, scale: str) -> dict[str, Any]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")
    env["AXES_ENABLED"] = "0"
    env.setdefault("DB_CONN_MAX_AGE", "60")  # persistent connections, as a deployed server runs
    env.pop("SCHOOLBRIDGE_API_RATE", None)
    scratch_pg = None
    with tempfile.TemporaryDirectory(prefix="sb-bench-gate-") as var:
        env["SCHOOLBRIDGE_VAR"] = var
        if engine == "postgresql":
            base = os.environ.get("DATABASE_URL") or DEFAULT_PG
            if not is_postgres(base):
                base = DEFAULT_PG
            scratch_pg = postgres_scratch(base, "bench_gate", fresh=True)
            env["DATABASE_URL"] = scratch_pg
        else:
            env.pop("DATABASE_URL", None)
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", "--scale", scale],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                check=True,
                text=True,
            ).stdout
        finally:
            if scratch_pg:
                drop_postgres(scratch_pg)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.scale)))
        return
    runs: dict[str, Any] = {}
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        log(f"{engine} ({args.scale})")
        runs[engine] = run_engine(engine, args.scale)
    print(
        json.dumps(
            {
                "scale": args.scale,
                "cpus": os.cpu_count(),
                "events_per_s": {e: r["events_per_s"] for e, r in runs.items()},
                "raw_events_per_s": {e: r["raw_events_per_s"] for e, r in runs.items()},
                "ratio_vs_raw": {e: r["ratio_vs_raw"] for e, r in runs.items()},
                "runs": runs,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
