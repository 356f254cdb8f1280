"""Target fields of each import kind, and a mapping from source headers to them suggested from the
headers' wording in Chinese or English. Pure Python."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # English; translated by the pages
    required: bool = False
    synonyms: tuple[str, ...] = ()


PERSON = (
    Field("name", "Full name", False, ("姓名", "名字", "学生姓名", "教师姓名", "name", "full name", "student name")),
    Field("family_name", "Family name", False, ("姓", "姓氏", "family name", "surname", "last name")),
    Field("given_name", "Given name", False, ("名", "given name", "first name")),
    Field("gender", "Gender", False, ("性别", "gender", "sex")),
    Field("birth_date", "Birth date", False, ("出生日期", "生日", "出生年月", "出生年月日", "birth date", "date of birth", "dob", "birthday")),
)  # fmt: skip

GUARDIAN = (
    Field("guardian_name", "Guardian name", False, ("家长姓名", "监护人姓名", "家长", "监护人", "父母姓名", "guardian name", "parent name", "guardian")),
    Field("guardian_phone", "Guardian phone", False, ("家长电话", "家长手机", "监护人电话", "监护人手机", "联系电话", "家长联系电话", "guardian phone", "parent phone", "parent mobile")),
    Field("guardian_relationship", "Relationship to the student", False, ("与学生关系", "关系", "家长关系", "监护人关系", "relationship", "relation")),
    Field("guardian2_name", "Second guardian name", False, ("家长2姓名", "第二监护人姓名", "家长二姓名", "guardian 2 name", "second guardian name")),
    Field("guardian2_phone", "Second guardian phone", False, ("家长2电话", "第二监护人电话", "家长二电话", "guardian 2 phone", "second guardian phone")),
    Field("guardian2_relationship", "Second guardian relationship", False, ("家长2关系", "第二监护人关系", "家长二关系", "guardian 2 relationship")),
)  # fmt: skip

TARGETS: dict[str, tuple[Field, ...]] = {
    "students": (
        Field("student_number", "Student number", True, ("学号", "学生编号", "学生号", "student number", "student no", "student id", "student_no", "number")),
        *PERSON,
        Field("klass", "Class", False, ("班级", "班", "所在班级", "行政班", "class", "homeroom", "class name")),
        Field("national_student_id", "National student ID (学籍号)", False, ("学籍号", "全国学籍号", "national student id")),
        Field("enrolled_on", "Enrolled on", False, ("入学日期", "入学时间", "enrolled on", "enrolment date", "enrollment date")),
        *GUARDIAN,
    ),
    "staff": (
        Field("staff_number", "Staff number", True, ("工号", "教师编号", "职工号", "教工号", "staff number", "staff no", "employee id", "staff id")),
        *PERSON,
        Field("phone", "Phone", False, ("手机", "手机号", "电话", "联系电话", "phone", "mobile", "telephone")),
        Field("email", "Email", False, ("邮箱", "电子邮箱", "email", "e-mail")),
        Field("title", "Title", False, ("职务", "职称", "岗位", "title", "position", "job title")),
    ),
    "classes": (
        Field("class_name", "Class", True, ("班级", "班级名称", "班名", "class", "class name")),
        Field("grade", "Grade", True, ("年级", "grade", "grade level", "year group")),
        Field("head_teacher", "Head teacher (staff number or name)", False, ("班主任", "班主任工号", "班主任姓名", "head teacher", "homeroom teacher")),
    ),
    "assignments": (
        Field("teacher", "Teacher (staff number or name)", True, ("教师", "任课教师", "教师工号", "工号", "教师姓名", "teacher", "teacher number")),
        Field("class_name", "Class", True, ("班级", "班级名称", "任教班级", "class", "class name")),
        Field("subject", "Subject", True, ("科目", "学科", "课程", "subject", "course")),
        Field("term", "Term (empty for the current term)", False, ("学期", "term", "semester")),
    ),
    "scores": (
        Field("student_number", "Student number", True, ("学号", "学生编号", "student number", "student no", "student id")),
        Field("assessment", "Exam", True, ("考试", "考试名称", "考试名", "测验", "exam", "assessment", "test")),
        Field("subject", "Subject (empty: one column per subject)", False, ("科目", "学科", "subject")),
        Field("score", "Score (with a subject column)", False, ("分数", "成绩", "得分", "score", "mark")),
    ),
    "attendance": (
        Field("student_number", "Student number", True, ("学号", "学生编号", "学生号", "student number", "student no", "student id")),
        Field("date", "Date", True, ("日期", "考勤日期", "出勤日期", "缺勤日期", "时间", "date", "attendance date", "day")),
        Field("period", "Period (empty: the whole day)", False, ("节次", "节", "课节", "第几节", "课次", "period", "lesson", "lesson period")),
        Field("status", "Attendance status", True, ("状态", "考勤状态", "出勤状态", "考勤", "出勤", "出勤情况", "考勤结果", "考勤类型", "status", "attendance", "attendance status", "attendance code")),
        Field("note", "Note or reason", False, ("备注", "原因", "说明", "事由", "缺勤原因", "请假原因", "note", "notes", "reason", "remark", "comment")),
    ),
}  # fmt: skip


PEOPLE = ("students", "staff")


def fields(target: str) -> tuple[Field, ...]:
    return TARGETS[target]


def normalize_header(header: str) -> str:
    s = header.strip().lower()
    s = re.sub(r"[\s_\-:：*＊()（）\[\]【】]+", " ", s)
    return s.strip()


def suggest(target: str, headers: list[str]) -> dict[str, str]:
    """field name → header, each header used once. Exact synonym matches first, then the header that
    contains a synonym (longest synonym wins), then nothing."""
    from rapidfuzz import fuzz

    mapping: dict[str, str] = {}
    used: set[str] = set()
    normalized = {h: normalize_header(h) for h in headers}
    candidates: list[tuple[int, str, str]] = []  # (score, field, header)
    for field in TARGETS[target]:
        syns = [normalize_header(s) for s in field.synonyms]
        for header, norm in normalized.items():
            if norm in syns or norm == field.name.replace("_", " "):
                score = 1000
            else:
                contained = [s for s in syns if len(s) >= 2 and s in norm]
                if contained:
                    score = 500 + max(len(s) for s in contained) * 10 - len(norm)
                else:
                    best = max(
                        (fuzz.ratio(norm, s) for s in syns if s.isascii() and norm.isascii()), default=0
                    )
                    score = int(best) if best >= 88 else 0
            if score:
                candidates.append((score, field.name, header))
    for _score, field_name, header in sorted(candidates, key=lambda c: -c[0]):
        if field_name in mapping or header in used:
            continue
        mapping[field_name] = header
        used.add(header)
    # A full name column makes separate family/given columns unnecessary, and vice versa.
    if "name" in mapping and "family_name" in mapping and "given_name" not in mapping:
        del mapping["family_name"]
    return mapping


def missing_required(target: str, mapping: dict[str, str]) -> list[Field]:
    out = [f for f in TARGETS[target] if f.required and not mapping.get(f.name)]
    if target not in PEOPLE:
        return out
    has_name = mapping.get("name") or (mapping.get("family_name") and mapping.get("given_name"))
    if not has_name:
        out.append(Field("name", "Full name", True))
    return out
