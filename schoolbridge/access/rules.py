"""The rules: which grant gives which capability over which rows.

Every rule is one line of the policy: for a role, a capability, and a function from the grant to a
Q filter on the capability's model. A user's access is the union of the rules applied to each of
their grants separately, so holding two grants never gives more than each gives alone.

The permission-matrix test (access/tests/test_matrix.py) checks the whole table against a world of
two schools and proves that removing any single rule changes the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from .grants import Grant

# Capabilities and the model their Q filters apply to.
CAPABILITY_MODELS: dict[str, str] = {
    "student.view": "core.student",  # a student's record: name, class, status, contacts of the student
    "student.sensitive": "core.student",  # national ID and health notes (every read is logged)
    "student.manage": "core.student",  # edit a student, their enrollment and guardianships
    "guardian.contact": "core.student",  # the phone numbers of a student's guardians
    "class.aggregate": "core.class",  # class-level counts and statistics
    "class.teach": "core.class",  # classes one teaches (registers, marks)
    "school.aggregate": "core.school",  # school overview counts
    "school.manage": "core.school",  # manage the tree, people, guardianships and role grants
}


@dataclass(frozen=True)
class Rule:
    name: str
    role: str
    capability: str
    filter: Callable[[Grant], Q | None]


def _district(g: Grant) -> Q:
    return Q(district_id=g.district_id)


def _school_rows(g: Grant) -> Q:
    return Q(school_id=g.school_id)


def _school_itself(g: Grant) -> Q:
    return Q(id=g.school_id)


def _district_schools(g: Grant) -> Q:
    return Q(district_id=g.district_id)


def _grade_students(g: Grant) -> Q:
    return Q(school_id=g.school_id, current_class__grade_id=g.grade_id)


def _grade_classes(g: Grant) -> Q:
    return Q(school_id=g.school_id, grade_id=g.grade_id)


def _class_students(g: Grant) -> Q:
    return Q(current_class_id=g.class_id)


def _class_itself(g: Grant) -> Q:
    return Q(id=g.class_id)


def _records_if_granted(g: Grant) -> Q | None:
    return Q(district_id=g.district_id) if g.include_records else None


def _child_if_records(g: Grant) -> Q | None:
    return Q(id=g.student_id) if g.include_records else None


def _child_class(g: Grant) -> Q | None:
    return Q(id=g.class_id) if g.class_id else None


def _self(g: Grant) -> Q:
    return Q(id=g.student_id)


RULES: list[Rule] = [
    # District: aggregates across all schools; individual records only with an explicit grant.
    Rule("district_admin.school.aggregate", "district_admin", "school.aggregate", _district_schools),
    Rule("district_admin.class.aggregate", "district_admin", "class.aggregate", _district),
    Rule("district_admin.school.manage", "district_admin", "school.manage", _district_schools),
    Rule("district_admin.student.view", "district_admin", "student.view", _records_if_granted),
    Rule("district_officer.school.aggregate", "district_officer", "school.aggregate", _district_schools),
    Rule("district_officer.class.aggregate", "district_officer", "class.aggregate", _district),
    Rule("district_officer.student.view", "district_officer", "student.view", _records_if_granted),
    # School administrator: the whole school.
    Rule("school_admin.student.view", "school_admin", "student.view", _school_rows),
    Rule("school_admin.student.sensitive", "school_admin", "student.sensitive", _school_rows),
    Rule("school_admin.student.manage", "school_admin", "student.manage", _school_rows),
    Rule("school_admin.guardian.contact", "school_admin", "guardian.contact", _school_rows),
    Rule("school_admin.class.aggregate", "school_admin", "class.aggregate", _school_rows),
    Rule("school_admin.school.aggregate", "school_admin", "school.aggregate", _school_itself),
    Rule("school_admin.school.manage", "school_admin", "school.manage", _school_itself),
    # Principal: sees the whole school, manages nothing directly.
    Rule("principal.student.view", "principal", "student.view", _school_rows),
    Rule("principal.student.sensitive", "principal", "student.sensitive", _school_rows),
    Rule("principal.guardian.contact", "principal", "guardian.contact", _school_rows),
    Rule("principal.class.aggregate", "principal", "class.aggregate", _school_rows),
    Rule("principal.school.aggregate", "principal", "school.aggregate", _school_itself),
    # Grade director: the classes of one grade.
    Rule("grade_director.student.view", "grade_director", "student.view", _grade_students),
    Rule("grade_director.guardian.contact", "grade_director", "guardian.contact", _grade_students),
    Rule("grade_director.class.aggregate", "grade_director", "class.aggregate", _grade_classes),
    # Head teacher (班主任): the whole class, guardians' contacts and sensitive fields included.
    Rule("head_teacher.student.view", "head_teacher", "student.view", _class_students),
    Rule("head_teacher.student.sensitive", "head_teacher", "student.sensitive", _class_students),
    Rule("head_teacher.guardian.contact", "head_teacher", "guardian.contact", _class_students),
    Rule("head_teacher.class.aggregate", "head_teacher", "class.aggregate", _class_itself),
    Rule("head_teacher.class.teach", "head_teacher", "class.teach", _class_itself),
    # Subject teacher: the students of the classes they teach (their subject only, for marks).
    Rule("subject_teacher.student.view", "subject_teacher", "student.view", _class_students),
    Rule("subject_teacher.class.aggregate", "subject_teacher", "class.aggregate", _class_itself),
    Rule("subject_teacher.class.teach", "subject_teacher", "class.teach", _class_itself),
    # Guardian: their own children (where the guardianship allows records) and class aggregates.
    Rule("guardian.student.view", "guardian", "student.view", _child_if_records),
    Rule("guardian.student.sensitive", "guardian", "student.sensitive", _child_if_records),
    Rule("guardian.class.aggregate", "guardian", "class.aggregate", _child_class),
    # Student: themself and their class's aggregates.
    Rule("student.student.view", "student", "student.view", _self),
    Rule("student.class.aggregate", "student", "class.aggregate", _child_class),
]


def rules_for(capability: str) -> list[Rule]:
    if capability not in CAPABILITY_MODELS:
        raise KeyError(f"unknown capability {capability!r}")
    return [r for r in RULES if r.capability == capability]
