#!/usr/bin/env python
"""Seconds to seed a district with `schoolbridge seed` versus plain inserts of exactly the same rows.

    python bench/seed.py [--schools 150] [--students-per-school 1400] [--seed 1] [--keep]

Seed side: `seed_district` (the `schoolbridge seed` command) into a freshly migrated scratch database,
timed from start to end: it generates the data (names, numbers, families, timetables), encrypts every
national ID and writes every row through the ORM's bulk path, one transaction per school.

Raw side: the very rows the seeder wrote (same tables, same row counts, same values, the national IDs
already encrypted, the primary keys included), read back from the seeded database and written with
the driver's plain `executemany` of single-row INSERTs into a second, freshly migrated copy of the
empty schema, in the same transactions (district, then one per school, then the demo accounts) and
the same table order, with the same connection settings (foreign keys on; on SQLite WAL and
synchronous=NORMAL). The demo accounts' persons are inserted without their account and then updated,
as the seeder does. Only the time spent inside those transactions is counted: reading the rows back
is not. So `ratio_vs_raw` = seeding time / raw write time measures what the seeder adds to writing
its rows: data generation, encryption and the ORM's bulk-insert path.

Prints progress on stderr and ONE JSON line last.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import drop_postgres, postgres_scratch, use_scratch  # noqa: E402


def seeded_models() -> list[Any]:
    """Every table the seeder writes, parents before children (the order it writes them in)."""
    from django.contrib.auth import get_user_model

    from schoolbridge.accounts.models import RoleGrant
    from schoolbridge.audit.models import AuditEvent
    from schoolbridge.core.models import (
        Class,
        District,
        Enrollment,
        GradeLevel,
        Guardian,
        Guardianship,
        Person,
        Room,
        School,
        SchoolYear,
        Staff,
        Student,
        Subject,
        TeachingAssignment,
        Term,
    )

    return [
        District, School, SchoolYear, Term, GradeLevel, Subject, Room, Person, Staff, Class,
        TeachingAssignment, Student, Enrollment, Guardian, Guardianship, get_user_model(), RoleGrant, AuditEvent,
    ]  # fmt: skip


class Boundaries:
    """The highest primary key of every seeded table at the edges of the seeder's transactions.

    Taken inside the run (before and after each school); the time it takes is measured and taken out
    of the seeding time."""

    def __init__(self, models: list[Any]) -> None:
        from django.db import connection

        self.tables = [m._meta.db_table for m in models]
        q = connection.ops.quote_name
        self.sql = "SELECT " + ", ".join(f"(SELECT MAX(id) FROM {q(t)})" for t in self.tables)
        self.marks: list[tuple[int, ...]] = []
        self.overhead = 0.0

    def mark(self) -> None:
        from django.db import connection

        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(self.sql)
            mark = tuple(v or 0 for v in cur.fetchone())
        if not self.marks or self.marks[-1] != mark:
            self.marks.append(mark)
        self.overhead += time.perf_counter() - t0

    def around_schools(self) -> Any:
        """Mark before and after every school's writes (inside its transaction, where nothing else is
        written), by wrapping the seeder's per-school step for the duration of the run."""
        import contextlib

        from schoolbridge.core import seeding

        original = seeding._Seeder._school

        def school(seeder: Any, index: int) -> None:
            self.mark()
            original(seeder, index)
            self.mark()

        @contextlib.contextmanager
        def patched() -> Any:
            seeding._Seeder._school = school  # type: ignore[method-assign]
            try:
                yield
            finally:
                seeding._Seeder._school = original  # type: ignore[method-assign]

        return patched()


def table_counts(models: list[Any]) -> dict[str, int]:
    return {m._meta.db_table: m._default_manager.count() for m in models}


class RawSide:
    """Plain DB-API connections: the seeded database (read) and an empty copy of its schema (write)."""

    def __init__(self, engine: str, seeded: str, fresh: str) -> None:
        self.engine = engine
        if engine == "sqlite":
            import sqlite3

            self.src = sqlite3.connect(seeded)
            self.dst = sqlite3.connect(fresh, isolation_level=None)
            # The same settings as the application's connections (settings.py and Django's backend).
            for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"):
                self.dst.execute(pragma)
            self.mark = "?"
        else:
            import psycopg

            self.src = psycopg.connect(seeded)
            self.dst = psycopg.connect(fresh, autocommit=True)
            self.mark = "%s"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def read(self, table: str, columns: list[str], low: int, high: int) -> list[tuple[Any, ...]]:
        cols = ", ".join(self.quote(c) for c in columns)
        sql = (
            f"SELECT {cols} FROM {self.quote(table)} WHERE id > {self.mark} AND id <= {self.mark} ORDER BY id"
        )
        cur = self.src.cursor()
        cur.execute(sql, (low, high))
        rows = cur.fetchall()
        cur.close()
        if self.engine == "postgresql":  # JSON columns come back as Python objects: send them as JSON
            from psycopg.types.json import Jsonb

            return [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in r) for r in rows]
        return [tuple(r) for r in rows]

    def write(
        self, batches: list[tuple[str, list[str], list[tuple[Any, ...]]]], updates: list[tuple[str, tuple]]
    ) -> float:
        """One transaction: executemany per table, then the updates. Returns its seconds."""
        cur = self.dst.cursor()
        started = time.perf_counter()
        cur.execute("BEGIN IMMEDIATE" if self.engine == "sqlite" else "BEGIN")
        for table, columns, rows in batches:
            if rows:
                cols = ", ".join(self.quote(c) for c in columns)
                marks = ", ".join([self.mark] * len(columns))
                cur.executemany(f"INSERT INTO {self.quote(table)} ({cols}) VALUES ({marks})", rows)
        for sql, params in updates:
            cur.execute(sql, params)
        cur.execute("COMMIT")
        seconds = time.perf_counter() - started
        cur.close()
        return seconds

    def close(self) -> None:
        self.src.close()
        self.dst.close()


def raw_insert(
    engine: str, seeded: str, fresh: str, models: list[Any], marks: list[tuple[int, ...]]
) -> dict[str, Any]:
    """Write the seeded rows again, one transaction per span between marks, into the fresh copy."""
    from django.contrib.auth import get_user_model

    from schoolbridge.core.models import Person

    side = RawSide(engine, seeded, fresh)
    person_table, user_table = Person._meta.db_table, get_user_model()._meta.db_table
    user_col = Person._meta.get_field("user").column
    update_sql = (
        f"UPDATE {side.quote(person_table)} SET {side.quote(user_col)} = {side.mark}, "
        f"{side.quote('phone')} = {side.mark} WHERE id = {side.mark}"
    )
    seconds, rows_by_table, n_updates = 0.0, {m._meta.db_table: 0 for m in models}, 0
    bindings: list[tuple[Any, ...]] = []  # (user_id, phone, person id) of the demo accounts' persons
    previous = tuple(0 for _ in models)
    for mark in marks:
        batches = []
        for model, low, high in zip(models, previous, mark, strict=True):
            table = model._meta.db_table
            columns = [f.column for f in model._meta.concrete_fields]
            rows = side.read(table, columns, low, high) if high > low else []
            if table == person_table:
                # The seeder inserts the demo accounts' persons unbound and binds them to their account
                # (an UPDATE) in its last transaction, with the accounts; so does this side.
                u, phone = columns.index(user_col), columns.index("phone")
                for i, row in enumerate(rows):
                    if row[u] is not None:
                        bindings.append((row[u], row[phone], row[0]))
                        rows[i] = row[:u] + (None,) + row[u + 1 :]
            rows_by_table[table] += len(rows)
            batches.append((table, columns, rows))
        updates: list[tuple[Any, ...]] = []
        if any(table == user_table and rows for table, _, rows in batches):
            updates, bindings = bindings, []
        seconds += side.write(batches, [(update_sql, b) for b in updates])
        n_updates += len(updates)
        previous = mark
    side.close()
    return {"seconds": seconds, "rows": rows_by_table, "updates": n_updates, "transactions": len(marks)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=150)
    parser.add_argument("--students-per-school", type=int, default=1400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="schoolbridge-bench-seed-"))
    original_url = os.environ.get("DATABASE_URL", "")
    engine = use_scratch(var, "bench_seed", fresh=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from schoolbridge.core.seeding import seed_district

    seeded = settings.DATABASES["default"]["NAME"]
    print(f"scratch database: {seeded}", file=sys.stderr)
    call_command("migrate", verbosity=0)
    # The raw side's database: a copy of the freshly migrated, still empty schema.
    connection.close()
    if engine == "sqlite":
        import sqlite3

        fresh = str(var / "raw.sqlite3")
        with sqlite3.connect(seeded) as src, sqlite3.connect(fresh) as dst:
            src.backup(dst)
        seeded_dsn, fresh_dsn = seeded, fresh
    else:
        fresh_url = postgres_scratch(original_url, "bench_seed_raw", fresh=True, template=seeded)
        seeded_dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        fresh_dsn = fresh_url.replace("postgres://", "postgresql://", 1)

    models = seeded_models()
    bounds = Boundaries(models)
    with bounds.around_schools():
        seed_started, cpu = time.perf_counter(), time.process_time()
        result = seed_district(
            args.schools,
            args.students_per_school,
            args.seed,
            progress=lambda line: print(line, file=sys.stderr),
        )
        seed_s = time.perf_counter() - seed_started - bounds.overhead
        seed_cpu = time.process_time() - cpu - bounds.overhead
    bounds.mark()  # after the last transaction: the demo accounts and the audit row
    seed_counts = table_counts(models)
    connection.close()

    print("raw inserts of the same rows …", file=sys.stderr)
    raw = raw_insert(engine, seeded_dsn, fresh_dsn, models, bounds.marks)
    print(f"raw: {sum(raw['rows'].values()):,} rows in {raw['seconds']:.1f} s", file=sys.stderr)
    if raw["rows"] != seed_counts:
        raise SystemExit(f"raw rows differ from the seeded rows: {raw['rows']} != {seed_counts}")

    if not args.keep:
        if engine == "postgresql":
            drop_postgres(os.environ["DATABASE_URL"])
            drop_postgres(fresh_url)
        shutil.rmtree(var, ignore_errors=True)
    else:
        print(f"kept: {seeded_dsn} and {fresh_dsn}", file=sys.stderr)
    rows = sum(seed_counts.values())
    figures = {
        "engine": engine,
        "schools": args.schools,
        "students": result.students,
        "seed_rows": rows,
        "seed_s": round(seed_s, 2),
        "seed_cpu_s": round(seed_cpu, 2),
        "raw_rows": sum(raw["rows"].values()),
        "raw_updates": raw["updates"],
        "raw_transactions": raw["transactions"],
        "raw_s": round(raw["seconds"], 2),
        "ratio_vs_raw": round(seed_s / raw["seconds"], 2) if raw["seconds"] else None,
        "rows_by_table": seed_counts,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
