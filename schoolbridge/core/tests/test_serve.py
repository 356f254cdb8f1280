"""`schoolbridge serve` runs the web server and a Celery worker on the embedded broker, and stops both."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from celery import Celery

from schoolbridge.testing.services import redis_url_or_skip

pytestmark = pytest.mark.xdist_group("serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; serve output:\n{log.read_text(errors='replace')[-3000:]}")


def _healthz(url: str) -> bool:
    try:
        r = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.text.strip() == "ok"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _isolated_redis_url(url: str) -> str:
    """The same Redis server, database 13, so that no other worker consumes our task."""
    base = url.split("?")[0].rstrip("/")
    head, _, tail = base.rpartition("/")
    return f"{head if tail.isdigit() else base}/13"


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_serve_runs_web_and_worker_and_stops_both(tmp_path: Path, broker: str) -> None:
    var = tmp_path / "var"
    var.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        SCHOOLBRIDGE_VAR=str(var), DJANGO_SETTINGS_MODULE="schoolbridge.settings", PYTHONUNBUFFERED="1"
    )
    redis_url = ""
    if broker == "redis":
        redis_url = _isolated_redis_url(redis_url_or_skip())
        env.update(REDIS_URL=redis_url, SCHOOLBRIDGE_CHANNEL_PREFIX=f"sbtest{os.getpid()}")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "schoolbridge.cli",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: _healthz(f"http://127.0.0.1:{port}/healthz"), 60, "/healthz", log)
        match = re.search(r"background worker pid (\d+)", log.read_text(errors="replace"))
        assert match, log.read_text(errors="replace")
        worker_pid = int(match.group(1))
        assert _alive(worker_pid)

        # A task sent to the broker (embedded filesystem, or Redis) from another process is run by serve's worker.
        if broker == "redis":
            assert "(Redis)" in log.read_text(errors="replace")
            sender = Celery("sender", broker=redis_url)
        else:
            folders = var / "broker"
            sender = Celery("sender", broker="filesystem://")
            sender.conf.broker_transport_options = {
                "data_folder_in": str(folders / "in"),
                "data_folder_out": str(folders / "in"),
                "processed_folder": str(folders / "processed"),
                "control_folder": str(folders / "control"),
                "store_processed": False,
            }
        target = tmp_path / "pong.txt"
        sender.send_task("schoolbridge.core.tasks.ping", args=[str(target), "hello-worker"])
        _wait(target.exists, 60, "the ping task to run", log)
        lines = target.read_text().splitlines()
        assert lines[0] == "hello-worker"
        assert int(lines[1]) == worker_pid  # run by the worker, not by this process

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=40) == 0
        assert not _alive(worker_pid), "the worker outlived serve"
        assert "background worker stopped" in log.read_text(errors="replace")
        assert not _healthz(f"http://127.0.0.1:{port}/healthz")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_no_worker_serves_healthz(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(SCHOOLBRIDGE_VAR=str(tmp_path), DJANGO_SETTINGS_MODULE="schoolbridge.settings")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "schoolbridge.cli", "serve", "--no-worker", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: _healthz(f"http://127.0.0.1:{port}/healthz"), 60, "/healthz", log)
        assert "background worker pid" not in log.read_text(errors="replace")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
