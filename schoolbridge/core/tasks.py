"""Small core tasks. `ping` proves that a worker is consuming the broker (used by serve's self-test)."""

from __future__ import annotations

import os
from pathlib import Path

from django.utils import timezone

from schoolbridge.celery import app


@app.task(name="schoolbridge.core.tasks.ping", ignore_result=True)
def ping(path: str, payload: str = "pong") -> str:
    """Write `payload` and the worker's pid to `path` (atomically), and return the payload."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(f"{payload}\n{os.getpid()}\n{timezone.now().isoformat()}\n", encoding="utf-8")
    tmp.replace(target)
    return payload
