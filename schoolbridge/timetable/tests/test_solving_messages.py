"""The solver's plain-words reasons reach the reader in their language (the engine writes English)."""

from __future__ import annotations

from django.utils import translation

from schoolbridge.timetable.engine.solver import INFEASIBLE, compile_instance, precheck
from schoolbridge.timetable.solving import in_reader_language

from .test_solver import tiny


def test_precheck_reasons_in_the_readers_language() -> None:
    problems = precheck(compile_instance(tiny(lessons_li=10)))
    with translation.override("en"):
        en = [in_reader_language(p) for p in problems]
    with translation.override("zh-hans"):
        zh = [in_reader_language(p) for p in problems]
        proved = in_reader_language(INFEASIBLE)
    assert "Teacher 李老师: 10 lessons required, only 9 periods available" in en
    assert "教师 李老师：需要 10 节课，只有 9 个课时可用" in zh
    assert proved == "这些约束相互矛盾（求解器已证明）"
    # a reason the engine did not mark stays as it is
    assert in_reader_language("plain words") == "plain words"
