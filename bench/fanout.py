#!/usr/bin/env python
"""A notice to every guardian of a school: receipts committed vs a raw bulk insert, the reminder sweep,
and WebSocket push latency.

    python bench/fanout.py [--scale small|full] [--clients N] [--sweep-notices N] [--no-push]

full: a school of 3,000 students whose 5,000 guardian accounts receive the notice; small: 600 / 1,000.
Runs on SQLite (a scratch file under $SCHOOLBRIDGE_BENCH_DIR or the temp dir) or, with
DATABASE_URL=postgres://…, on a scratch database <db>_bench_fanout on that server (recreated each run).

1. receipts: `send_notice(...)` to the whole school, timed from the call until its transaction has
   committed: resolving the audience to guardian accounts, the notice row, every Receipt and
   ReceiptStudent row, the audit row. (The fan-out to inboxes is started after commit by a Celery task;
   here it is run separately and reported as `fanout_s`.) Raw side: exactly the rows that send wrote
   (read back, keys included) are deleted and written again with the driver's `executemany` of plain
   INSERTs in one transaction. `ratio_vs_raw` = send seconds / raw seconds.
2. sweep: `--sweep-notices` more notices to the whole school (full: 40 × 5,000 = 200,000 receipts), all
   delivered, sent 5 hours ago and unread, then one reminder sweep (the in-app stage inserts a reminder
   for every receipt). Reported: seconds and the number of SQL statements. The after-commit live push of
   the reminders is not part of the timing (it is the notification core's work).
3. push: the real server (`schoolbridge serve --no-worker`, one uvicorn process) with the Redis channel
   layer; `--clients` guardian accounts connect to ws/notifications/ over loopback from this process;
   a notice is sent to the whole school and the fan-out run in this process. push_p50/p99_ms: from the
   moment the fan-out hands a user's notification to the channel layer (group_send) to its arrival on
   that user's socket. send_to_arrival_p50/p99_ms: from the moment send_notice was called (so writing
   the 5,000 receipts and the fan-out batches before that user's are included). Needs Redis ($REDIS_URL, else redis://127.0.0.1:6379/0); skipped with push_p99_ms null
   when Redis is not reachable.

Progress goes to stderr; ONE JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import use_scratch  # noqa: E402

SCALES = {"small": (600, 1000, 200, 4), "full": (3000, 5000, 1000, 40)}
PER_CLASS = 50
TITLE = "Bench notice"


def say(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001
        return None
    return url


def build(students: int, guardians: int) -> tuple[Any, Any]:
    """One school: students in classes of 50, `guardians` guardian accounts (two for the first families)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from schoolbridge.accounts.models import RoleGrant
    from schoolbridge.core.models import (
        Class,
        District,
        GradeLevel,
        Guardian,
        Guardianship,
        Person,
        School,
        SchoolYear,
        Student,
    )

    User = get_user_model()
    today = timezone.localdate()
    district = District.objects.create(name="Bench district", code="BENCH")
    school = School.objects.create(district=district, name="Bench school", code="B1")
    year = SchoolYear.objects.create(
        district=district, school=school, name=str(today.year),
        start_date=today - datetime.timedelta(days=90), end_date=today + datetime.timedelta(days=270),
    )
    grades = [
        GradeLevel.objects.create(district=district, school=school, name=f"G{g}", order=g) for g in range(7, 13)
    ]
    n_classes = max(1, students // PER_CLASS)
    classes = Class.objects.bulk_create(
        [
            Class(district=district, school=school, year=year, grade=grades[i % len(grades)], name=f"C{i + 1}")
            for i in range(n_classes)
        ]
    )
    persons = Person.objects.bulk_create(
        [Person(district=district, family_name="学", given_name=f"生{i}") for i in range(students)], batch_size=2000
    )
    kids = Student.objects.bulk_create(
        [
            Student(district=district, school=school, person=p, student_number=f"S{i:06d}",
                    current_class=classes[i % n_classes])
            for i, p in enumerate(persons)
        ],
        batch_size=2000,
    )
    users = User.objects.bulk_create(
        [User(username=f"g{i}", password="!", phone=f"138{i:08d}") for i in range(guardians)], batch_size=2000
    )
    gpersons = Person.objects.bulk_create(
        [Person(district=district, family_name="家", given_name=f"长{i}", user=u) for i, u in enumerate(users)],
        batch_size=2000,
    )
    gs = Guardian.objects.bulk_create([Guardian(district=district, person=p) for p in gpersons], batch_size=2000)
    Guardianship.objects.bulk_create(
        [
            Guardianship(district=district, school=school, guardian=g, student=kids[i % students],
                         relationship="mother" if i < students else "father")
            for i, g in enumerate(gs)
        ],
        batch_size=2000,
    )
    admin = User.objects.create(username="bench_admin", password="!")
    RoleGrant.objects.create(user=admin, role="school_admin", district=district, school=school)
    return school, admin


def raw_rewrite(notice_id: int) -> tuple[float, int]:
    """Delete the notice's receipt rows and write exactly the same rows with plain executemany. Seconds, rows."""
    from django.db import connection, transaction

    from schoolbridge.notices.models import Receipt, ReceiptStudent

    tables = []
    for model in (Receipt, ReceiptStudent):
        columns = [f.column for f in model._meta.concrete_fields]
        rows = list(model.objects.filter(notice_id=notice_id).order_by("pk").values_list(*[
            f.attname for f in model._meta.concrete_fields
        ]))
        tables.append((model, columns, rows))
    with transaction.atomic():
        ReceiptStudent.objects.filter(notice_id=notice_id).delete()
        Receipt.objects.filter(notice_id=notice_id)._raw_delete(Receipt.objects.db)
    quote = connection.ops.quote_name
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for model, columns, rows in tables:
            sql = "INSERT INTO {} ({}) VALUES ({})".format(
                quote(model._meta.db_table), ", ".join(quote(c) for c in columns), ", ".join(["%s"] * len(columns))
            )
            fields = model._meta.concrete_fields
            adapted = [
                [f.get_db_prep_value(v, connection, prepared=False) for f, v in zip(fields, row, strict=True)]
                for row in rows
            ]
            cur.executemany(sql, adapted)
    return time.perf_counter() - t0, sum(len(r) for _m, _c, r in tables)


def session_for(user: Any) -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "schoolbridge.accounts.backends.PhoneOrUsernameBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def push_bench(school: Any, admin: Any, n_clients: int) -> dict[str, Any]:
    import httpx
    import websockets
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from schoolbridge.notices import actions

    users = list(get_user_model().objects.filter(username__startswith="g").order_by("pk")[:n_clients])
    cookies = {u.pk: session_for(u) for u in users}
    connection.close()
    port = free_port()
    log = open(Path(settings.VAR_DIR) / "bench-fanout-server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "schoolbridge.cli", "serve", "--no-worker", "--port", str(port), "--log-level",
         "warning"],
        env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start; see " + log.name)
            time.sleep(0.2)

        arrivals: dict[int, float] = {}
        sent_at: list[float] = []
        pushed_at: dict[int, float] = {}  # when this process handed the notification to the channel layer
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        group_send = layer.group_send

        async def timed_group_send(group: str, message: dict[str, Any]) -> None:
            if message.get("type") == "notify.notification" and message["notification"]["title"] == TITLE:
                pushed_at[int(group.rsplit("-", 1)[1])] = time.perf_counter()
            await group_send(group, message)

        layer.group_send = timed_group_send  # type: ignore[method-assign]

        async def run() -> int:
            gate = asyncio.Semaphore(50)
            welcomed = 0
            all_in = asyncio.Event()
            go = asyncio.Event()

            async def client(uid: int, key: str) -> None:
                nonlocal welcomed
                async with gate:
                    ws = await websockets.connect(
                        f"ws://127.0.0.1:{port}/ws/notifications/",
                        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}", "Origin": base},
                        open_timeout=60, max_queue=None,
                    )
                    first = json.loads(await ws.recv())
                    assert first["type"] == "welcome", first
                welcomed += 1
                if welcomed == len(cookies):
                    all_in.set()
                try:
                    while True:
                        message = json.loads(await ws.recv())
                        if message.get("type") == "notification" and message["notification"]["title"] == TITLE:
                            arrivals[uid] = time.perf_counter()
                            return
                finally:
                    await ws.close()

            tasks = [asyncio.create_task(client(uid, key)) for uid, key in cookies.items()]
            await asyncio.wait_for(all_in.wait(), timeout=180)
            say(f"{welcomed} sockets connected; sending")
            await asyncio.sleep(1)
            go.set()

            def send() -> None:
                sent_at.append(time.perf_counter())
                notice = actions.send_notice(admin, school.pk, title=TITLE, body="Push latency.",
                                             audience=[f"school:{school.pk}"])
                actions.deliver_pending(notice.pk)
                connection.close()

            await asyncio.get_running_loop().run_in_executor(None, send)
            done, pending = await asyncio.wait(tasks, timeout=60)
            for t in pending:
                t.cancel()
            return len(done)

        asyncio.run(run())
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    push = [(t - pushed_at[uid]) * 1000 for uid, t in arrivals.items() if uid in pushed_at]
    end_to_end = [(t - sent_at[0]) * 1000 for t in arrivals.values()]
    if not push:
        return {"push_clients": n_clients, "push_received": 0, "push_p50_ms": None, "push_p99_ms": None}
    return {
        "push_clients": n_clients,
        "push_received": len(push),
        "push_p50_ms": round(statistics.median(push), 1),
        "push_p99_ms": round(percentile(push, 0.99), 1),
        "push_max_ms": round(max(push), 1),
        "send_to_arrival_p50_ms": round(statistics.median(end_to_end), 1),
        "send_to_arrival_p99_ms": round(percentile(end_to_end, 0.99), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--sweep-notices", type=int, default=None)
    parser.add_argument("--no-push", action="store_true")
    args = parser.parse_args()
    students, guardians, clients, sweep_notices = SCALES[args.scale]
    clients = args.clients if args.clients is not None else clients
    sweep_notices = args.sweep_notices if args.sweep_notices is not None else sweep_notices

    redis = None if args.no_push else redis_url()
    if redis:
        os.environ["REDIS_URL"] = redis
        prefix = f"sbbench-{uuid.uuid4().hex[:8]}"
        os.environ["SCHOOLBRIDGE_CHANNEL_PREFIX"] = prefix
        os.environ["SCHOOLBRIDGE_CACHE_PREFIX"] = prefix
    else:
        os.environ.pop("REDIS_URL", None)
    base = Path(os.environ.get("SCHOOLBRIDGE_BENCH_DIR") or Path(tempfile.gettempdir()) / "schoolbridge-bench")
    var = base / f"fanout-{args.scale}"
    if not os.environ.get("DATABASE_URL"):
        for leftover in var.glob("schoolbridge.sqlite3*"):
            leftover.unlink()
    engine = use_scratch(var, "bench_fanout", fresh=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from schoolbridge.notices import actions, sweep
    from schoolbridge.notices.models import Notice, Receipt, ReceiptStudent

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    t0 = time.perf_counter()
    school, admin = build(students, guardians)
    say(f"{engine}: built a school of {students:,} students and {guardians:,} guardian accounts "
        f"in {time.perf_counter() - t0:.1f} s")

    # The fan-out task would go to the broker after commit: here it is run in-process, separately.
    actions._start_fanout = lambda notice_id: None  # type: ignore[assignment]
    first_class = school.classes.order_by("pk").first()
    actions.send_notice(admin, school.pk, title="warm-up", body="x", audience=[f"class:{first_class.pk}"])

    t0 = time.perf_counter()
    notice = actions.send_notice(admin, school.pk, title="Receipts", body="Timed.", audience=[f"school:{school.pk}"])
    send_s = time.perf_counter() - t0
    receipts = Receipt.objects.filter(notice=notice).count()
    links = ReceiptStudent.objects.filter(notice=notice).count()
    say(f"send_notice: {receipts:,} receipts + {links:,} receipt-students committed in {send_s:.3f} s")
    raw_s, raw_rows = raw_rewrite(notice.pk)
    assert raw_rows == receipts + links
    say(f"raw executemany of the same {raw_rows:,} rows: {raw_s:.3f} s")
    Receipt.objects.filter(notice=notice).update(delivered_at=None)
    t0 = time.perf_counter()
    delivered = actions.deliver_pending(notice.pk)
    fanout_s = time.perf_counter() - t0
    say(f"fan-out to {delivered:,} inboxes: {fanout_s:.2f} s")

    # The reminder sweep over many receipts.
    for i in range(sweep_notices):
        actions.send_notice(admin, school.pk, title=f"Sweep {i}", body="x", audience=[f"school:{school.pk}"])
    from django.utils import timezone

    now = timezone.now()
    Notice.objects.update(sent_at=now - datetime.timedelta(hours=5))
    Receipt.objects.update(delivered_at=now - datetime.timedelta(hours=5), read_at=None)
    swept = Receipt.objects.count()
    sweep._deliver_after_commit = lambda kind, at, names: None  # type: ignore[assignment]
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        result = sweep.run_sweep()
        sweep_s = time.perf_counter() - t0
    say(f"sweep over {swept:,} receipts: {result} in {sweep_s:.2f} s, {len(ctx.captured_queries)} statements")

    push: dict[str, Any] = {"push_clients": 0, "push_p50_ms": None, "push_p99_ms": None}
    if redis and clients:
        push = push_bench(school, admin, clients)
        say(f"push: {push}")
    elif not args.no_push:
        say("Redis not reachable: push part skipped")

    print(json.dumps({
        "bench": "fanout",
        "scale": args.scale,
        "engine": engine,
        "students": students,
        "guardian_accounts": guardians,
        "receipts": receipts,
        "receipt_students": links,
        "send_s": round(send_s, 3),
        "raw_s": round(raw_s, 3),
        "ratio_vs_raw": round(send_s / raw_s, 2) if raw_s else None,
        "fanout_s": round(fanout_s, 2),
        "sweep_receipts": swept,
        "sweep_s": round(sweep_s, 2),
        "sweep_statements": len(ctx.captured_queries),
        "sweep_reminded": result["reminded"],
        **push,
    }))


if __name__ == "__main__":
    main()
