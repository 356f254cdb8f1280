import pytest

from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound, Refused
from schoolbridge.core.models import Enrollment, Guardian, Guardianship, Person, Student
from schoolbridge.imports import actions
from schoolbridge.imports.models import ImportBatch, ImportRow, ReviewItem
from schoolbridge.notify.models import Notification

from .helpers import ROWS, office_csv, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    return world.user("a_admin")


def test_students_guardians_and_classes_commit_and_roll_back(world, admin):
    school = world.a.school
    batch = run(admin, school, office_csv(ROWS))
    assert batch.status == "previewed", batch.errors
    assert batch.mapping["student_number"] == "学号" and batch.mapping["guardian_phone"] == "家长电话"
    assert batch.counts["create"] == 3 and batch.counts["error"] == 0
    assert batch.counts["guardians_new"] == 2  # the two siblings share their father
    students_before, audit_before = Student.objects.count(), AuditEvent.objects.count()

    batch = actions.commit(admin, batch.pk)
    assert batch.status == "committed"
    assert batch.counts["committed"]["created"] == 3 and batch.counts["committed"]["guardians_created"] == 2
    assert Student.objects.count() == students_before + 3
    ming = Student.objects.get(student_number="N001")
    hong = Student.objects.get(student_number="N002")
    nana = Student.objects.get(student_number="N003")
    assert (ming.person.family_name, ming.person.given_name, ming.person.gender) == ("王", "小明", "M")
    assert str(ming.person.birth_date) == "2013-03-08" and str(hong.person.birth_date) == "2014-05-01"
    assert (nana.person.family_name, nana.person.given_name) == ("欧阳", "娜娜")
    assert (
        ming.current_class == world.a.g7c1
        and hong.current_class == world.a.g7c2
        and nana.current_class == world.a.g7c1
    )
    assert Enrollment.objects.filter(student=ming, klass=world.a.g7c1, end_date__isnull=True).exists()
    father = Guardian.objects.get(person__phone="13800000001")
    assert set(father.guardianships.values_list("student__student_number", flat=True)) == {"N001", "N002"}
    assert Guardianship.objects.get(student=nana).relationship == "mother"
    assert AuditEvent.objects.filter(action="imports.batch.commit", object_id=str(batch.pk)).count() == 1
    assert AuditEvent.objects.filter(action="core.student.create").count() == 3
    assert Notification.objects.filter(user=admin, kind="imports").exists()

    batch = actions.rollback(admin, batch)
    assert batch.status == "rolled_back"
    assert Student.objects.count() == students_before
    assert not Guardian.objects.filter(person__phone__in=["13800000001", "13800000003"]).exists()
    assert not Person.objects.filter(family_name="欧阳").exists()
    assert AuditEvent.objects.filter(action="imports.batch.rollback").count() == 1
    assert AuditEvent.objects.count() > audit_before
    with pytest.raises(Refused):
        actions.rollback(admin, batch)


def test_running_the_same_file_again_changes_nothing(world, admin):
    data = office_csv(ROWS)
    actions.commit(admin, run(admin, world.a.school, data).pk)
    core_audit = AuditEvent.objects.filter(action__startswith="core.").count()
    again = run(admin, world.a.school, data)
    assert again.counts == {
        **again.counts,
        "create": 0,
        "update": 0,
        "unchanged": 3,
        "conflict": 0,
        "error": 0,
    }
    assert again.counts["guardians_new"] == 0
    again = actions.commit(admin, again.pk)
    assert again.status == "committed" and again.counts["committed"]["created"] == 0
    assert AuditEvent.objects.filter(action__startswith="core.").count() == core_audit


def test_updates_field_by_field_and_rollback_restores(world, admin):
    existing = world.a.students["g7c1"][0]
    rows = [
        [existing.student_number, "张新名", "女", "2012-09-01", "七年级2班", "李妈妈", "13900000077", "妈妈"]
    ]
    batch = run(admin, world.a.school, office_csv(rows))
    row = ImportRow.objects.get(batch=batch)
    assert row.action == "update" and row.match["by"] == "key"
    assert row.changes["given_name"] == [existing.person.given_name, "新名"]
    assert row.changes["klass"] == [world.a.g7c1.pk, world.a.g7c2.pk]
    assert row.changes["guardians"] == [None, ["13900000077"]]
    actions.commit(admin, batch.pk)
    existing.refresh_from_db()
    existing.person.refresh_from_db()
    assert existing.person.given_name == "新名" and existing.current_class == world.a.g7c2
    assert existing.guardianships.filter(guardian__person__phone="13900000077").exists()
    actions.rollback(admin, batch.pk)
    existing.refresh_from_db()
    existing.person.refresh_from_db()
    assert existing.person.given_name == "a" + "g7c11" and existing.current_class == world.a.g7c1
    assert Enrollment.objects.get(student=existing, end_date__isnull=True).klass == world.a.g7c1
    assert not existing.guardianships.filter(guardian__person__phone="13900000077").exists()


def test_bad_rows_are_located_and_the_user_chooses(world, admin):
    rows = [
        ["N100", "赵一", "男", "2013-01-01", "七年级1班", "", "", ""],
        ["N101", "赵二", "外星", "2013-13-01", "九年级9班", "赵爸", "12345", "表哥哥"],
        ["N100", "赵三", "男", "", "", "", "", ""],
        [world.b.students["g7c1"][0].student_number, "钱四", "男", "", "", "", "", ""],
    ]
    batch = run(admin, world.a.school, office_csv(rows))
    assert batch.counts["error"] == 4 and batch.counts["create"] == 0
    errs = {(r.number, e["column"]): e for r in ImportRow.objects.filter(batch=batch) for e in r.errors}
    assert errs[(3, "性别")]["value"] == "外星"
    assert errs[(3, "出生日期")]["message"] == "No such date"
    assert errs[(3, "班级")]["params"] == {"value": "九年级9班"}
    assert (3, "家长电话") in errs and (3, "与学生关系") in errs
    assert errs[(2, "学号")]["params"] == {"value": "N100", "other": 4}
    assert errs[(4, "学号")]["params"] == {"value": "N100", "other": 2}
    assert "another school" in errs[(5, "学号")]["message"]
    # Holding keeps everything out; the batch can still be committed later.
    actions.hold(admin, batch)
    assert ImportBatch.objects.get(pk=batch.pk).status == "held"
    before = Student.objects.count()
    with pytest.raises(Refused):
        actions.mark_committing(admin, batch, include_errors=False)
    actions.commit(admin, batch.pk, proceed_with_valid=True)
    assert Student.objects.count() == before


def test_proceed_with_the_valid_rows(world, admin):
    rows = [ROWS[0], ["N102", "孙五", "男", "2013-01-01", "不存在的班", "", "", ""]]
    batch = run(admin, world.a.school, office_csv(rows))
    assert batch.counts["create"] == 1 and batch.counts["error"] == 1
    batch = actions.commit(admin, batch.pk, proceed_with_valid=True)
    assert Student.objects.filter(student_number="N001").exists()
    assert not Student.objects.filter(student_number="N102").exists()


def test_a_refused_row_fails_the_whole_batch(world, admin):
    batch = run(admin, world.a.school, office_csv(ROWS))
    # Someone takes a number between preview and commit: the core action refuses row 3.
    actions.commit(admin, run(admin, world.a.school, office_csv([ROWS[1]])).pk)
    Student.objects.filter(student_number="N002").update(student_number="N003")
    before = Student.objects.count()
    batch = actions.commit(admin, batch.pk)
    assert batch.status == "failed"
    assert batch.errors[0]["params"]["row"] in (3, 4)
    assert Student.objects.count() == before  # nothing from the batch
    assert not Student.objects.filter(student_number="N001").exists()


def test_missing_required_column(world, admin):
    data = office_csv([["王小明", "男"]], header=["姓名", "性别"])
    from schoolbridge.imports.sources.csv import read_csv

    batch = actions.stage(admin, world.a.school, "students", read_csv(data))
    with pytest.raises(InvalidInput) as exc:
        actions.set_mapping(admin, batch, {"name": "姓名"})
    assert "student_number" in exc.value.message_dict


def test_fuzzy_match_goes_to_review_and_nothing_merges_by_itself(world, admin):
    existing = world.a.students["g7c2"][0]
    name = existing.person.full_name
    rows = [["NEW9", name, "", "", "", "", "", ""]]
    batch = run(admin, world.a.school, office_csv(rows))
    row = ImportRow.objects.get(batch=batch)
    assert row.action == "conflict" and row.match["id"] == existing.pk
    assert row.match["confidence"] < 0.95 and "same name" in row.match["reason"]
    item = ReviewItem.objects.get(batch=batch)
    before = Student.objects.count()
    actions.commit(admin, batch.pk)  # undecided: skipped
    assert Student.objects.count() == before
    existing.refresh_from_db()
    assert existing.student_number != "NEW9"

    batch = run(admin, world.a.school, office_csv(rows))
    item = ReviewItem.objects.get(batch=batch)
    actions.decide(admin, item, "same")
    actions.commit(admin, batch.pk)
    existing.refresh_from_db()
    assert existing.student_number == "NEW9" and Student.objects.count() == before


def test_confident_fuzzy_match_updates(world, admin):
    existing = world.a.students["g7c1"][0]  # has a_parent as guardian
    existing.person.birth_date = "2013-04-04"
    existing.person.save()
    phone = "13911112222"
    Person.objects.filter(pk=Guardian.objects.get(guardianships__student=existing).person_id).update(
        phone=phone
    )
    rows = [["RENUM1", existing.person.full_name, "", "2013-04-04", "", "刘家长", phone, "母亲"]]
    row = ImportRow.objects.get(batch=run(admin, world.a.school, office_csv(rows)))
    assert row.action == "update" and row.match["confidence"] >= 0.95
    assert row.changes == {"student_number": [existing.student_number, "RENUM1"]}


def test_staff_import(world, admin):
    header = ["工号", "姓名", "性别", "手机", "职务"]
    data = office_csv([["T900", "陈老师", "女", "13700000001", "语文教师"], ["T-head", "王老师", "男", "", "班主任"]],
                      encoding="utf-8-sig", header=header)  # fmt: skip
    batch = run(admin, world.a.school, data, target="staff")
    assert batch.counts["create"] == 1 and batch.counts["update"] == 1, batch.counts
    batch = actions.commit(admin, batch.pk)
    from schoolbridge.core.models import Staff

    assert Staff.objects.get(school=world.a.school, staff_number="T900").person.phone == "13700000001"
    assert Staff.objects.get(school=world.a.school, staff_number="T-head").title == "班主任"
    actions.rollback(admin, batch)
    assert not Staff.objects.filter(staff_number="T900").exists()
    assert Staff.objects.get(school=world.a.school, staff_number="T-head").title == ""


@pytest.mark.parametrize("username", ["a_teacher", "a_head", "b_admin", "a_parent"])
def test_only_the_school_managers(world, username):
    user = world.user(username)
    from schoolbridge.imports.sources.csv import read_csv

    with pytest.raises(NotFound):
        actions.stage(user, world.a.school, "students", read_csv(office_csv(ROWS)))
    batch = run(world.user("a_admin"), world.a.school, office_csv(ROWS))
    with pytest.raises(NotFound):
        actions.commit(user, batch.pk)


def test_a_new_guardian_needs_a_name_a_known_one_does_not(world, admin):
    known = Guardian.objects.filter(person__user=world.user("a_parent")).get()
    known.person.phone = "13912340000"
    known.person.save()
    rows = [
        ["N300", "周一", "", "", "", "", "13700000000", ""],
        ["N301", "周二", "", "", "", "", "13912340000", "母亲"],
    ]
    batch = run(admin, world.a.school, office_csv(rows))
    r300, r301 = ImportRow.objects.filter(batch=batch).order_by("number")
    assert r300.action == "error" and r300.errors[0]["params"] == {"value": "13700000000"}
    assert r301.action == "create"
    actions.commit(admin, batch.pk)
    assert Student.objects.get(student_number="N301").guardianships.get().guardian == known


def test_a_crashed_job_leaves_a_failed_batch_not_a_spinner(world, admin, monkeypatch):
    from schoolbridge.imports import pipeline, tasks

    batch = run(admin, world.a.school, office_csv(ROWS))
    actions.mark_validating(admin, batch)

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(pipeline, "evaluate", boom)
    with pytest.raises(RuntimeError):
        tasks.check_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == "failed" and "unexpectedly" in batch.errors[0]["message"]


def test_a_long_check_rings_the_bell(world, admin, monkeypatch):
    monkeypatch.setattr(actions, "NOTIFY_CHECKED_FROM", 2)
    run(admin, world.a.school, office_csv(ROWS))
    n = Notification.objects.get(user=admin, kind="imports")
    assert "create: 3" in n.body


def test_rollback_refused_when_created_records_are_in_use(world, admin):
    import datetime

    from django.utils import timezone

    from schoolbridge.accounts.models import BindingCode

    batch = actions.commit(admin, run(admin, world.a.school, office_csv(ROWS)).pk)
    student = Student.objects.get(student_number="N003")
    BindingCode.objects.create(district=world.district, school=world.a.school, student=student,
                               expires_at=timezone.now() + datetime.timedelta(days=3))  # fmt: skip
    with pytest.raises(Refused) as exc:
        actions.rollback(admin, batch)
    assert "binding" in str(exc.value.message).lower() or "绑定" in str(exc.value.message)
    assert Student.objects.filter(student_number__in=["N001", "N002", "N003"]).count() == 3
    assert ImportBatch.objects.get(pk=batch.pk).status == "committed"


def test_staff_rollback_refused_once_a_created_teacher_heads_a_class(world, admin):
    from schoolbridge.core.models import Staff

    data = office_csv(
        [["T901", "吴老师", "女", "13700000002", ""]], header=["工号", "姓名", "性别", "手机", "职务"]
    )
    batch = actions.commit(admin, run(admin, world.a.school, data, target="staff").pk)
    world.a.g7c2.head_teacher = Staff.objects.get(staff_number="T901")
    world.a.g7c2.save()
    with pytest.raises(Refused):
        actions.rollback(admin, batch)
    assert Staff.objects.filter(staff_number="T901").exists()


def test_a_district_admin_without_records_imports_the_tree_not_the_students(world):
    from schoolbridge.imports.sources.csv import read_csv

    district_admin = world.user("district_admin")
    with pytest.raises(NotFound):
        actions.stage(district_admin, world.a.school, "students", read_csv(office_csv(ROWS)))
    batch = run(world.user("a_admin"), world.a.school, office_csv(ROWS))
    with pytest.raises(NotFound):
        actions.commit(district_admin, batch.pk)
    data = office_csv([["七年级9班", "七年级", ""]], header=["班级", "年级", "班主任"])
    assert run(district_admin, world.a.school, data, target="classes").counts["create"] == 1
