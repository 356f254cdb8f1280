import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.models import Enrollment, Guardianship, Staff, Student, Subject
from schoolbridge.testing.auth import login_verified


@pytest.fixture
def admin_client(client, world):
    login_verified(client, world.user("a_admin"))
    return client


def url(name, *args):
    return reverse(f"manage:{name}", args=args)


def test_index_redirects_school_admin_to_their_school(admin_client, world):
    r = admin_client.get("/manage/")
    assert r.status_code == 302 and r["Location"] == url("school", world.a.school.pk)


def test_district_admin_sees_both_schools(client, world):
    login_verified(client, world.user("district_admin"))
    r = client.get("/manage/")
    assert r.status_code == 200
    assert world.a.school.name in r.content.decode() and world.b.school.name in r.content.decode()
    assert client.get(url("school", world.b.school.pk)).status_code == 200


@pytest.mark.parametrize("username", ["a_teacher", "a_head", "a_principal", "a_parent", "a_student"])
def test_non_managers_get_404(client, world, username):
    login_verified(client, world.user(username))
    assert client.get("/manage/").status_code == 404
    assert client.get(url("school", world.a.school.pk)).status_code == 404
    assert client.get(url("students", world.a.school.pk)).status_code == 404


def test_anonymous_sent_to_login(client, world):
    r = client.get(url("school", world.a.school.pk))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_school_tree_page(admin_client, world, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        r = admin_client.get(url("school", world.a.school.pk))
    body = r.content.decode()
    assert r.status_code == 200
    for text in (world.a.year.name, world.a.term.name, world.a.g7c1.name, "数学", world.a.grade8.name):
        assert text in body
    assert "<h1>" in body


def test_other_school_is_404(admin_client, world):
    b = world.b
    for path in (
        url("school", b.school.pk),
        url("tree_edit", b.school.pk, "year", b.year.pk),
        url("tree_edit", world.a.school.pk, "year", b.year.pk),  # B's object under A's URL
        url("class", world.a.school.pk, b.g7c1.pk),
        url("student", world.a.school.pk, b.students["g7c1"][0].pk),
        url("student", b.school.pk, b.students["g7c1"][0].pk),
        url("staff", b.school.pk),
        url("grants", b.school.pk),
        url("tree_create", world.a.school.pk, "nonsense"),
    ):
        assert admin_client.get(path).status_code == 404, path
    gs = Guardianship.objects.filter(school=b.school).first()
    assert gs is not None
    r = admin_client.post(url("guardianship_remove", world.a.school.pk, gs.pk))
    assert r.status_code == 404 and Guardianship.objects.filter(pk=gs.pk).exists()
    r = admin_client.post(url("student_move", world.a.school.pk, b.students["g7c1"][0].pk),
                          {"klass": world.a.g7c2.pk, "date": "2030-01-01"})
    assert r.status_code == 404


def test_create_subject_via_form(admin_client, world):
    r = admin_client.post(url("tree_create", world.a.school.pk, "subject"), {"name": "物理", "code": "phy"})
    assert r.status_code == 302
    assert Subject.objects.get(school=world.a.school, code="PHY").name == "物理"
    assert AuditEvent.objects.filter(action="core.subject.create", actor=world.user("a_admin")).exists()


def test_form_shows_field_errors_and_writes_nothing(admin_client, world):
    n = Subject.objects.count()
    r = admin_client.post(url("tree_create", world.a.school.pk, "subject"), {"name": "数学二", "code": "MATH"})
    assert r.status_code == 200
    form = r.context["form"]
    assert "code" in form.errors
    assert Subject.objects.count() == n
    assert 'aria-invalid="true"' in r.content.decode()


def test_edit_year_and_term_dates(admin_client, world):
    year = world.a.year
    r = admin_client.post(url("tree_edit", world.a.school.pk, "year", year.pk),
                          {"name": "新学年", "start_date": year.start_date.isoformat(),
                           "end_date": year.end_date.isoformat()})
    assert r.status_code == 302
    year.refresh_from_db()
    assert year.name == "新学年"
    r = admin_client.post(url("tree_edit", world.a.school.pk, "term", world.a.term.pk),
                          {"name": "X", "start_date": "2000-01-02", "end_date": "2000-01-01"})
    assert r.status_code == 200 and "end_date" in r.context["form"].errors


def test_class_head_teacher_choices_are_own_school(admin_client, world):
    r = admin_client.get(url("tree_edit", world.a.school.pk, "class", world.a.g7c2.pk))
    choices = set(r.context["form"].fields["head_teacher"].queryset.values_list("school_id", flat=True))
    assert choices == {world.a.school.pk}
    teacher = Staff.objects.get(person__user=world.user("a_teacher"))
    r = admin_client.post(url("tree_edit", world.a.school.pk, "class", world.a.g7c2.pk),
                          {"name": world.a.g7c2.name, "grade": world.a.grade7.pk, "head_teacher": teacher.pk})
    assert r.status_code == 302
    world.a.g7c2.refresh_from_db()
    assert world.a.g7c2.head_teacher == teacher
    b_head = Staff.objects.get(person__user=world.user("b_head"))
    r = admin_client.post(url("tree_edit", world.a.school.pk, "class", world.a.g7c2.pk),
                          {"name": world.a.g7c2.name, "grade": world.a.grade7.pk, "head_teacher": b_head.pk})
    assert r.status_code == 200 and "head_teacher" in r.context["form"].errors


def test_assign_teacher_on_class_page(admin_client, world):
    teacher = Staff.objects.get(person__user=world.user("a_teacher"))
    r = admin_client.post(url("class", world.a.school.pk, world.a.g7c2.pk),
                          {"teacher": teacher.pk, "subject": world.a.chinese.pk, "term": world.a.term.pk})
    assert r.status_code == 302
    assert teacher.assignments.filter(klass=world.a.g7c2, subject=world.a.chinese).exists()


def test_staff_create_and_list(admin_client, world, django_assert_max_num_queries):
    r = admin_client.post(url("staff_create", world.a.school.pk), {
        "family_name": "陈", "given_name": "老师", "gender": "F", "staff_number": "T-77", "phone": "13800007070",
        "create_login": "on"})
    assert r.status_code == 302
    staff = Staff.objects.get(staff_number="T-77")
    assert staff.person.user is not None
    assert staff.person.user.phone == "13800007070"
    with django_assert_max_num_queries(15):
        r = admin_client.get(url("staff", world.a.school.pk))
    assert "陈老师" in r.content.decode()
    r = admin_client.post(url("staff_create", world.a.school.pk), {
        "family_name": "陈", "given_name": "老师", "gender": "F", "staff_number": "T-77", "create_login": "on"})
    assert r.status_code == 200
    assert {"staff_number", "phone"} <= set(r.context["form"].errors)


def test_student_list_search_filter_no_n_plus_one(admin_client, world, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        r = admin_client.get(url("students", world.a.school.pk))
    page = r.context["page"]
    assert page.paginator.count == 9
    assert world.b.students["g7c1"][0].student_number not in r.content.decode()
    first = world.a.students["g7c2"][0]
    r = admin_client.get(url("students", world.a.school.pk), {"q": first.person.full_name})
    assert [s.pk for s in r.context["page"]] == [first.pk]
    r = admin_client.get(url("students", world.a.school.pk), {"q": first.student_number})
    assert [s.pk for s in r.context["page"]] == [first.pk]
    r = admin_client.get(url("students", world.a.school.pk), {"klass": world.a.g8c1.pk})
    assert {s.pk for s in r.context["page"]} == {s.pk for s in world.a.students["g8c1"]}
    # HTMX live search returns only the results fragment.
    r = admin_client.get(url("students", world.a.school.pk), {"q": "zzz"}, HTTP_HX_REQUEST="true",
                         HTTP_HX_TARGET="student-results")
    assert "<html" not in r.content.decode() and r.context["page"].paginator.count == 0


def test_student_list_paginates(admin_client, world):
    from schoolbridge.core.models import Person

    people = Person.objects.bulk_create(
        [Person(district=world.district, family_name="钱", given_name=f"{i}") for i in range(30)]
    )
    Student.objects.bulk_create(
        [Student(district=world.district, school=world.a.school, person=p, student_number=f"P{i:03d}")
         for i, p in enumerate(people)]
    )
    r = admin_client.get(url("students", world.a.school.pk))
    assert r.context["page"].paginator.num_pages == 2 and len(r.context["page"]) == 25
    r = admin_client.get(url("students", world.a.school.pk), {"page": 2})
    assert len(r.context["page"]) == 14


def test_student_create_duplicate_number(admin_client, world):
    taken = world.b.students["g8c1"][0].student_number
    r = admin_client.post(url("student_create", world.a.school.pk), {
        "family_name": "黄", "given_name": "一", "gender": "M", "student_number": taken,
        "enrolled_on": "2030-01-01"})
    assert r.status_code == 200
    assert taken in " ".join(r.context["form"].errors["student_number"])
    r = admin_client.post(url("student_create", world.a.school.pk), {
        "family_name": "黄", "given_name": "一", "gender": "M", "student_number": "NEW1",
        "klass": world.a.g7c2.pk, "enrolled_on": timezone.localdate().isoformat()})
    st = Student.objects.get(student_number="NEW1")
    assert r.status_code == 302 and r["Location"] == url("student", world.a.school.pk, st.pk)
    assert st.current_class == world.a.g7c2


def test_student_page_move_status_and_guardians(admin_client, world):
    school = world.a.school.pk
    st = world.a.students["g7c1"][0]
    r = admin_client.get(url("student", school, st.pk))
    assert r.status_code == 200
    assert "刘" in r.content.decode()  # existing guardian listed
    today = timezone.localdate()
    r = admin_client.post(url("student_move", school, st.pk), {"klass": world.a.g7c2.pk, "date": today.isoformat()})
    assert r.status_code == 302
    assert Enrollment.objects.filter(student=st).count() == 2
    r = admin_client.post(url("student_move", school, st.pk), {"klass": world.a.g7c2.pk, "date": today.isoformat()})
    assert r.status_code == 400 and "klass" in r.context["move"].errors
    # Add a second guardian as primary: only one primary remains.
    r = admin_client.post(url("guardian_add", school, st.pk), {
        "phone": "13800002222", "family_name": "赵", "given_name": "爸爸", "relationship": "father",
        "is_primary": "on", "may_pickup": "on", "may_see_records": "on", "receives_notices": "on"})
    assert r.status_code == 302
    assert Guardianship.objects.filter(student=st, is_primary=True).get().guardian.person.phone == "13800002222"
    gs = Guardianship.objects.get(student=st, guardian__person__phone="13800002222")
    r = admin_client.post(url("guardianship_edit", school, gs.pk), {f"g{gs.pk}-relationship": "grandfather"})
    gs.refresh_from_db()
    assert r.status_code == 302 and gs.relationship == "grandfather" and not gs.may_pickup and not gs.is_primary
    r = admin_client.post(url("guardian_add", school, st.pk), {"phone": "", "relationship": "father"})
    assert r.status_code == 400 and "phone" in r.context["add_guardian"].errors
    r = admin_client.post(url("guardianship_remove", school, gs.pk))
    assert r.status_code == 302 and not Guardianship.objects.filter(pk=gs.pk).exists()
    # Leaving.
    r = admin_client.post(url("student_status", school, st.pk), {"status": "graduated", "date": ""})
    assert r.status_code == 400 and "date" in r.context["status"].errors
    r = admin_client.post(url("student_status", school, st.pk), {"status": "graduated", "date": today.isoformat()})
    st.refresh_from_db()
    assert r.status_code == 302 and st.status == "graduated" and st.current_class is None


def test_student_details_keep_sensitive_when_blank(admin_client, world):
    st = world.a.students["g8c1"][2]
    old_id = st.national_id
    r = admin_client.post(url("student", world.a.school.pk, st.pk), {
        "family_name": "张", "given_name": "改名", "gender": "X", "student_number": st.student_number,
        "national_id": "", "health_notes": ""})
    assert r.status_code == 302
    st.refresh_from_db()
    assert st.person.given_name == "改名" and st.national_id == old_id and st.health_notes


def test_grants_page_grant_and_revoke(admin_client, world):
    school = world.a.school.pk
    r = admin_client.get(url("grants", school))
    assert r.status_code == 200
    roles = {v for v, _ in r.context["form"].fields["role"].choices}
    assert roles == {"school_admin", "principal", "grade_director"}
    assert "include_records" not in r.context["form"].fields
    teacher = world.user("a_teacher")
    r = admin_client.post(url("grants", school), {"who": teacher.username, "role": "grade_director",
                                                  "grade": world.a.grade8.pk})
    assert r.status_code == 302
    grant = RoleGrant.objects.get(user=teacher)
    r = admin_client.post(url("grants", school), {"who": teacher.username, "role": "district_admin"})
    assert r.status_code == 400 and "role" in r.context["form"].errors  # not even offered
    r = admin_client.post(url("grants", school), {"who": "nobody-here", "role": "principal"})
    assert r.status_code == 400 and "who" in r.context["form"].errors
    r = admin_client.post(url("grant_revoke", school, grant.pk))
    assert r.status_code == 302 and not RoleGrant.objects.filter(pk=grant.pk).exists()
    b_grant = RoleGrant.objects.get(user=world.user("b_principal"))
    assert admin_client.post(url("grant_revoke", school, b_grant.pk)).status_code == 404
    own = RoleGrant.objects.get(user=world.user("a_admin"))
    assert admin_client.post(url("grant_revoke", school, own.pk)).status_code == 400


def test_district_admin_grants_district_role_with_records(client, world):
    login_verified(client, world.user("district_admin"))
    r = client.post(url("grants", world.b.school.pk), {"who": world.user("b_head").username,
                                                       "role": "district_officer", "include_records": "on"})
    assert r.status_code == 302
    g = RoleGrant.objects.get(user=world.user("b_head"))
    assert g.role == "district_officer" and g.school is None and g.include_records


def test_english_labels(admin_client, world):
    admin_client.cookies["sb_lang"] = "en"
    r = admin_client.get(url("students", world.a.school.pk))
    assert "Search by name or student number" in r.content.decode()


def test_dates_in_forms_are_iso(admin_client, world):
    r = admin_client.get(url("tree_edit", world.a.school.pk, "year", world.a.year.pk))
    assert f'value="{world.a.year.start_date.isoformat()}"' in r.content.decode()
    assert isinstance(world.a.year.start_date, datetime.date)
