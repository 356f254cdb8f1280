"""A real Celery worker process is killed (SIGKILL) in the middle of a notice's fan-out; after the fan-out
is started again on a new worker, no receipt is missing and none is duplicated."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count

from schoolbridge.core.models import Guardian, Guardianship, Person
from schoolbridge.notices import actions
from schoolbridge.notices.models import Receipt
from schoolbridge.notices.tasks import fan_out_notice
from schoolbridge.notify.models import Notification
from schoolbridge.notify.tests.test_worker import _database_url
from schoolbridge.notify.tests.test_worker import broker as notify_broker

pytestmark = pytest.mark.django_db(transaction=True)

FAMILIES = 300
BATCH = 20

# The fan-out is slowed down (small batches, a pause after each) so that the kill lands in the middle.
WORKER_BOOT = """
import django, json, os
django.setup()
from django.conf import settings
settings.NOTICES_FANOUT_BATCH = int(os.environ["TEST_FANOUT_BATCH"])
settings.NOTICES_FANOUT_BATCH_DELAY = float(os.environ["TEST_FANOUT_DELAY"])
from schoolbridge.celery import app
app.conf.update(json.loads(os.environ["TEST_CELERY_CONF"]))
app.worker_main(["worker", "-P", "solo", "-c", "1", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-l", "INFO"])
"""


@contextmanager
def broker(conf: dict[str, Any]) -> Iterator[None]:
    """The notification tests' broker switch, plus a reset of kombu's process-wide pools on the way out:
    closing the app's pool also closes the global pool that later eager sends would take a producer
    from (RuntimeError: Acquire on closed pool in whichever test runs next)."""
    try:
        with notify_broker(conf):
            yield
    finally:
        kombu.pools.reset()


def _start_worker(var: Path, conf: dict[str, Any], name: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="schoolbridge.settings",
        SCHOOLBRIDGE_VAR=str(var),
        DATABASE_URL=_database_url(),
        CELERY_TASK_ALWAYS_EAGER="0",
        TEST_CELERY_CONF=json.dumps(conf),
        TEST_FANOUT_BATCH=str(BATCH),
        TEST_FANOUT_DELAY="0.4",
        PYTHONUNBUFFERED="1",
    )
    log = var / f"{name}.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_BOOT], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    out.close()
    return proc, log


def _wait_for(predicate: Any, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not get there in time; its log:\n" + log.read_text(errors="replace"))


def _many_guardians(world: Any, n: int) -> None:
    """n more guardian accounts for the families of class g7c1 (bulk, so the test stays quick)."""
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"bulk{i}", password="!") for i in range(n)])
    users = list(User.objects.filter(username__startswith="bulk").order_by("pk"))
    district = world.district
    persons = Person.objects.bulk_create(
        [
            Person(district=district, family_name="家长", given_name=str(i), user=u)
            for i, u in enumerate(users)
        ]
    )
    persons = list(Person.objects.filter(user__in=users).order_by("pk"))
    guardians = Guardian.objects.bulk_create([Guardian(district=district, person=p) for p in persons])
    guardians = list(Guardian.objects.filter(person__in=persons).order_by("pk"))
    students = world.a.students["g7c1"]
    Guardianship.objects.bulk_create(
        [
            Guardianship(
                district=district,
                school=world.a.school,
                guardian=g,
                student=students[i % len(students)],
                relationship="other",
            )
            for i, g in enumerate(guardians)
        ]
    )


def test_worker_killed_mid_fan_out_leaves_nothing_missing_or_doubled(live_world: Any, tmp_path: Path) -> None:
    _many_guardians(live_world, FAMILIES)
    var = tmp_path / "var"
    var.mkdir()
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
    with broker(conf):
        notice = actions.send_notice(
            live_world.user("a_head"),
            live_world.a.school.pk,
            title="Exam timetable",
            body="Attached.",
            audience=[f"class:{live_world.a.g7c1.pk}"],
        )  # the fan-out task goes to the broker when this commits
        total = Receipt.objects.filter(notice=notice).count()
        assert total == FAMILIES + 2

        def delivered() -> int:
            return Receipt.objects.filter(notice=notice, delivered_at__isnull=False).count()

        def inbox() -> int:
            return Notification.objects.filter(link=notice.link).count()

        proc, log = _start_worker(var, conf, "worker1")
        try:
            _wait_for(lambda: delivered() >= 3 * BATCH, log)
            proc.kill()  # SIGKILL: no clean shutdown, in the middle of the fan-out
            proc.wait(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        at_kill = delivered()
        assert 0 < at_kill < total, f"the kill should land mid fan-out ({at_kill} of {total})"
        # Each batch is one transaction: what is marked delivered has its inbox row, and nothing else has.
        assert inbox() == at_kill

        # The periodic task finds the unfinished fan-out and starts it again; a new worker finishes it.
        assert actions.undelivered_notice_ids(older_than=datetime.timedelta(0)) == [notice.pk]
        fan_out_notice.delay(notice.pk)
        proc2, log2 = _start_worker(var, conf, "worker2")
        try:
            _wait_for(lambda: delivered() == total, log2)
            time.sleep(0.5)
        finally:
            proc2.terminate()
            try:
                proc2.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc2.kill()
                proc2.wait()
    assert inbox() == total
    per_user = Notification.objects.filter(link=notice.link).values("user_id").annotate(n=Count("pk"))
    assert {row["n"] for row in per_user} == {1}
    receipt_users = set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert {row["user_id"] for row in per_user} == receipt_users
