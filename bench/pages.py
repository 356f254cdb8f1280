#!/usr/bin/env python
"""Latency of the home pages on a seeded district, against the minimal view on the same server.

    python bench/pages.py [--scale small|full] [--requests 200]

small: 5 schools × 300 students; full: 150 schools × 1,400 (≈210,000 students). The scratch database
(SQLite under $SCHOOLBRIDGE_BENCH_DIR or the temp dir, or <db>_bench_pages_<scale> on PostgreSQL when
DATABASE_URL is set) is kept and reused by the next run of the same scale.

The real server (`schoolbridge serve --no-worker`: uvicorn, one process) runs as a subprocess. The demo
guardian (three children in two schools), the demo subject teacher (six classes) and the demo school
administrator are signed in through Django's session engine (for the administrator, with a confirmed
TOTP device recorded in the session as django-otp does after a verified token). Each page and /healthz
are requested round-robin, `--requests` times each, after a warm-up. Prints ONE JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import use_scratch  # noqa: E402

SCALES = {"small": (5, 300), "full": (150, 1400)}
USERS = {"guardian_home": "demo_parent", "teacher_home": "demo_teacher", "school_admin_home": "demo_admin"}


def prepare(schools: int, per_school: int) -> int:
    """Migrate and seed unless this scratch database already holds the district. Returns students."""
    from django.core.management import call_command

    from schoolbridge.core.models import District, Student
    from schoolbridge.core.seeding import DEMO_USERNAMES, seed_district

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from django.contrib.auth import get_user_model

    expected = schools * per_school
    district = District.objects.filter(code="SEED1").first()
    if (
        district is not None
        and Student.objects.filter(district=district).count() == expected
        and get_user_model().objects.filter(username__in=DEMO_USERNAMES).count() == len(DEMO_USERNAMES)
    ):
        print(f"reusing the seeded scratch database ({expected:,} students)", file=sys.stderr)
        return expected
    if District.objects.exists():
        call_command("flush", interactive=False, verbosity=0)
    result = seed_district(schools, per_school, 1, progress=lambda line: print(line, file=sys.stderr))
    print(f"seeded {result.students:,} students in {result.seconds:.1f} s", file=sys.stderr)
    return result.students


def session_for(username: str) -> str:
    """A signed-in session for the user, created through the configured session engine."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from schoolbridge.accounts.middleware import needs_two_factor

    user = get_user_model().objects.get(username=username)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "schoolbridge.accounts.backends.PhoneOrUsernameBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if needs_two_factor(user):
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    return store.session_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    schools, per_school = SCALES[args.scale]

    base = Path(
        os.environ.get("SCHOOLBRIDGE_BENCH_DIR") or Path(tempfile.gettempdir()) / "schoolbridge-bench"
    )
    use_scratch(base / f"pages-{args.scale}", f"bench_pages_{args.scale}", fresh=False)
    import django

    django.setup()
    import httpx
    from django.conf import settings
    from django.db import connection

    students = prepare(schools, per_school)
    cookies = {name: session_for(username) for name, username in USERS.items()}
    connection.close()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    log = open(Path(settings.VAR_DIR) / "bench-server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "schoolbridge.cli",
            "serve",
            "--no-worker",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start; see " + log.name)
            time.sleep(0.2)

        clients = {
            name: httpx.Client(base_url=base_url, cookies={settings.SESSION_COOKIE_NAME: key}, timeout=30)
            for name, key in cookies.items()
        }
        clients["minimal"] = httpx.Client(base_url=base_url, timeout=30)
        paths = {name: "/" for name in cookies} | {"minimal": "/healthz"}
        statuses: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for name, client in clients.items():
            for _ in range(args.warmup):
                response = client.get(paths[name])
            statuses[name] = response.status_code
            sizes[name] = len(response.content)
            if response.status_code != 200:
                where = response.headers.get("location", "")
                print(f"warning: {name} answered {response.status_code} {where}", file=sys.stderr)
        timings: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.requests):
            for name, client in clients.items():
                t0 = time.perf_counter()
                client.get(paths[name])
                timings[name].append((time.perf_counter() - t0) * 1000)
        for client in clients.values():
            client.close()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    def figures(values: list[float]) -> dict[str, float]:
        return {"p50_ms": round(statistics.median(values), 2), "p95_ms": round(percentile(values, 0.95), 2)}

    minimal = figures(timings.pop("minimal"))
    pages = {
        name: figures(values) | {"status": statuses[name], "bytes": sizes[name]}
        for name, values in timings.items()
    }
    worst = max(p["p95_ms"] for p in pages.values()) / minimal["p95_ms"] if minimal["p95_ms"] else None
    print(
        json.dumps(
            {
                "scale": args.scale,
                "students": students,
                "requests": args.requests,
                "pages": pages,
                "minimal": minimal,
                "p95_ratio_vs_minimal": round(worst, 2) if worst else None,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
