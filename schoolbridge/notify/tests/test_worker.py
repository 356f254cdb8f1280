"""A real Celery worker (a separate process) executes the delivery tasks that notify() enqueues.

Once against the embedded filesystem broker, once against Redis (skipped locally without Redis,
required on CI). The worker shares the test database and writes the SMS outbox / mail files under a
private var directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
from django.db import connection, transaction

from schoolbridge.celery import app
from schoolbridge.notify import actions
from schoolbridge.notify.models import Notification
from schoolbridge.testing.services import redis_url_or_skip

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_BOOT = """
import django, json, os, sys
django.setup()
from schoolbridge.celery import app
app.conf.update(json.loads(os.environ["TEST_CELERY_CONF"]))
app.worker_main(["worker", "-P", "solo", "-c", "1", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-l", "INFO"])
"""


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(s["NAME"]).resolve())
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def broker(conf: dict[str, Any]) -> Iterator[None]:
    """Point this process's Celery app at a given broker (and back afterwards)."""
    keys = [*conf, "task_always_eager"]
    saved = {k: app.conf.get(k) for k in keys}

    def reset_pools() -> None:
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        if "amqp" in app.__dict__:
            app.__dict__["amqp"]._producer_pool = None
        kombu.pools.reset()  # kombu's process-wide pools too, or later sends find a closed pool

    app.conf.update(conf, task_always_eager=False)
    reset_pools()
    try:
        yield
    finally:
        reset_pools()
        app.conf.update(saved)


@contextmanager
def worker(var: Path, conf: dict[str, Any], extra_env: dict[str, str]) -> Iterator[Path]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "EMAIL_BACKEND"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="schoolbridge.settings",
        SCHOOLBRIDGE_VAR=str(var),
        DATABASE_URL=_database_url(),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        CELERY_TASK_ALWAYS_EAGER="0",
        TEST_CELERY_CONF=json.dumps(conf),
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    log = var / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER_BOOT], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(predicate: Any, log: Path, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(
        "worker did not execute the task in time; worker log:\n" + log.read_text(errors="replace")
    )


def _deliver_through_real_worker(
    live_world: Any, tmp_path: Path, conf: dict[str, Any], env: dict[str, str]
) -> None:
    parent = live_world.user("a_parent")
    parent.email = "parent@example.org"
    parent.save()
    var = tmp_path / "var"
    var.mkdir()
    with broker(conf):
        with transaction.atomic():
            (row,) = actions.notify([parent], "notice", "School closed tomorrow", channels=("email", "sms"))
        with worker(var, conf, env) as log:

            def delivered() -> bool:
                n = Notification.objects.get(pk=row.pk)
                return (
                    n.texted_at is not None
                    and n.emailed_at is not None
                    and (var / "sms" / "outbox.jsonl").exists()
                )

            _wait_for(delivered, log)
            # The mail file is written by the same task run; give the filesystem a moment.
            _wait_for(lambda: bool(list((var / "mail").glob("*.log"))), log)
    (sms,) = [json.loads(line) for line in (var / "sms" / "outbox.jsonl").read_text().splitlines()]
    assert sms["to"] == parent.phone and "School closed tomorrow" in sms["text"]
    (mail_file,) = (var / "mail").glob("*.log")
    assert "parent@example.org" in mail_file.read_text()


def test_real_worker_on_the_filesystem_broker(live_world: Any, tmp_path: Path) -> None:
    folder = tmp_path / "broker" / "in"
    folder.mkdir(parents=True)
    (tmp_path / "broker" / "processed").mkdir()
    conf = {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(tmp_path / "broker" / "processed"),
            "control_folder": str(tmp_path / "broker" / "control"),
            "store_processed": False,
        },
    }
    _deliver_through_real_worker(live_world, tmp_path, conf, {})


def test_real_worker_on_redis(live_world: Any, tmp_path: Path) -> None:
    url = redis_url_or_skip()
    conf = {
        "broker_url": url,
        "broker_transport_options": {"global_keyprefix": f"sbtest-{uuid.uuid4().hex[:12]}:"},
    }
    _deliver_through_real_worker(live_world, tmp_path, conf, {"REDIS_URL": url})
