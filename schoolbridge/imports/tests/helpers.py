"""Shared bits of the import tests: an office's spreadsheet as CSV bytes, and running a batch through."""

from __future__ import annotations

from typing import Any

from schoolbridge.imports import actions
from schoolbridge.imports.sources.csv import read_csv

HEADER = ["学号", "姓名", "性别", "出生日期", "班级", "家长姓名", "家长电话", "与学生关系"]


def office_csv(
    rows: list[list[str]], encoding: str = "gbk", delimiter: str = ",", header: list[str] | None = None
) -> bytes:
    lines = [delimiter.join(header or HEADER)] + [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


ROWS = [
    ["N001", "王小明", "男", "2013/3/8", "初一(1)班", "王大明", "13800000001", "父亲"],
    [
        "N002",
        "王小红",
        "女",
        "2014年5月1日",
        "七年级2班",
        "王大明",
        "13800000001",
        "父亲",
    ],  # sibling, same father
    ["N003", "欧阳娜娜", "女", "20130115", "7(1)", "欧阳峰", "13800000003", "母亲"],
]


def run(
    actor: Any, school: Any, data: bytes, target: str = "students", mapping: dict[str, str] | None = None
) -> Any:
    table = read_csv(data)
    batch = actions.stage(actor, school, target, table, filename="students.csv", digest=actions.sha256(data))
    if mapping is not None:
        actions.set_mapping(actor, batch, mapping)
    actions.mark_validating(actor, batch)
    return actions.check(batch.pk)
