import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core import actions
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import (
    Class,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    Room,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

TODAY = datetime.date(2030, 1, 1)


def audit_rows(action, obj=None):
    qs = AuditEvent.objects.filter(action=action)
    if obj is not None:
        qs = qs.filter(object_id=str(obj.pk))
    return list(qs)


def errors_of(exc_info):
    return {k: [str(m) for m in v] for k, v in exc_info.value.message_dict.items()}


# ---------------------------------------------------------------- school tree


def test_create_school_year_writes_audit(world):
    admin = world.user("a_admin")
    year = actions.create_school_year(
        admin, world.a.school, name=" 2031 ", start_date=TODAY, end_date=TODAY + datetime.timedelta(days=300)
    )
    assert year.name == "2031" and year.school == world.a.school and year.district_id == world.district.id
    (row,) = audit_rows("core.school_year.create", year)
    assert row.before is None and row.after["name"] == "2031" and row.actor == admin
    assert row.school_id == world.a.school.id


def test_create_school_year_bad_dates_is_field_error_and_writes_nothing(world):
    n = SchoolYear.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.create_school_year(
            world.user("a_admin"), world.a.school, name="", start_date=TODAY, end_date=TODAY
        )
    errs = errors_of(exc)
    assert "end_date" in errs and "name" in errs
    assert SchoolYear.objects.count() == n and not audit_rows("core.school_year.create")


def test_duplicate_year_name_refused(world):
    with pytest.raises(InvalidInput) as exc:
        actions.create_school_year(
            world.user("a_admin"),
            world.a.school,
            name=world.a.year.name,
            start_date=TODAY,
            end_date=TODAY + datetime.timedelta(days=10),
        )
    assert "name" in errors_of(exc)


@pytest.mark.parametrize("username", ["a_admin", "a_teacher", "a_principal", "a_parent"])
def test_tree_write_out_of_scope_is_not_found(world, username):
    target = world.b.school if username == "a_admin" else world.a.school
    with pytest.raises(NotFound):
        actions.create_subject(world.user(username), target, name="物理", code="PHY")
    assert not Subject.objects.filter(code="PHY").exists()


def test_district_admin_manages_any_school_of_district(world):
    subject = actions.create_subject(world.user("district_admin"), world.b.school, name="物理", code=" phy ")
    assert subject.code == "PHY" and subject.school == world.b.school


def test_update_school_year_records_before_and_after(world):
    admin = world.user("a_admin")
    year = actions.update_school_year(admin, world.a.year, name="学年X")
    assert SchoolYear.objects.get(pk=year.pk).name == "学年X"
    (row,) = audit_rows("core.school_year.update", year)
    assert row.before["name"] == world.a.year.name and row.after["name"] == "学年X"


def test_update_year_out_of_scope_not_found(world):
    with pytest.raises(NotFound):
        actions.update_school_year(world.user("a_admin"), world.b.year, name="hack")
    assert SchoolYear.objects.get(pk=world.b.year.pk).name == world.b.year.name


def test_update_year_cannot_leave_terms_outside(world):
    with pytest.raises(InvalidInput):
        actions.update_school_year(
            world.user("a_admin"),
            world.a.year,
            start_date=world.a.term.start_date + datetime.timedelta(days=1),
        )


def test_create_term_must_lie_within_year(world):
    admin = world.user("a_admin")
    year = world.a.year
    term = actions.create_term(
        admin,
        year,
        name="下学期",
        start_date=year.start_date + datetime.timedelta(days=200),
        end_date=year.end_date,
    )
    assert term.year == year and audit_rows("core.term.create", term)
    with pytest.raises(InvalidInput):
        actions.create_term(
            admin,
            year,
            name="夏季",
            start_date=year.end_date,
            end_date=year.end_date + datetime.timedelta(days=30),
        )
    with pytest.raises(NotFound):
        actions.create_term(admin, world.b.year, name="X", start_date=year.start_date, end_date=year.end_date)
    with pytest.raises(InvalidInput) as exc:
        actions.update_term(admin, term, name="上学期")
    assert "name" in errors_of(exc)


def test_grade_and_class_and_head_teacher(world):
    admin = world.user("a_admin")
    grade = actions.create_grade_level(admin, world.a.school, name="九年级", order=9)
    head = Staff.objects.get(person__user=world.user("a_teacher"))
    klass = actions.create_class(admin, world.a.year, name="九年级1班", grade=grade, head_teacher=head)
    assert klass.head_teacher == head
    klass = actions.set_head_teacher(admin, klass, None)
    assert Class.objects.get(pk=klass.pk).head_teacher is None
    (row,) = audit_rows("core.class.update", klass)
    assert row.before["head_teacher"] == head.pk and row.after["head_teacher"] is None
    with pytest.raises(InvalidInput) as exc:
        actions.update_grade_level(admin, grade, name="七年级")
    assert "name" in errors_of(exc)


def test_class_refuses_other_schools_grade_and_staff(world):
    admin = world.user("a_admin")
    b_head = Staff.objects.get(person__user=world.user("b_head"))
    n = Class.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.create_class(admin, world.a.year, name="X班", grade=world.b.grade7, head_teacher=b_head)
    assert {"grade", "head_teacher"} <= set(errors_of(exc))
    assert Class.objects.count() == n


def test_set_head_teacher_out_of_scope_not_found(world):
    a_head = Staff.objects.get(person__user=world.user("a_head"))
    with pytest.raises(NotFound):
        actions.set_head_teacher(world.user("a_admin"), world.b.g7c2, a_head)


def test_subject_and_room(world):
    admin = world.user("a_admin")
    with pytest.raises(InvalidInput) as exc:
        actions.create_subject(admin, world.a.school, name="数学2", code="math")
    assert "code" in errors_of(exc)
    room = actions.create_room(admin, world.a.school, name="101", building="A楼", capacity=45)
    assert audit_rows("core.room.create", room)
    with pytest.raises(InvalidInput) as exc:
        actions.create_room(admin, world.a.school, name="101", building="A楼")
    assert "name" in errors_of(exc)
    actions.create_room(admin, world.a.school, name="101", building="B楼")
    room = actions.update_room(admin, room, capacity=50, kind=Room.Kind.LAB)
    assert Room.objects.get(pk=room.pk).kind == "lab"
    with pytest.raises(InvalidInput) as exc:
        actions.update_room(admin, room, kind="castle")
    assert "kind" in errors_of(exc)


# ---------------------------------------------------------------- staff


def test_create_staff_with_login(world):
    admin = world.user("a_admin")
    staff = actions.create_staff(
        admin,
        world.a.school,
        family_name="陈",
        given_name="老师",
        staff_number="T-900",
        phone="+86 138-0000-1234",
        create_login=True,
    )
    assert staff.person.phone == "13800001234"
    user = staff.person.user
    assert user is not None
    assert user.phone == "13800001234" and not user.has_usable_password()
    assert audit_rows("core.staff.create", staff) and audit_rows("core.person.create", staff.person)


def test_create_staff_bad_input(world):
    admin = world.user("a_admin")
    n_people = Person.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.create_staff(
            admin, world.a.school, family_name="", given_name="X", staff_number="T-head", create_login=True
        )
    errs = errors_of(exc)
    assert {"family_name", "staff_number", "phone"} <= set(errs)
    with pytest.raises(InvalidInput) as exc:
        actions.create_staff(
            admin,
            world.a.school,
            family_name="陈",
            given_name="X",
            staff_number="T-1",
            phone=world.user("a_parent").phone,
            create_login=True,
        )
    assert "phone" in errors_of(exc)
    assert Person.objects.count() == n_people


def test_update_staff_and_scope(world):
    admin = world.user("a_admin")
    staff = Staff.objects.get(person__user=world.user("a_teacher"))
    actions.update_staff(admin, staff, title="教研组长", given_name="明")
    staff.refresh_from_db()
    assert staff.title == "教研组长" and staff.person.given_name == "明"
    (row,) = audit_rows("core.staff.update", staff)
    assert row.before["title"] == "" and row.after["title"] == "教研组长"
    with pytest.raises(NotFound):
        actions.update_staff(admin, Staff.objects.get(person__user=world.user("b_teacher")), title="x")


# ---------------------------------------------------------------- students


def test_create_student_in_class(world):
    admin = world.user("a_admin")
    st = actions.create_student(
        admin,
        world.a.school,
        family_name="黄",
        given_name="小明",
        student_number="A90001",
        klass=world.a.g7c2,
        national_id="110101201201019999",
        enrolled_on=TODAY,
    )
    st.refresh_from_db()
    assert st.current_class == world.a.g7c2 and st.status == "enrolled" and st.national_id.endswith("9999")
    enr = Enrollment.objects.get(student=st)
    assert enr.klass == world.a.g7c2 and enr.start_date == TODAY and enr.end_date is None
    (row,) = audit_rows("core.student.create", st)
    assert row.after["national_id"].startswith("•••") and "9999" not in row.after["national_id"]  # redacted


def test_duplicate_student_number_in_district_refused(world):
    admin = world.user("a_admin")
    taken = world.b.students["g7c1"][0].student_number  # in the other school, same district
    n = Student.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.create_student(
            admin, world.a.school, family_name="黄", given_name="小明", student_number=taken
        )
    assert (
        errors_of(exc)["student_number"]
        == [f"Student number {taken} is already used by another student in this district."]
        or taken in errors_of(exc)["student_number"][0]
    )
    assert Student.objects.count() == n
    with pytest.raises(InvalidInput):
        actions.update_student(admin, world.a.students["g7c1"][0], student_number=taken)


def test_duplicate_number_message_in_english(world, settings):
    from django.utils import translation

    taken = world.a.students["g7c1"][1].student_number
    with translation.override("en"), pytest.raises(InvalidInput) as exc:
        actions.create_student(
            world.user("a_admin"), world.a.school, family_name="A", given_name="B", student_number=taken
        )
    with translation.override("en"):
        assert errors_of(exc)["student_number"] == [
            f"Student number {taken} is already used by another student in this district."
        ]


def test_create_student_out_of_scope(world):
    with pytest.raises(NotFound):
        actions.create_student(
            world.user("a_admin"), world.b.school, family_name="黄", given_name="X", student_number="Z1"
        )
    with pytest.raises(NotFound):  # a district admin manages the tree, not individual students
        actions.create_student(
            world.user("district_admin"),
            world.b.school,
            family_name="黄",
            given_name="X",
            student_number="Z1",
        )
    assert not Student.objects.filter(student_number="Z1").exists()
    assert not Person.objects.filter(given_name="X").exists()


def test_create_student_class_of_other_school_refused(world):
    with pytest.raises(InvalidInput) as exc:
        actions.create_student(
            world.user("a_admin"),
            world.a.school,
            family_name="黄",
            given_name="X",
            student_number="Z2",
            klass=world.b.g7c1,
        )
    assert "klass" in errors_of(exc)


def test_move_student_keeps_history(world):
    admin = world.user("a_admin")
    st = world.a.students["g7c1"][2]
    old = Enrollment.objects.get(student=st, end_date__isnull=True)
    day = timezone.localdate()
    actions.move_student(admin, st, world.a.g7c2, day)
    st.refresh_from_db()
    assert st.current_class == world.a.g7c2
    old.refresh_from_db()
    assert old.end_date == day and old.klass == world.a.g7c1
    new = Enrollment.objects.get(student=st, end_date__isnull=True)
    assert new.klass == world.a.g7c2 and new.start_date == day
    assert Enrollment.objects.filter(student=st).count() == 2
    (row,) = audit_rows("core.student.move", st)
    assert row.before["current_class"] == world.a.g7c1.pk and row.after["current_class"] == world.a.g7c2.pk
    with pytest.raises(InvalidInput) as exc:
        actions.move_student(admin, st, world.a.g7c2, day)
    assert "klass" in errors_of(exc)


def test_move_student_refusals(world):
    admin = world.user("a_admin")
    st = world.a.students["g7c1"][2]
    with pytest.raises(NotFound):
        actions.move_student(admin, world.b.students["g7c1"][0], world.b.g7c2)
    with pytest.raises(NotFound):
        actions.move_student(world.user("a_head"), st, world.a.g7c2)
    with pytest.raises(InvalidInput) as exc:
        actions.move_student(admin, st, world.b.g7c2)
    assert "klass" in errors_of(exc)
    with pytest.raises(InvalidInput) as exc:
        actions.move_student(admin, st, world.a.g7c2, world.a.year.start_date - datetime.timedelta(days=1))
    assert "date" in errors_of(exc)
    assert Enrollment.objects.filter(student=st).count() == 1


def test_move_students_is_set_based(world, django_assert_max_num_queries):
    admin = world.user("a_admin")
    students = world.a.students["g7c1"] + world.a.students["g7c2"]
    from schoolbridge.access.scope import get_scope

    get_scope(admin)  # grants loaded once per request
    with django_assert_max_num_queries(12):
        actions.move_students(admin, students, world.a.g8c1)
    assert Student.objects.filter(pk__in=[s.pk for s in students], current_class=world.a.g8c1).count() == 6
    assert Enrollment.objects.filter(klass=world.a.g8c1, end_date__isnull=True).count() == 9
    assert AuditEvent.objects.filter(action="core.student.move").count() == 6


def test_status_change_leaving_closes_enrollment(world):
    admin = world.user("a_admin")
    st = world.a.students["g8c1"][0]
    day = timezone.localdate()
    with pytest.raises(InvalidInput) as exc:
        actions.update_student(admin, st, status="transferred")
    assert "left_on" in errors_of(exc)
    actions.change_student_status(admin, st, "transferred", day)
    st.refresh_from_db()
    assert st.status == "transferred" and st.left_on == day and st.current_class is None
    assert Enrollment.objects.get(student=st).end_date == day
    (row,) = audit_rows("core.student.update", st)
    assert row.before["status"] == "enrolled" and row.after["status"] == "transferred"
    assert audit_rows("core.enrollment.close")
    # Returning: enrolled again, in a class, history kept.
    actions.change_student_status(admin, st, "enrolled", day, klass=world.a.g8c1)
    st.refresh_from_db()
    assert st.status == "enrolled" and st.left_on is None and st.current_class == world.a.g8c1
    assert Enrollment.objects.filter(student=st).count() == 2


def test_status_change_bad_input_writes_nothing(world):
    admin = world.user("a_admin")
    st = world.a.students["g8c1"][1]
    with pytest.raises(InvalidInput) as exc:
        actions.update_student(admin, st, status="expelled", left_on=timezone.localdate())
    assert "status" in errors_of(exc)
    with pytest.raises(InvalidInput) as exc:
        actions.update_student(
            admin, st, status="withdrawn", left_on=world.a.year.start_date - datetime.timedelta(1)
        )
    assert "left_on" in errors_of(exc)
    st.refresh_from_db()
    assert st.status == "enrolled" and st.current_class == world.a.g8c1
    assert not audit_rows("core.student.update")


def test_update_student_details_and_scope(world):
    admin = world.user("a_admin")
    st = world.a.students["g7c2"][0]
    actions.update_student(admin, st, given_name="新名", health_notes="peanuts")
    st.refresh_from_db()
    assert st.person.given_name == "新名" and st.health_notes == "peanuts"
    (row,) = audit_rows("core.student.update", st)
    assert row.before["health_notes"].startswith("•••") and "peanuts" not in str(row.after)
    assert row.before["health_notes"] != row.after["health_notes"]  # the change itself is visible
    with pytest.raises(NotFound):
        actions.update_student(admin, world.b.students["g7c2"][0], given_name="x")
    with pytest.raises(NotFound):
        actions.update_student(world.user("a_principal"), st, given_name="x")
    with pytest.raises(InvalidInput) as exc:
        actions.update_student(
            admin, st, family_name="", birth_date=timezone.localdate() + datetime.timedelta(3)
        )
    assert {"family_name", "birth_date"} <= set(errors_of(exc))


# ---------------------------------------------------------------- guardians


def test_create_guardian_reuses_by_phone(world):
    admin = world.user("a_admin")
    g, created = actions.create_guardian(
        admin, world.district, family_name="吴", given_name="妈妈", phone="138 0000 7777"
    )
    assert created and g.person.phone == "13800007777"
    again, created = actions.create_guardian(
        admin, world.district, family_name="Other", given_name="Name", phone="+8613800007777"
    )
    assert again.pk == g.pk and not created
    assert Guardian.objects.filter(person__phone="13800007777").count() == 1
    with pytest.raises(InvalidInput) as exc:
        actions.create_guardian(admin, world.district, family_name="吴", given_name="x", phone="")
    assert "phone" in errors_of(exc)
    with pytest.raises(NotFound):
        actions.create_guardian(
            world.user("a_teacher"), world.district, family_name="吴", given_name="x", phone="1"
        )


def test_guardianship_lifecycle_and_one_primary(world):
    admin = world.user("a_admin")
    st = world.a.students["g7c2"][1]
    gs1, created = actions.add_guardian_to_student(
        admin, st, phone="13800005555", family_name="吴", given_name="爸爸", relationship="father"
    )
    assert created and gs1.is_primary  # first guardian is primary
    gs2, _ = actions.add_guardian_to_student(
        admin,
        st,
        phone="13800006666",
        family_name="吴",
        given_name="妈妈",
        relationship="mother",
        is_primary=True,
    )
    gs1.refresh_from_db()
    assert gs2.is_primary and not gs1.is_primary
    assert Guardianship.objects.filter(student=st, is_primary=True).count() == 1
    actions.update_guardianship(admin, gs1, is_primary=True, may_pickup=False)
    assert list(Guardianship.objects.filter(student=st, is_primary=True)) == [gs1]
    first, row = audit_rows("core.guardianship.update", gs1)  # unset by gs2, then this update
    assert first.before == {"is_primary": True} and first.after == {"is_primary": False}
    assert row.before["may_pickup"] is True and row.after["may_pickup"] is False
    assert audit_rows("core.guardianship.update", gs2)
    with pytest.raises(InvalidInput):
        actions.add_guardian_to_student(admin, st, phone="13800006666", relationship="mother")
    with pytest.raises(InvalidInput) as exc:
        actions.update_guardianship(admin, gs1, relationship="alien")
    assert "relationship" in errors_of(exc)
    actions.remove_guardianship(admin, gs2)
    assert not Guardianship.objects.filter(pk=gs2.pk).exists()
    (row,) = audit_rows("core.guardianship.delete", gs2)
    assert row.before["relationship"] == "mother" and row.after is None
    assert Guardian.objects.filter(person__phone="13800006666").exists()


def test_guardianship_out_of_scope(world):
    admin = world.user("a_admin")
    b_gs = Guardianship.objects.filter(school=world.b.school).first()
    assert b_gs is not None
    with pytest.raises(NotFound):
        actions.update_guardianship(admin, b_gs, may_pickup=False)
    with pytest.raises(NotFound):
        actions.remove_guardianship(admin, b_gs.pk)
    with pytest.raises(NotFound):
        actions.add_guardian_to_student(
            admin,
            world.b.students["g8c1"][0],
            phone="13800001111",
            family_name="A",
            given_name="B",
            relationship="father",
        )
    assert Guardianship.objects.filter(pk=b_gs.pk).exists()
    assert not Person.objects.filter(phone="13800001111").exists()


def test_guardianship_signal_after_commit(world, django_capture_on_commit_callbacks):
    seen = []

    def receiver(**kw):
        seen.append(kw["change"])

    actions.guardianship_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            actions.add_guardian_to_student(
                world.user("a_admin"),
                world.a.students["g8c1"][2],
                phone="13800004444",
                family_name="A",
                given_name="B",
                relationship="father",
            )
            assert seen == []  # nothing before commit
        assert seen == ["added"]
    finally:
        actions.guardianship_changed.disconnect(receiver)


# ---------------------------------------------------------------- teaching


def test_assign_teaching(world):
    admin = world.user("a_admin")
    teacher = Staff.objects.get(person__user=world.user("a_teacher"))
    ta = actions.assign_teaching(admin, teacher, world.a.g7c2, world.a.chinese, world.a.term)
    assert audit_rows("core.teaching_assignment.create", ta)
    with pytest.raises(InvalidInput):
        actions.assign_teaching(admin, teacher, world.a.g7c2, world.a.chinese, world.a.term)
    with pytest.raises(InvalidInput) as exc:
        actions.assign_teaching(admin, teacher, world.a.g7c2, world.b.maths, world.a.term)
    assert "subject" in errors_of(exc)
    with pytest.raises(NotFound):
        actions.assign_teaching(admin, teacher, world.b.g7c2, world.b.maths, world.b.term)
    actions.unassign_teaching(admin, ta)
    assert not TeachingAssignment.objects.filter(pk=ta.pk).exists()


def test_action_is_atomic(world):
    """A failure after the first write leaves nothing behind."""
    admin = world.user("a_admin")
    n_people = Person.objects.count()
    with pytest.raises(NotFound), transaction.atomic():
        actions.create_student(
            world.user("district_admin"),
            world.a.school,
            family_name="黄",
            given_name="Y",
            student_number="ZZ9",
        )
    assert Person.objects.count() == n_people
    assert GradeLevel.objects.filter(school=world.a.school).count() == 2
    assert Term.objects.filter(school=world.a.school).count() == 1
    assert admin
