"""Value transforms for imported cells. Pure Python: each returns the normalised value or raises
TransformError with an English message (translated by the caller)."""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Any


class TransformError(ValueError):
    pass


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


# ------------------------------------------------------------------------------------ gender

_GENDER = {
    "男": "M", "男性": "M", "m": "M", "male": "M", "boy": "M", "1": "M",
    "女": "F", "女性": "F", "f": "F", "female": "F", "girl": "F", "2": "F",
    "": "X", "未知": "X", "不详": "X", "x": "X", "other": "X", "0": "X",
}  # fmt: skip


def gender(value: Any) -> str:
    key = text(value).lower()
    if key not in _GENDER:
        raise TransformError("Gender must be 男 or 女 (M or F)")
    return _GENDER[key]


# ------------------------------------------------------------------------------------ dates

EXCEL_EPOCH = datetime.date(1899, 12, 30)
_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def date(value: Any) -> datetime.date | None:
    """2015/3/8, 2015-03-08, 2015.3.8, 2015年3月8日, 20150308, an Excel serial number (42071), 8/3/2015."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(int(value))
    s = text(value)
    if not s:
        return None
    m = _YMD.match(s)
    parts: tuple[int, int, int] | None = None
    if m:
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif re.fullmatch(r"\d{8}", s):
        parts = (int(s[:4]), int(s[4:6]), int(s[6:]))
    elif re.fullmatch(r"\d{4,5}(\.0+)?", s):
        return _serial(int(float(s)))
    elif m2 := _DMY.match(s):
        parts = (int(m2[3]), int(m2[2]), int(m2[1]))
    if parts is None:
        raise TransformError("Not a date; write it as 2015-03-08")
    try:
        return datetime.date(*parts)
    except ValueError:
        raise TransformError("No such date") from None


def _serial(serial: int) -> datetime.date:
    if not 1 <= serial <= 2958465:
        raise TransformError("Not a date")
    # Excel counts a 29 February 1900 that never was; serials from 61 on are shifted by it.
    return EXCEL_EPOCH + datetime.timedelta(days=serial if serial >= 61 else serial + 1)


# ------------------------------------------------------------------------------------ phones, names


def phone(value: Any) -> str:
    s = re.sub(r"[\s\-()（）]", "", text(value))
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    if not s:
        return ""
    if not re.fullmatch(r"\+?\d{7,15}", s):
        raise TransformError("Not a phone number")
    if len(s) == 11 and s.startswith("1") and s[1] not in "3456789":
        raise TransformError("Not a mainland mobile number")
    return s


COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "轩辕",
        "澹台",
        "公羊",
        "太史",
        "申屠",
        "闻人",
        "钟离",
        "万俟",
        "赫连",
        "拓跋",
    ]
)


def split_name(value: Any) -> tuple[str, str]:
    """(family name, given name). 张三 → (张, 三); 欧阳娜娜 → (欧阳, 娜娜); "Anna Smith" → (Smith, Anna)."""
    s = text(value)
    if not s:
        return "", ""
    if " " in s and s.replace(" ", "").isascii():
        given, _, family = s.rpartition(" ")
        return family, given
    s = s.replace(" ", "").replace("·", "·")
    if len(s) == 1:
        return s, ""
    if len(s) >= 3 and s[:2] in COMPOUND_SURNAMES:
        return s[:2], s[2:]
    return s[0], s[1:]


# ------------------------------------------------------------------------------------ relationship

_RELATIONSHIP = {
    "father": ("父亲", "爸爸", "父", "爸", "father", "dad"),
    "mother": ("母亲", "妈妈", "母", "妈", "mother", "mum", "mom"),
    "grandfather": ("爷爷", "祖父", "外公", "外祖父", "姥爷", "grandfather", "grandpa"),
    "grandmother": ("奶奶", "祖母", "外婆", "外祖母", "姥姥", "grandmother", "grandma"),
    "step_parent": ("继父", "继母", "step-parent", "stepfather", "stepmother"),
    "foster": ("寄养", "养父", "养母", "foster"),
    "relative": (
        "亲属",
        "叔叔",
        "阿姨",
        "舅舅",
        "姑姑",
        "伯伯",
        "姨妈",
        "哥哥",
        "姐姐",
        "relative",
        "uncle",
        "aunt",
    ),
    "other": ("其他", "监护人", "other", "guardian", ""),
}
_RELATIONSHIP_INDEX = {word: key for key, words in _RELATIONSHIP.items() for word in words}


def relationship(value: Any) -> str:
    key = text(value).lower()
    if key in _RELATIONSHIP_INDEX:
        return _RELATIONSHIP_INDEX[key]
    raise TransformError("Unknown relationship; use 父亲, 母亲, 爷爷, 奶奶, 外公, 外婆 or 其他")


# ------------------------------------------------------------------------------------ class names

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_STAGE_OFFSET = {"小": 0, "初": 6, "高": 9}
_STAGE_NAMES = {"一": 1, "二": 2, "三": 3}


def cn_number(s: str) -> int | None:
    """12, 十二, 二十, 三 → int; None if not a number."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if all(c in _CN_DIGITS or c == "十" for c in s):
        if "十" in s:
            tens, _, units = s.partition("十")
            return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
        n = 0
        for c in s:
            n = n * 10 + _CN_DIGITS[c]
        return n
    return None


_NUM = r"(\d+|[零〇一二两三四五六七八九十]+)"
_CLASS_PATTERNS = [
    # 初一(3)班, 高二3班, 初一年级3班
    re.compile(rf"^([初高小])([一二三四五六])(?:年级)?[(（]?{_NUM}[)）]?班?$"),
    # 三年级2班, 七年级(1)班, 3年级2班
    re.compile(rf"^{_NUM}年级[(（]?{_NUM}[)）]?班?$"),
    # 3(2), 3（2）班, 3-2, 3.2, 3/2
    re.compile(rf"^{_NUM}\s*(?:[(（]{_NUM}[)）]|[-./]{_NUM})\s*班?$"),
    # grade 3 class 2
    re.compile(r"^grade\s*(\d+)\D+(\d+)$", re.IGNORECASE),
]


def class_key(value: Any) -> tuple[int, int] | None:
    """(grade 1-12, class number) for the usual ways of writing a class; None when not recognised.

    Grades count from the first year of primary school: 初一 is grade 7, 高一 grade 10."""
    s = text(value).replace(" ", "")
    if not s:
        return None
    m = _CLASS_PATTERNS[0].match(s)
    if m:
        stage, year, number = m[1], _CN_DIGITS[m[2]], cn_number(m[3])
        if number is None:
            return None
        return _STAGE_OFFSET[stage] + year, number
    for pattern in _CLASS_PATTERNS[1:]:
        m = pattern.match(s)
        if m:
            nums = [cn_number(g) for g in m.groups() if g is not None]
            if len(nums) == 2 and None not in nums:
                return nums[0], nums[1]  # type: ignore[return-value]
    return None


def grade_number(grade_name: str, order: int | None = None) -> int | None:
    """The grade (1-12) a grade level's name means: 七年级 → 7, 初一 → 7, 高二 → 11, "Grade 3" → 3."""
    s = text(grade_name).replace(" ", "")
    m = re.match(r"^([初高小])([一二三四五六])", s)
    if m:
        return _STAGE_OFFSET[m[1]] + _CN_DIGITS[m[2]]
    m = re.match(rf"^{_NUM}年级", s) or re.match(r"^grade(\d+)", s, re.IGNORECASE)
    if m:
        return cn_number(m[1])
    return order


class ClassResolver:
    """Maps the ways an office writes a class to the school's classes.

    `classes`: (id, class name, grade name, grade order). Exact names win; otherwise both sides are reduced
    to (grade, number) with class_key / grade_number."""

    def __init__(self, classes: list[tuple[int, str, str, int | None]]) -> None:
        self.by_name: dict[str, int] = {}
        self.by_key: dict[tuple[int, int], list[int]] = {}
        for pk, name, grade_name, order in classes:
            self.by_name[text(name).replace(" ", "")] = pk
            key = class_key(name)
            if key is None:
                number = re.search(r"(\d+|[一二三四五六七八九十]+)\s*[)）]?\s*班?$", text(name))
                grade = grade_number(grade_name, order)
                n = cn_number(number[1]) if number else None
                if grade is not None and n is not None:
                    key = (grade, n)
            if key is not None:
                self.by_key.setdefault(key, []).append(pk)

    def resolve(self, value: Any) -> int | None:
        s = text(value).replace(" ", "")
        if not s:
            return None
        if s in self.by_name:
            return self.by_name[s]
        key = class_key(s)
        found = self.by_key.get(key, []) if key else []
        return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------------------------ attendance

# The words offices use for a day's (or a period's) attendance, in Chinese and English, to
# attendance.models.Status values.
_ATTENDANCE = {
    "present": (
        "出勤", "正常", "到", "已到", "出席", "在校", "到校", "实到", "√", "✓", "✔",
        "present", "p", "attended",
    ),
    "absent": (
        "缺勤", "缺席", "旷课", "旷课缺勤", "未到", "缺", "无故缺勤", "×", "✗", "✘",
        "absent", "a", "absence", "unexcused", "unauthorised absence", "unauthorized absence", "truant",
    ),
    "late": ("迟到", "晚到", "late", "l", "tardy"),
    "early_leave": ("早退", "early leave", "left early", "leave early"),
    "sick": ("病假", "病", "病假缺勤", "sick", "s", "sick leave", "ill", "illness", "medical"),
    "excused": (
        "事假", "请假", "公假", "事假缺勤", "已请假",
        "excused", "leave", "personal leave", "authorised absence", "authorized absence", "excused absence",
    ),
}  # fmt: skip
_ATTENDANCE_WORDS = {w.lower(): status for status, words in _ATTENDANCE.items() for w in words}


def attendance_status(value: Any) -> str:
    """出勤/缺勤/迟到/早退/病假/事假 (and their usual variants), or present/absent/late/left early/sick/excused,
    to a status of attendance.models.Status."""
    key = text(value).lower().replace("_", " ")
    found = _ATTENDANCE_WORDS.get(key) or _ATTENDANCE_WORDS.get(key.replace(" ", ""))
    if found is None:
        raise TransformError(
            "Unknown attendance status; use 出勤, 缺勤, 迟到, 早退, 病假 or 事假 "
            "(present, absent, late, left early, sick, excused)"
        )
    return found


def period(value: Any) -> int | None:
    """A lesson period: 3, 第3节, 第三节, 三, "3rd", "period 3"; blank → None (the day as a whole)."""
    s = text(value).replace(" ", "").lower()
    if not s:
        return None
    m = re.fullmatch(r"(?:第|period|p)?(\d+|[一二三四五六七八九十]+)(?:节|节课|st|nd|rd|th)?", s)
    n = cn_number(m[1]) if m else None
    if n is None or not 1 <= n <= 20:
        raise TransformError("Not a period; write the lesson's number, e.g. 3 or 第3节")
    return n
