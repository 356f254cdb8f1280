import io
import json
from typing import Any

import pytest

from schoolbridge.notify import sms


class RecordingGateway(sms.SmsGateway):
    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        RecordingGateway.sent.append((phone, text))


def test_file_gateway_writes_one_json_line_per_message_and_creates_the_dir(settings: Any, tmp_path: Any) -> None:
    settings.SCHOOLBRIDGE_SMS_BACKEND = "file"
    settings.SCHOOLBRIDGE_SMS_DIR = tmp_path / "nested" / "sms"
    sms.send_sms("138 0000 0001", "您的验证码是 123456")
    sms.send_sms("+8613800000002", "second")
    lines = (tmp_path / "nested" / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["to"] == "13800000001"
    assert first["text"] == "您的验证码是 123456"
    assert "at" in first
    assert [m["to"] for m in sms.read_outbox()] == ["13800000001", "+8613800000002"]


def test_console_gateway_prints(settings: Any) -> None:
    out = io.StringIO()
    sms.send_sms("13800000001", "hello", gateway=sms.ConsoleGateway(out))
    assert out.getvalue() == "[SMS to 13800000001] hello\n"


def test_console_backend_by_name(settings: Any, capsys: Any) -> None:
    settings.SCHOOLBRIDGE_SMS_BACKEND = "console"
    sms.send_sms("13800000001", "hi")
    assert "[SMS to 13800000001] hi" in capsys.readouterr().out


def test_dotted_path_backend(settings: Any) -> None:
    settings.SCHOOLBRIDGE_SMS_BACKEND = f"{__name__}.RecordingGateway"
    RecordingGateway.sent.clear()
    sms.send_sms("13800000009", "x")
    assert RecordingGateway.sent == [("13800000009", "x")]


def test_dotted_path_must_be_a_gateway(settings: Any) -> None:
    settings.SCHOOLBRIDGE_SMS_BACKEND = "io.StringIO"
    with pytest.raises(TypeError):
        sms.send_sms("13800000009", "x")


@pytest.mark.parametrize("phone", ["", "abc", "12"])
def test_rejects_bad_phone(phone: str) -> None:
    with pytest.raises(ValueError):
        sms.send_sms(phone, "x")


def test_rejects_empty_text() -> None:
    with pytest.raises(ValueError):
        sms.send_sms("13800000001", "   ")


def test_long_text_is_truncated(settings: Any) -> None:
    sms.send_sms("13800000001", "字" * 2000)
    (msg,) = sms.read_outbox()
    assert len(msg["text"]) == sms.MAX_LENGTH
