"""`schoolbridge serve`: the web server (HTTP + WebSockets over uvicorn) and the background worker.

One command runs everything: uvicorn serves `schoolbridge.asgi:application` in this process, and a
Celery worker with the beat scheduler runs as a child process on the embedded filesystem broker (or on
Redis when REDIS_URL is set). Ctrl-C (or SIGTERM) stops the web server first, then the worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGINT/SIGTERM only ask it to finish and are not re-raised after
    it has stopped, so that the worker is always stopped too and the command exits normally."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def worker_command(loglevel: str = "WARNING") -> list[str]:
    schedule = os.path.join(str(settings.VAR_DIR), "celerybeat-schedule")
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "schoolbridge.celery:app",
        "--quiet",
        "worker",
        "--beat",
        "--pool=solo",
        f"--schedule={schedule}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
    ]


def start_worker(loglevel: str = "WARNING") -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")
    env["SCHOOLBRIDGE_VAR"] = str(settings.VAR_DIR)  # the same broker folders and database as the web server
    env.setdefault("C_FORCE_ROOT", "1")  # a laptop or container running as root: no warning banner
    return subprocess.Popen(worker_command(loglevel), env=env)


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int | None:
    """Ask the worker for a warm shutdown; kill it if it does not finish in time."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
    return proc.returncode


class Command(BaseCommand):
    help = "Serve SchoolBridge: uvicorn (HTTP + WebSockets) and a Celery worker with beat."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
        parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")

    def handle(self, *args: Any, **opts: Any) -> None:
        worker = None
        if not opts["no_worker"]:
            worker = start_worker()
            broker = "Redis" if settings.REDIS_URL else f"embedded broker in {settings.CELERY_BROKER_DIR}"
            self.stderr.write(f"background worker pid {worker.pid} ({broker})")
        self.stderr.write(f"serving on http://{opts['host']}:{opts['port']}  (Ctrl-C to stop)")
        config = uvicorn.Config(
            "schoolbridge.asgi:application",
            host=opts["host"],
            port=opts["port"],
            log_level=opts["log_level"],
            lifespan="off",
        )
        try:
            _Server(config).run()
        finally:
            if worker is not None:
                self.stderr.write("stopping the background worker …")
                code = stop_worker(worker)
                self.stderr.write(f"background worker stopped (exit {code})")
