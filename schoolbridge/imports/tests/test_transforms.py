"""Transforms and header suggestions: pure, no database."""

import datetime

import pytest

from schoolbridge.imports import mapping as m
from schoolbridge.imports import transforms as t


@pytest.mark.parametrize(
    "raw",
    [
        "2015/3/8",
        "2015-03-08",
        "2015.3.8",
        "2015年3月8日",
        "20150308",
        42071,
        "42071",
        "8/3/2015",
        "2015-03-08 00:00:00",
    ],
)
def test_dates(raw):
    assert t.date(raw) == datetime.date(2015, 3, 8)


def test_excel_serial_dates_around_the_1900_bug():
    assert t.date(1) == datetime.date(1900, 1, 1)
    assert t.date(61) == datetime.date(1900, 3, 1)
    assert t.date(45658) == datetime.date(2025, 1, 1)


@pytest.mark.parametrize("raw", ["2015-02-30", "2015/13/1", "next tuesday", "3月8日", "201503"])
def test_bad_dates(raw):
    with pytest.raises(t.TransformError):
        t.date(raw)


def test_empty_date_is_none():
    assert t.date("") is None and t.date(None) is None


@pytest.mark.parametrize(
    ("raw", "want"), [("男", "M"), ("女", "F"), ("M", "M"), ("female", "F"), ("", "X"), (" 女 ", "F")]
)
def test_gender(raw, want):
    assert t.gender(raw) == want


def test_bad_gender():
    with pytest.raises(t.TransformError):
        t.gender("未说明的东西")


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("三年级2班", (3, 2)),
        ("3(2)", (3, 2)),
        ("3（2）班", (3, 2)),
        ("初一(3)班", (7, 3)),
        ("初一3班", (7, 3)),
        ("高二(10)班", (11, 10)),
        ("七年级1班", (7, 1)),
        ("3-2", (3, 2)),
        ("Grade 3 Class 2", (3, 2)),
        ("十二年级十一班", (12, 11)),
    ],
)
def test_class_keys(raw, want):
    assert t.class_key(raw) == want


def test_class_resolver_maps_the_office_spellings_to_the_schools_classes():
    r = t.ClassResolver(
        [
            (1, "七年级1班", "七年级", 7),
            (2, "七年级2班", "七年级", 7),
            (3, "八年级1班", "八年级", 8),
            (4, "Rocket", "火箭班", 9),
        ]
    )
    assert r.resolve("七年级1班") == 1
    assert r.resolve("初一(2)班") == 2
    assert r.resolve("7(1)") == 1
    assert r.resolve("初二1班") == 3
    assert r.resolve("Rocket") == 4
    assert r.resolve("初三1班") is None
    assert r.resolve("") is None


def test_class_resolver_refuses_ambiguity():
    r = t.ClassResolver([(1, "1班", "七年级", 7), (2, "初一(1)班", "七年级", 7)])
    assert r.resolve("7(1)") is None  # two classes read as grade 7 class 1: say so rather than guess
    assert r.resolve("初一(1)班") == 2


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("张三", ("张", "三")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("司马光", ("司马", "光")),
        ("Anna Smith", ("Smith", "Anna")),
        ("王", ("王", "")),
    ],
)
def test_split_name(raw, want):
    assert t.split_name(raw) == want


def test_phones():
    assert t.phone("138 0000 0001") == "13800000001"
    assert t.phone("+86 138-0000-0001") == "13800000001"
    assert t.phone(13800000001.0) == "13800000001"
    assert t.phone("") == ""
    for bad in ("12345", "12000000000", "call me"):
        with pytest.raises(t.TransformError):
            t.phone(bad)


def test_relationships():
    assert t.relationship("爸爸") == "father" and t.relationship("外婆") == "grandmother"
    assert t.relationship("Mother") == "mother"
    with pytest.raises(t.TransformError):
        t.relationship("邻居")


def test_suggest_from_chinese_headers():
    headers = [
        "序号",
        "学号",
        "姓名",
        "性别",
        "出生日期",
        "班级",
        "家长姓名",
        "家长电话",
        "与学生关系",
        "备注",
    ]
    assert m.suggest("students", headers) == {
        "student_number": "学号",
        "name": "姓名",
        "gender": "性别",
        "birth_date": "出生日期",
        "klass": "班级",
        "guardian_name": "家长姓名",
        "guardian_phone": "家长电话",
        "guardian_relationship": "与学生关系",
    }


def test_suggest_from_english_and_decorated_headers():
    headers = [
        "Student No.",
        "Full Name",
        "Sex",
        "Date of Birth",
        "Class",
        "Parent Name",
        "Parent Phone",
        "Relation",
    ]
    got = m.suggest("students", headers)
    assert got["student_number"] == "Student No." and got["name"] == "Full Name" and got["gender"] == "Sex"
    assert got["birth_date"] == "Date of Birth" and got["guardian_phone"] == "Parent Phone"
    got = m.suggest("students", ["学号*", "学生姓名（必填）", "班级名称"])
    assert got == {"student_number": "学号*", "name": "学生姓名（必填）", "klass": "班级名称"}


def test_suggest_staff_and_required():
    got = m.suggest("staff", ["工号", "姓名", "手机号", "职务"])
    assert got == {"staff_number": "工号", "name": "姓名", "phone": "手机号", "title": "职务"}
    assert [f.name for f in m.missing_required("staff", {"name": "姓名"})] == ["staff_number"]
    assert [f.name for f in m.missing_required("students", {"student_number": "学号"})] == ["name"]
    assert (
        m.missing_required("students", {"student_number": "a", "family_name": "b", "given_name": "c"}) == []
    )
