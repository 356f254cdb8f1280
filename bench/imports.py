#!/usr/bin/env python
"""The import hub on an office-sized spreadsheet: each stage timed.

    python bench/imports.py [--scale small|full]

A freshly migrated scratch database (SQLite, or PostgreSQL when DATABASE_URL points at one) with the test
fixture world; a GBK CSV of N students (small: 2,000; full: 10,000) with Chinese headers, dates in mixed
formats, classes spelt three ways and one or two guardians each (every third pair of students are siblings
sharing a father). Stages, each timed: read (decode + sniff + parse), stage (rows stored), check (normalise,
validate, match against the school, preview counts), commit (core actions, one transaction), rollback, and a
second check of the same file after a re-commit (every row unchanged).

Prints progress on stderr and ONE JSON line last: {"engine", "rows", "read_s", "stage_s", "check_s",
"commit_s", "rollback_s", "recheck_s", "rows_per_s": {stage: …}, "counts"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import use_scratch  # noqa: E402

SCALES = {"small": 2000, "full": 10000}


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def spreadsheet(n: int) -> bytes:
    classes = ["初一(1)班", "七年级2班", "8(1)"]
    dates = ["2013/3/{d}", "2013-04-{d:02d}", "2013年5月{d}日", "201306{d:02d}"]
    lines = ["学号,姓名,性别,出生日期,班级,家长姓名,家长电话,与学生关系,家长2姓名,家长2电话,家长2关系"]
    for i in range(n):
        family = "王李张刘陈杨赵黄周吴"[i % 10]
        father = 13000000000 + (i // 2 if i % 3 == 0 else i) * 7
        mother = 15000000000 + i * 11
        lines.append(
            ",".join(
                [
                    f"B{i:06d}",
                    f"{family}同学{i}",
                    "男女"[i % 2],
                    dates[i % 4].format(d=1 + i % 28),
                    classes[i % 3],
                    f"{family}父{i}",
                    str(father),
                    "父亲",
                    f"林母{i}",
                    str(mother),
                    "母亲",
                ]  # fmt: skip
            )
        )
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=SCALES, default="small")
    args = parser.parse_args()
    n = SCALES[args.scale]
    base = Path(
        os.environ.get("SCHOOLBRIDGE_BENCH_DIR") or Path(tempfile.gettempdir()) / "schoolbridge-bench"
    )
    var = base / f"imports-{args.scale}"
    if not os.environ.get("DATABASE_URL"):
        for leftover in var.glob("schoolbridge.sqlite3*"):
            leftover.unlink()
    engine = use_scratch(var, "bench_imports", fresh=True)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    from schoolbridge.imports import actions
    from schoolbridge.imports.sources.csv import read_csv
    from schoolbridge.testing.world import build_world

    world = build_world()
    admin, school = world.user("a_admin"), world.a.school
    data = spreadsheet(n)
    times: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        times[name] = round(time.perf_counter() - t0, 3)
        log(f"{engine}: {name} {n:,} rows in {times[name]:.2f} s")
        return out

    table = timed("read", lambda: read_csv(data))
    batch = timed("stage", lambda: actions.stage(admin, school, "students", table, filename="bench.csv"))
    actions.mark_validating(admin, batch)
    batch = timed("check", lambda: actions.check(batch.pk))
    counts = dict(batch.counts)
    assert counts["create"] == n, counts
    batch = timed("commit", lambda: actions.commit(admin, batch.pk))
    assert batch.status == "committed", batch.errors
    timed("rollback", lambda: actions.rollback(admin, batch))
    again = actions.stage(admin, school, "students", table, filename="bench.csv")
    actions.mark_validating(admin, again)
    actions.commit(admin, actions.check(again.pk).pk)
    third = actions.stage(admin, school, "students", table, filename="bench.csv")
    actions.mark_validating(admin, third)
    third = timed("recheck", lambda: actions.check(third.pk))
    assert third.counts["unchanged"] == n, third.counts
    print(
        json.dumps(
            {
                "engine": engine,
                "rows": n,
                **{f"{k}_s": v for k, v in times.items()},
                "rows_per_s": {k: round(n / v) for k, v in times.items() if v},
                "counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main()
