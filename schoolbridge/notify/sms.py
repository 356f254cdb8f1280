"""Text messages through a pluggable gateway.

``send_sms(phone, text)`` hands one message to the gateway named by
``settings.SCHOOLBRIDGE_SMS_BACKEND``:

* ``"file"``    — appends one JSON line per message to ``SCHOOLBRIDGE_SMS_DIR / "outbox.jsonl"``
                  (development, tests, and sites without an SMS contract);
* ``"console"`` — writes the message to standard output;
* a dotted path to a :class:`SmsGateway` subclass (a real provider's adapter).

A gateway raises :class:`SmsError` when the message could not be handed over;
callers that run in Celery retry on it.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

OUTBOX_NAME = "outbox.jsonl"
MAX_LENGTH = 500

_file_lock = threading.Lock()


class SmsError(Exception):
    """The gateway could not accept the message (transient or permanent)."""


class SmsGateway:
    """Interface of an SMS provider adapter. Subclasses implement :meth:`send`."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class FileGateway(SmsGateway):
    """Appends ``{"to", "text", "at"}`` as one JSON line to the outbox file."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory if directory is not None else settings.SCHOOLBRIDGE_SMS_DIR)

    @property
    def outbox(self) -> Path:
        return self.directory / OUTBOX_NAME

    def send(self, phone: str, text: str) -> None:
        line = json.dumps({"to": phone, "text": text, "at": timezone.now().isoformat()}, ensure_ascii=False)
        with _file_lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.outbox.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")


class ConsoleGateway(SmsGateway):
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def send(self, phone: str, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"[SMS to {phone}] {text}\n")
        stream.flush()


BUILTIN_GATEWAYS: dict[str, type[SmsGateway]] = {"file": FileGateway, "console": ConsoleGateway}


def get_gateway(name: str | None = None) -> SmsGateway:
    """The configured gateway (a fresh instance, so settings overrides apply)."""
    name = name or getattr(settings, "SCHOOLBRIDGE_SMS_BACKEND", "file") or "file"
    cls: Any = BUILTIN_GATEWAYS.get(name)
    if cls is None:
        cls = import_string(name)
    if isinstance(cls, type):
        if not issubclass(cls, SmsGateway):
            raise TypeError(f"{name} is not an SmsGateway")
        return cls()
    raise TypeError(f"{name} is not an SmsGateway class")


def normalise_phone(phone: str) -> str:
    cleaned = "".join(ch for ch in str(phone) if ch.isdigit() or ch == "+")
    if not cleaned or len(cleaned.lstrip("+")) < 5:
        raise ValueError(f"not a phone number: {phone!r}")
    return cleaned


def send_sms(phone: str, text: str, *, gateway: SmsGateway | None = None) -> None:
    """Send ``text`` to ``phone`` through the configured gateway. Raises ValueError on bad input."""
    number = normalise_phone(phone)
    text = (text or "").strip()
    if not text:
        raise ValueError("empty SMS text")
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 1] + "…"
    (gateway or get_gateway()).send(number, text)


def read_outbox(directory: Path | str | None = None) -> list[dict[str, Any]]:
    """Messages written by the file gateway (for tests and the demo)."""
    path = Path(directory if directory is not None else settings.SCHOOLBRIDGE_SMS_DIR) / OUTBOX_NAME
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
