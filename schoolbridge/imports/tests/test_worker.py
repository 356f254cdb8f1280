"""The check and the commit run as background jobs on a real Celery worker process (embedded broker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kombu.pools
import pytest

from schoolbridge.core.models import Student
from schoolbridge.imports import actions, tasks
from schoolbridge.imports.models import ImportBatch
from schoolbridge.imports.sources.csv import read_csv
from schoolbridge.notify.tests.test_worker import _wait_for, broker, worker

from .helpers import ROWS, office_csv

pytestmark = pytest.mark.django_db(transaction=True)


def test_check_and_commit_on_a_worker(live_world: Any, tmp_path: Path) -> None:
    admin, school = live_world.user("a_admin"), live_world.a.school
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
    batch = actions.stage(admin, school, "students", read_csv(office_csv(ROWS)))
    try:
        with broker(conf):
            actions.mark_validating(admin, batch)
            tasks.check_batch.delay(batch.pk)
            assert ImportBatch.objects.get(pk=batch.pk).status == "validating"  # queued, not run here
            with worker(var, conf, {}) as log:

                def status() -> str:
                    return ImportBatch.objects.get(pk=batch.pk).status

                _wait_for(lambda: status() == "previewed", log)
                actions.mark_committing(admin, batch)
                tasks.commit_batch.delay(batch.pk, admin.pk, True)
                _wait_for(lambda: status() == "committed", log)
    finally:
        kombu.pools.reset()
    assert Student.objects.filter(student_number__in=["N001", "N002", "N003"]).count() == 3
    assert ImportBatch.objects.get(pk=batch.pk).committed_by == admin
