"""The permission matrix: every role x every capability x every kind of target, written out by hand.

The tables below are the policy in plain sight. They are NOT computed from access.rules: a change
to a rule that changes who sees what must change a line here too, in review.

Each table row is a user of the fixture world (plus two users added here, see `_extend_world`);
each column a target chosen for its relation to those users:

Students (A = school A, B = school B; 71 = grade 7 class 1, 72 = grade 7 class 2, 81 = grade 8 class 1)
    A71a  a_parent's child; also the a_student account; in a_head's class
    A71b  a_parent_norec's child (a guardianship without records)
    A71c  a classmate nobody in the table is guardian of
    A72   other class, same grade (teacher_parent teaches maths there)
    A81   other grade, same school (a_teacher teaches maths there; a_head_only is its head teacher)
    B71a  the same seat in the other school
    B71c  teacher_parent's child, in the other school
    B81   other school, other grade
Classes: A71 A72 A81 B71 B81. Schools: A B.

"Y" means allowed, "." denied.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import Http404

from schoolbridge.access.helpers import (
    NotFound,
    access_class_by_id,
    access_school_by_id,
    access_student_by_id,
)
from schoolbridge.access.rules import CAPABILITY_MODELS, RULES
from schoolbridge.access.scope import Scope, get_scope, load_grants
from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import Class, Person, School, Staff, Student
from schoolbridge.testing.world import WORLD_PASSWORD, World

EXPECTED_TABLES = """
student.view             A71a A71b A71c A72  A81  B71a B71c B81
district_admin            .    .    .    .    .    .    .    .
district_admin_records    Y    Y    Y    Y    Y    Y    Y    Y
district_officer          .    .    .    .    .    .    .    .
district_records          Y    Y    Y    Y    Y    Y    Y    Y
a_admin                   Y    Y    Y    Y    Y    .    .    .
a_principal               Y    Y    Y    Y    Y    .    .    .
a_director                Y    Y    Y    Y    .    .    .    .
a_head                    Y    Y    Y    .    .    .    .    .
a_head_only               .    .    .    .    Y    .    .    .
a_teacher                 Y    Y    Y    .    Y    .    .    .
a_parent                  Y    .    .    .    .    .    .    .
a_parent_norec            .    .    .    .    .    .    .    .
a_student                 Y    .    .    .    .    .    .    .
teacher_parent            .    .    .    Y    .    .    Y    .

student.sensitive        A71a A71b A71c A72  A81  B71a B71c B81
district_admin            .    .    .    .    .    .    .    .
district_admin_records    .    .    .    .    .    .    .    .
district_officer          .    .    .    .    .    .    .    .
district_records          .    .    .    .    .    .    .    .
a_admin                   Y    Y    Y    Y    Y    .    .    .
a_principal               Y    Y    Y    Y    Y    .    .    .
a_director                .    .    .    .    .    .    .    .
a_head                    Y    Y    Y    .    .    .    .    .
a_head_only               .    .    .    .    Y    .    .    .
a_teacher                 .    .    .    .    .    .    .    .
a_parent                  Y    .    .    .    .    .    .    .
a_parent_norec            .    .    .    .    .    .    .    .
a_student                 .    .    .    .    .    .    .    .
teacher_parent            .    .    .    .    .    .    Y    .

student.manage           A71a A71b A71c A72  A81  B71a B71c B81
district_admin            .    .    .    .    .    .    .    .
district_admin_records    .    .    .    .    .    .    .    .
district_officer          .    .    .    .    .    .    .    .
district_records          .    .    .    .    .    .    .    .
a_admin                   Y    Y    Y    Y    Y    .    .    .
a_principal               .    .    .    .    .    .    .    .
a_director                .    .    .    .    .    .    .    .
a_head                    .    .    .    .    .    .    .    .
a_head_only               .    .    .    .    .    .    .    .
a_teacher                 .    .    .    .    .    .    .    .
a_parent                  .    .    .    .    .    .    .    .
a_parent_norec            .    .    .    .    .    .    .    .
a_student                 .    .    .    .    .    .    .    .
teacher_parent            .    .    .    .    .    .    .    .

guardian.contact         A71a A71b A71c A72  A81  B71a B71c B81
district_admin            .    .    .    .    .    .    .    .
district_admin_records    .    .    .    .    .    .    .    .
district_officer          .    .    .    .    .    .    .    .
district_records          .    .    .    .    .    .    .    .
a_admin                   Y    Y    Y    Y    Y    .    .    .
a_principal               Y    Y    Y    Y    Y    .    .    .
a_director                Y    Y    Y    Y    .    .    .    .
a_head                    Y    Y    Y    .    .    .    .    .
a_head_only               .    .    .    .    Y    .    .    .
a_teacher                 .    .    .    .    .    .    .    .
a_parent                  .    .    .    .    .    .    .    .
a_parent_norec            .    .    .    .    .    .    .    .
a_student                 .    .    .    .    .    .    .    .
teacher_parent            .    .    .    .    .    .    .    .

class.aggregate          A71  A72  A81  B71  B81
district_admin            Y    Y    Y    Y    Y
district_admin_records    Y    Y    Y    Y    Y
district_officer          Y    Y    Y    Y    Y
district_records          Y    Y    Y    Y    Y
a_admin                   Y    Y    Y    .    .
a_principal               Y    Y    Y    .    .
a_director                Y    Y    .    .    .
a_head                    Y    .    .    .    .
a_head_only               .    .    Y    .    .
a_teacher                 Y    .    Y    .    .
a_parent                  Y    .    .    .    .
a_parent_norec            Y    .    .    .    .
a_student                 Y    .    .    .    .
teacher_parent            .    Y    .    Y    .

class.teach              A71  A72  A81  B71  B81
district_admin            .    .    .    .    .
district_admin_records    .    .    .    .    .
district_officer          .    .    .    .    .
district_records          .    .    .    .    .
a_admin                   .    .    .    .    .
a_principal               .    .    .    .    .
a_director                .    .    .    .    .
a_head                    Y    .    .    .    .
a_head_only               .    .    Y    .    .
a_teacher                 Y    .    Y    .    .
a_parent                  .    .    .    .    .
a_parent_norec            .    .    .    .    .
a_student                 .    .    .    .    .
teacher_parent            .    Y    .    .    .

school.aggregate         A    B
district_admin            Y    Y
district_admin_records    Y    Y
district_officer          Y    Y
district_records          Y    Y
a_admin                   Y    .
a_principal               Y    .
a_director                .    .
a_head                    .    .
a_head_only               .    .
a_teacher                 .    .
a_parent                  .    .
a_parent_norec            .    .
a_student                 .    .
teacher_parent            .    .

school.manage            A    B
district_admin            Y    Y
district_admin_records    Y    Y
district_officer          .    .
district_records          .    .
a_admin                   Y    .
a_principal               .    .
a_director                .    .
a_head                    .    .
a_head_only               .    .
a_teacher                 .    .
a_parent                  .    .
a_parent_norec            .    .
a_student                 .    .
teacher_parent            .    .
"""

# Every kind of role the platform knows, as a row of the tables.
USERS = (
    "district_admin",  # district administrator, aggregates only
    "district_admin_records",  # district administrator with include_records
    "district_officer",  # district officer, aggregates only
    "district_records",  # district officer with include_records
    "a_admin",  # school administrator
    "a_principal",  # principal
    "a_director",  # grade 7 director
    "a_head",  # head teacher of A71 who also teaches maths there
    "a_head_only",  # head teacher of A81 who teaches nothing
    "a_teacher",  # subject teacher (Chinese in A71, maths in A81)
    "a_parent",  # guardian with records
    "a_parent_norec",  # guardian without records
    "a_student",  # student
    "teacher_parent",  # subject teacher in school A and guardian in school B
)

HELPERS = {
    "core.student": access_student_by_id,
    "core.class": access_class_by_id,
    "core.school": access_school_by_id,
}


def _parse(text: str) -> dict[str, tuple[tuple[str, ...], dict[str, dict[str, bool]]]]:
    """capability -> (columns, {user: {column: allowed}})"""
    tables: dict[str, tuple[tuple[str, ...], dict[str, dict[str, bool]]]] = {}
    for block in text.strip().split("\n\n"):
        header, *rows = block.strip().splitlines()
        capability, *columns = header.split()
        assert capability not in tables, f"{capability} has two tables"
        cells: dict[str, dict[str, bool]] = {}
        for row in rows:
            user, *marks = row.split()
            assert len(marks) == len(columns), (
                f"{capability}/{user}: {len(marks)} marks for {len(columns)} columns"
            )
            assert set(marks) <= {"Y", "."}, f"{capability}/{user}: marks must be Y or ."
            assert user not in cells, f"{capability}/{user} appears twice"
            cells[user] = {c: m == "Y" for c, m in zip(columns, marks, strict=True)}
        tables[capability] = (tuple(columns), cells)
    return tables


EXPECTED = _parse(EXPECTED_TABLES)


def _extend_world(world: World) -> None:
    """Two users the fixture world lacks, without whom some rules would go untested:

    - a district administrator with include_records (else district_admin.student.view is never used);
    - a head teacher who does not also teach their class (a_head's subject_teacher grant covers
      everything their head_teacher grant gives, so removing a head_teacher rule would go unseen).
    """
    User = get_user_model()
    d = world.district
    u = User(username="district_admin_records")
    u.set_password(WORLD_PASSWORD)
    u.save()
    RoleGrant.objects.create(user=u, role="district_admin", district=d, include_records=True)
    world.users[u.username] = u

    h = User(username="a_head_only")
    h.set_password(WORLD_PASSWORD)
    h.save()
    person = Person.objects.create(district=d, family_name="吴", given_name="班主任", user=h)
    staff = Staff.objects.create(district=d, school=world.a.school, person=person, staff_number="T-head-only")
    world.a.g8c1.head_teacher = staff
    world.a.g8c1.save(update_fields=["head_teacher"])
    world.users[h.username] = h


def _targets(world: World) -> dict[str, Any]:
    a, b = world.a, world.b
    return {
        "A71a": a.students["g7c1"][0],
        "A71b": a.students["g7c1"][1],
        "A71c": a.students["g7c1"][2],
        "A72": a.students["g7c2"][0],
        "A81": a.students["g8c1"][0],
        "B71a": b.students["g7c1"][0],
        "B71c": b.students["g7c1"][2],
        "B81": b.students["g8c1"][0],
        "A71": a.g7c1,
        "A72_class": a.g7c2,
        "A81_class": a.g8c1,
        "B71": b.g7c1,
        "B81_class": b.g8c1,
        "A": a.school,
        "B": b.school,
    }


def _target(targets: dict[str, Any], capability: str, column: str) -> Any:
    """Column names are short; class columns that collide with student columns get a suffix."""
    if CAPABILITY_MODELS[capability] == "core.class" and column in ("A72", "A81", "B81"):
        return targets[f"{column}_class"]
    return targets[column]


@pytest.fixture
def matrix_world(world: World) -> World:
    _extend_world(world)
    return world


def _observed_by_queryset(scope: Scope, targets: dict[str, Any]) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for capability, (columns, _cells) in EXPECTED.items():
        ids = set(scope.queryset(capability).values_list("pk", flat=True))
        out[capability] = {c: _target(targets, capability, c).pk in ids for c in columns}
    return out


def _expected_for(user: str) -> dict[str, dict[str, bool]]:
    return {capability: cells[user] for capability, (_columns, cells) in EXPECTED.items()}


def _missing_id(model: Any) -> int:
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last + 1000


def _not_found(call: Any) -> Http404:
    with pytest.raises(Http404) as info:
        call()
    return info.value


# --- the tables themselves ----------------------------------------------------------------------


def test_tables_cover_every_capability_and_every_user():
    assert set(EXPECTED) == set(CAPABILITY_MODELS), "one table per capability, no more, no less"
    for capability, (columns, cells) in EXPECTED.items():
        assert tuple(cells) == USERS, f"{capability}: rows must be exactly USERS, in order"
        model = CAPABILITY_MODELS[capability]
        expected_columns = {
            "core.student": ("A71a", "A71b", "A71c", "A72", "A81", "B71a", "B71c", "B81"),
            "core.class": ("A71", "A72", "A81", "B71", "B81"),
            "core.school": ("A", "B"),
        }[model]
        assert columns == expected_columns, f"{capability}: columns"


def test_every_rule_names_a_known_role_and_capability_once():
    roles = {"district_admin", "district_officer", "school_admin", "principal", "grade_director"}
    roles |= {"head_teacher", "subject_teacher", "guardian", "student"}
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)), "rule names must be unique"
    for rule in RULES:
        assert rule.role in roles, rule.name
        assert rule.capability in CAPABILITY_MODELS, rule.name
    pairs = [(r.role, r.capability) for r in RULES]
    assert len(pairs) == len(set(pairs)), "one rule per role and capability"


def test_the_extended_world_holds_the_roles_the_rows_claim(matrix_world):
    roles = {u: get_scope(matrix_world.user(u)).roles for u in USERS}
    assert roles["district_admin"] == {"district_admin"}
    assert roles["district_admin_records"] == {"district_admin"}
    assert roles["district_officer"] == roles["district_records"] == {"district_officer"}
    assert roles["a_admin"] == {"school_admin"}
    assert roles["a_principal"] == {"principal"}
    assert roles["a_director"] == {"grade_director"}
    assert roles["a_head"] == {"head_teacher", "subject_teacher"}
    assert roles["a_head_only"] == {"head_teacher"}
    assert roles["a_teacher"] == {"subject_teacher"}
    assert roles["a_parent"] == roles["a_parent_norec"] == {"guardian"}
    assert roles["a_student"] == {"student"}
    assert roles["teacher_parent"] == {"subject_teacher", "guardian"}


# --- the matrix against the access layer ---------------------------------------------------------


def test_matrix(matrix_world):
    """allows(), queryset() membership and the access_*_by_id helpers all agree with the tables."""
    targets = _targets(matrix_world)
    missing = {
        label: _missing_id(model) for label, model in (("core.student", Student), ("core.class", Class))
    }
    missing["core.school"] = _missing_id(School)
    mismatches: list[str] = []
    for username in USERS:
        user = matrix_world.user(username)
        scope = get_scope(user)
        by_queryset = _observed_by_queryset(scope, targets)
        for capability, (columns, cells) in EXPECTED.items():
            helper = HELPERS[CAPABILITY_MODELS[capability]]
            missing_error = _not_found(
                lambda h=helper, u=user, c=capability: h(u, missing[CAPABILITY_MODELS[c]], c)
            )
            for column in columns:
                expected = cells[username]
                want = expected[column]
                obj = _target(targets, capability, column)
                where = f"{username} {capability} {column}: expected {'allow' if want else 'deny'}"
                if scope.allows(capability, obj) != want:
                    mismatches.append(f"{where}, allows() says {not want}")
                if by_queryset[capability][column] != want:
                    mismatches.append(f"{where}, queryset() says {not want}")
                try:
                    got = helper(user, obj.pk, capability)
                except Http404 as exc:
                    if want:
                        mismatches.append(f"{where}, helper raised 404")
                    elif type(exc) is not type(missing_error) or exc.args != missing_error.args:
                        mismatches.append(f"{where}, forbidden 404 differs from missing 404: {exc!r}")
                else:
                    if not want:
                        mismatches.append(f"{where}, helper returned {got!r}")
                    elif got.pk != obj.pk or type(got) is not type(obj):
                        mismatches.append(f"{where}, helper returned the wrong object {got!r}")
    assert not mismatches, "permission matrix mismatches:\n" + "\n".join(mismatches)


def test_missing_and_forbidden_ids_raise_the_same_404(matrix_world):
    """Whatever the id looks like, an outsider learns nothing from the error."""
    parent = matrix_world.user("a_parent")
    own = matrix_world.a.students["g7c1"][0]
    forbidden = matrix_world.b.students["g7c1"][0]
    assert access_student_by_id(parent, own.pk) == own
    assert access_student_by_id(parent, str(own.pk)) == own
    errors = [
        _not_found(lambda i=i: access_student_by_id(parent, i))
        for i in (
            forbidden.pk,
            str(forbidden.pk),
            _missing_id(Student),
            0,
            -1,
            "abc",
            "",
            None,
            "1.0",
            1.0 * own.pk,  # not an id, even if it equals one
            True,
            " 1",
            "99999999999999999999999999",  # beyond a 64-bit key: must not reach the database
            2**70,
        )
    ]
    for err in errors:
        assert type(err) is NotFound
        assert err.args == ()
    for helper, obj in (
        (access_class_by_id, matrix_world.b.g7c1),
        (access_school_by_id, matrix_world.b.school),
    ):
        forbidden_err = _not_found(lambda h=helper, o=obj: h(parent, o.pk))
        missing_err = _not_found(lambda h=helper, o=obj: h(parent, _missing_id(type(o))))
        assert type(forbidden_err) is type(missing_err) is NotFound
        assert forbidden_err.args == missing_err.args == ()


def test_helpers_refuse_a_capability_of_another_model(matrix_world):
    admin = matrix_world.user("a_admin")
    with pytest.raises(TypeError):
        access_student_by_id(admin, matrix_world.a.students["g7c1"][0].pk, "class.aggregate")
    with pytest.raises(KeyError):
        access_student_by_id(admin, matrix_world.a.students["g7c1"][0].pk, "student.everything")


# --- every rule matters ---------------------------------------------------------------------------


def test_removing_any_single_rule_breaks_the_matrix(matrix_world):
    targets = _targets(matrix_world)
    grants = {u: load_grants(matrix_world.user(u)) for u in USERS}
    # Control: with every rule the matrix holds (so a failure below is the removal's doing).
    for username in USERS:
        full = Scope(matrix_world.user(username), grants[username])
        assert _observed_by_queryset(full, targets) == _expected_for(username), username
    undetected = []
    for rule in RULES:
        rules = [r for r in RULES if r is not rule]
        assert len(rules) == len(RULES) - 1
        detected = any(
            _observed_by_queryset(Scope(matrix_world.user(u), grants[u], rules=rules), targets)
            != _expected_for(u)
            for u in USERS
        )
        if not detected:
            undetected.append(rule.name)
    assert not undetected, f"rules the matrix cannot tell apart from their absence: {undetected}"


# --- multi-grant users get exactly the union ------------------------------------------------------


@pytest.mark.parametrize("username", ["teacher_parent", "a_head"])
def test_multi_grant_users_get_exactly_the_union_of_their_grants(matrix_world, username):
    user = matrix_world.user(username)
    scope = get_scope(user)
    assert len(scope.grants) >= 2
    for capability in CAPABILITY_MODELS:
        together = set(scope.queryset(capability).values_list("pk", flat=True))
        apart: set[int] = set()
        for grant in scope.grants:
            apart |= set(Scope(user, (grant,)).queryset(capability).values_list("pk", flat=True))
        assert together == apart, f"{username} {capability}"


def test_teacher_parent_gets_no_guardian_contacts_from_either_grant(matrix_world):
    scope = get_scope(matrix_world.user("teacher_parent"))
    assert not scope.queryset("guardian.contact").exists()
    # Sensitive fields only for their own child, not for the class they teach.
    assert set(scope.queryset("student.sensitive").values_list("pk", flat=True)) == {
        matrix_world.b.students["g7c1"][2].pk
    }
    assert set(scope.queryset("student.view").values_list("pk", flat=True)) == {
        *(s.pk for s in matrix_world.a.students["g7c2"]),
        matrix_world.b.students["g7c1"][2].pk,
    }


def test_head_teacher_sees_their_class_contacts_only(matrix_world):
    scope = get_scope(matrix_world.user("a_head"))
    contacts = set(scope.queryset("guardian.contact").values_list("pk", flat=True))
    assert contacts == {s.pk for s in matrix_world.a.students["g7c1"]}
    for student in matrix_world.a.students["g7c2"]:
        assert not scope.allows("guardian.contact", student)


def test_district_officer_needs_include_records_for_student_records(matrix_world):
    officer = get_scope(matrix_world.user("district_officer"))
    records = get_scope(matrix_world.user("district_records"))
    assert officer.queryset("student.view").count() == 0
    assert not officer.allows_any("student.view")
    all_students = Student.objects.filter(district=matrix_world.district).count()
    assert all_students == 18
    assert records.queryset("student.view").count() == all_students
    # Both see the same aggregates.
    assert set(officer.queryset("class.aggregate")) == set(records.queryset("class.aggregate"))
    assert officer.queryset("school.aggregate").count() == records.queryset("school.aggregate").count() == 2


def test_inactive_and_anonymous_users_get_nothing(matrix_world):
    from django.contrib.auth.models import AnonymousUser

    admin = matrix_world.user("a_admin")
    admin.is_active = False
    admin.save(update_fields=["is_active"])
    for who in (admin, AnonymousUser()):
        scope = Scope(who, load_grants(who))
        for capability in CAPABILITY_MODELS:
            assert not scope.queryset(capability).exists(), capability
