#!/usr/bin/env python
"""Seconds to seed a district with `schoolbridge seed` versus a raw bulk insert of the same students.

    python bench/seed.py [--schools 150] [--students-per-school 1400] [--seed 1] [--keep]

The seed run builds everything (schools, classes, teachers, students, guardians, guardianships,
enrollments, encrypted national IDs). The raw baseline is `executemany` of plain INSERT statements of
the same number of person + student rows (pre-generated, no ORM, no encryption) into two scratch tables
in the same database engine, in one transaction. Prints progress on stderr and ONE JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import drop_postgres, use_scratch  # noqa: E402

RAW_TABLES = """
CREATE TABLE bench_raw_person (
    id BIGINT PRIMARY KEY, district_id BIGINT NOT NULL, family_name VARCHAR(60) NOT NULL,
    given_name VARCHAR(60) NOT NULL, gender VARCHAR(1) NOT NULL, birth_date DATE NULL,
    phone VARCHAR(20) NOT NULL, email VARCHAR(254) NOT NULL, user_id BIGINT NULL
);
CREATE TABLE bench_raw_student (
    id BIGINT PRIMARY KEY, district_id BIGINT NOT NULL, school_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL UNIQUE REFERENCES bench_raw_person (id),
    student_number VARCHAR(40) NOT NULL UNIQUE, national_student_id VARCHAR(40) NOT NULL,
    national_id TEXT NOT NULL, health_notes TEXT NOT NULL, status VARCHAR(20) NOT NULL,
    enrolled_on DATE NULL, left_on DATE NULL, current_class_id BIGINT NULL
);
"""


def raw_insert(n: int) -> float:
    import datetime

    from django.db import connection, transaction

    with connection.cursor() as cur:
        for stmt in RAW_TABLES.split(";"):
            if stmt.strip():
                cur.execute(stmt)
    day = datetime.date(2014, 9, 1)
    people = [(i, 1, "张", f"伟{i}", "M", day, f"139{i:08d}", "", None) for i in range(1, n + 1)]
    students = [
        (i, 1, 1 + i // 1400, i, f"S{i:08d}", f"G{i:018d}", f"11010120140901{i % 10000:04d}", "", "enrolled", day, None, 1)
        for i in range(1, n + 1)
    ]
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(
            "INSERT INTO bench_raw_person (id, district_id, family_name, given_name, gender, birth_date, phone, "
            "email, user_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            people,
        )
        cur.executemany(
            "INSERT INTO bench_raw_student (id, district_id, school_id, person_id, student_number, "
            "national_student_id, national_id, health_notes, status, enrolled_on, left_on, current_class_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            students,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=150)
    parser.add_argument("--students-per-school", type=int, default=1400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="schoolbridge-bench-seed-"))
    engine = use_scratch(var, "bench_seed", fresh=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from schoolbridge.core.seeding import seed_district

    print(f"scratch database: {settings.DATABASES['default']['NAME']}", file=sys.stderr)
    call_command("migrate", verbosity=0)
    started, cpu = time.perf_counter(), time.process_time()
    result = seed_district(
        args.schools, args.students_per_school, args.seed, progress=lambda line: print(line, file=sys.stderr)
    )
    seed_s = time.perf_counter() - started
    seed_cpu = time.process_time() - cpu
    raw_s = raw_insert(result.students)
    print(f"raw insert of {result.students:,} person + student rows: {raw_s:.1f} s", file=sys.stderr)
    connection.close()
    if not args.keep:
        if engine == "postgresql":
            drop_postgres(os.environ["DATABASE_URL"])
        shutil.rmtree(var, ignore_errors=True)
    figures = {
        "engine": engine,
        "schools": args.schools,
        "students": result.students,
        "seed_rows": sum(result.counts.values()),
        "seed_s": round(seed_s, 2),
        "seed_cpu_s": round(seed_cpu, 2),
        "raw_rows": 2 * result.students,
        "raw_s": round(raw_s, 2),
        "ratio_vs_raw": round(seed_s / raw_s, 2) if raw_s else None,
    }
    print(json.dumps(figures))



if __name__ == "__main__":
    main()
