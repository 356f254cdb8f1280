import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from schoolbridge.access.scope import forget_scope, get_scope
from schoolbridge.accounts.actions import (
    bind_guardian,
    invite_guardian_by_phone,
    issue_binding_codes,
    register_guardian,
)
from schoolbridge.accounts.models import BindingCode, User
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound
from schoolbridge.core.models import Guardian, Guardianship, Person
from schoolbridge.notify.sms import read_outbox

PASSWORD = "Lantern-Harbor-42"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def code_error(exc: ValidationError) -> str:
    return " ".join(exc.message_dict["code"])


def new_guardian(phone="13811112222", family="陈", given="敏"):
    return register_guardian(phone, PASSWORD, family, given)


# --- issuing -------------------------------------------------------------------------------------


def test_head_teacher_and_admin_issue_codes_for_their_students(world):
    students = world.a.students["g7c1"]
    codes = issue_binding_codes(world.user("a_head"), students, relationship="mother", valid_days=7)
    assert len(codes) == 3
    assert {c.student_id for c in codes} == {s.pk for s in students}
    c = codes[0]
    assert c.school_id == world.a.school.pk and c.district_id == world.district.pk
    assert len(c.code) == 8 and c.used_at is None
    assert c.expires_at - timezone.now() > datetime.timedelta(days=6)
    assert AuditEvent.objects.filter(action="accounts.binding_code.issue", object_id=str(c.pk)).exists()
    event = AuditEvent.objects.get(action="accounts.binding_code.issue", object_id=str(c.pk))
    assert c.code not in str(event.after)  # the code itself is never written to the log
    assert issue_binding_codes(world.user("a_admin"), world.a.students["g8c1"])


@pytest.mark.parametrize("actor", ["a_teacher", "a_parent", "b_head", "b_admin", "district_officer"])
def test_others_cannot_issue_codes(world, actor):
    with pytest.raises(NotFound):
        issue_binding_codes(world.user(actor), [world.a.students["g7c1"][0]])
    assert not BindingCode.objects.exists()


def test_all_or_nothing(world):
    mixed = [world.a.students["g7c1"][0], world.b.students["g7c1"][0]]
    with pytest.raises(NotFound):
        issue_binding_codes(world.user("a_head"), mixed)
    assert not BindingCode.objects.exists()


def test_bad_relationship_refused(world):
    with pytest.raises(InvalidInput) as exc:
        issue_binding_codes(world.user("a_head"), [world.a.students["g7c1"][0]], relationship="uncle-ish")
    assert "relationship" in exc.value.message_dict


# --- binding -------------------------------------------------------------------------------------


def test_bind_creates_person_guardian_and_guardianship(world):
    student = world.a.students["g7c1"][2]
    (code,) = issue_binding_codes(world.user("a_head"), [student], relationship="father")
    user = new_guardian()
    assert not Person.objects.filter(user=user).exists()
    typed = f" {code.code[:4].lower()}-{code.code[4:].lower()} "
    gs = bind_guardian(user, typed)
    assert gs.student == student
    assert gs.relationship == "father"
    assert gs.school_id == student.school_id and gs.district_id == student.district_id
    person = Person.objects.get(user=user)
    assert person.family_name == "陈" and person.given_name == "敏" and person.district_id == student.district_id
    assert Guardian.objects.get(person=person) == gs.guardian
    code.refresh_from_db()
    assert code.used_at is not None and code.used_by == user
    assert AuditEvent.objects.filter(action="core.guardianship.create", object_id=str(gs.pk), actor=user).exists()
    assert AuditEvent.objects.filter(action="accounts.binding_code.use", object_id=str(code.pk)).exists()
    # The new guardian now sees the child.
    assert list(get_scope(user).queryset("student.view")) == [student]


def test_relationship_typed_by_guardian_wins(world):
    (code,) = issue_binding_codes(world.user("a_head"), [world.a.students["g7c1"][2]], relationship="father")
    gs = bind_guardian(new_guardian(), code.code, relationship="grandmother")
    assert gs.relationship == "grandmother"


def test_no_such_code(world):
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(new_guardian(), "ZZZZ-ZZZZ")
    assert "No such code — check the letters" in code_error(exc.value)


def test_expired_code_names_the_date(world):
    (code,) = issue_binding_codes(world.user("a_head"), [world.a.students["g7c1"][2]])
    code.expires_at = timezone.make_aware(datetime.datetime(2025, 3, 14, 12, 0))
    code.save()
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(new_guardian(), code.code)
    message = code_error(exc.value)
    assert "This code expired on" in message and "2025" in message and "14" in message
    assert "ask the school for a new one" in message
    assert not Guardianship.objects.filter(guardian__person__user__phone="13811112222").exists()


def test_used_code(world):
    (code,) = issue_binding_codes(world.user("a_head"), [world.a.students["g7c1"][2]])
    bind_guardian(new_guardian(), code.code)
    other = new_guardian("13811113333", "黄", "伟")
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(other, code.code)
    assert "already been used — each guardian needs their own code" in code_error(exc.value)
    assert not Person.objects.filter(user=other).exists()  # nothing half-written


def test_phone_mismatch(world):
    code = invite_guardian_by_phone(world.user("a_head"), world.a.students["g7c1"][2], "+86 138-1111-2222", "mother")
    assert code.phone == "13811112222"
    stranger = new_guardian("13899990000")
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(stranger, code.code)
    assert "different phone number" in code_error(exc.value)
    gs = bind_guardian(new_guardian("13811112222"), code.code)
    assert gs.relationship == "mother"


def test_already_bound_to_that_child(world):
    parent = world.user("a_parent")
    child = world.a.students["g7c1"][0]
    (code,) = issue_binding_codes(world.user("a_head"), [child])
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(parent, code.code)
    assert "already bound to this child" in code_error(exc.value)
    code.refresh_from_db()
    assert code.used_at is None


def test_second_guardian_binds_with_own_code(world):
    child = world.a.students["g7c2"][0]
    first_code, second_code = issue_binding_codes(world.user("a_admin"), [child, child])
    mum = new_guardian("13811112222")
    dad = new_guardian("13811113333", "黄", "伟")
    g1 = bind_guardian(mum, first_code.code, "mother")
    with pytest.raises(InvalidInput):
        bind_guardian(dad, first_code.code, "father")
    g2 = bind_guardian(dad, second_code.code, "father")
    assert g1.guardian != g2.guardian
    assert g1.is_primary and not g2.is_primary
    assert set(Guardianship.objects.filter(student=child).values_list("relationship", flat=True)) == {
        "mother",
        "father",
    }


def test_guardian_across_two_schools_sees_both_children(world):
    in_a = world.a.students["g8c1"][0]
    in_b = world.b.students["g8c1"][1]
    (code_a,) = issue_binding_codes(world.user("a_admin"), [in_a])
    (code_b,) = issue_binding_codes(world.user("b_admin"), [in_b])
    user = new_guardian()
    bind_guardian(user, code_a.code, "mother")
    bind_guardian(user, code_b.code, "mother")
    assert Guardian.objects.filter(person__user=user).count() == 1
    forget_scope(user)
    scope = get_scope(user)
    assert set(scope.queryset("student.view")) == {in_a, in_b}
    assert {g.school_id for g in scope.grants_of("guardian")} == {world.a.school.pk, world.b.school.pk}
    assert not scope.allows("student.view", world.a.students["g8c1"][1])


def test_existing_teacher_binds_as_guardian(world):
    """A teacher with a Person already becomes a guardian through that same Person."""
    teacher = world.user("a_teacher")
    person = Person.objects.get(user=teacher)
    (code,) = issue_binding_codes(world.user("b_admin"), [world.b.students["g7c2"][0]])
    gs = bind_guardian(teacher, code.code, "father")
    assert gs.guardian.person == person
    assert get_scope(teacher).has_role("subject_teacher", "guardian")


def test_wrong_codes_are_limited(world):
    user = new_guardian()
    for _ in range(10):
        with pytest.raises(InvalidInput):
            bind_guardian(user, "ZZZZZZZZ")
    (code,) = issue_binding_codes(world.user("a_head"), [world.a.students["g7c1"][2]])
    with pytest.raises(InvalidInput) as exc:
        bind_guardian(user, code.code)
    assert "Too many wrong codes" in code_error(exc.value)


def test_invite_sends_sms_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        code = invite_guardian_by_phone(world.user("a_head"), world.a.students["g7c1"][2], "13811112222", "father")
        assert read_outbox() == []  # nothing leaves before commit
    assert len(callbacks) == 1
    (sms,) = read_outbox()
    assert sms["to"] == "13811112222"
    assert f"{code.code[:4]}-{code.code[4:]}" in sms["text"]
    assert world.a.school.name in sms["text"]


def test_invite_out_of_scope_sends_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(NotFound):
        invite_guardian_by_phone(world.user("b_head"), world.a.students["g7c1"][2], "13811112222", "father")
    assert read_outbox() == []


def test_invite_needs_a_phone(world):
    with pytest.raises(InvalidInput) as exc:
        invite_guardian_by_phone(world.user("a_head"), world.a.students["g7c1"][2], "call me", "father")
    assert "phone" in exc.value.message_dict


# --- registration --------------------------------------------------------------------------------


def test_register_normalises_phone_and_refuses_taken(world):
    user = register_guardian("+86 138 1111 2222", PASSWORD, "陈", "敏")
    assert user.phone == "13811112222" and user.username == "13811112222"
    assert user.check_password(PASSWORD)
    with pytest.raises(InvalidInput) as exc:
        register_guardian("138-1111-2222", PASSWORD, "陈", "敏")
    assert "already exists" in " ".join(exc.value.message_dict["phone"])
    with pytest.raises(InvalidInput) as exc:
        register_guardian(world.user("a_parent").phone, PASSWORD, "刘", "")
    assert "phone" in exc.value.message_dict


def test_register_field_errors(world):
    with pytest.raises(InvalidInput) as exc:
        register_guardian("hello", "123", "", "")
    errors = exc.value.message_dict
    assert set(errors) >= {"phone", "password", "family_name"}
    assert User.objects.count() == len(world.users)


# --- pages ---------------------------------------------------------------------------------------


def test_register_then_bind_pages_carry_the_code(client, world):
    child = world.a.students["g7c1"][2]
    (code,) = issue_binding_codes(world.user("a_head"), [child], relationship="grandmother")
    page = client.get(reverse("register") + f"?code={code.code}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{code.code}"' in html
    for field in ("phone", "family_name", "given_name", "password1", "password2"):
        assert f'<label for="id_{field}">' in html
    response = client.post(
        reverse("register"),
        {
            "phone": "138 1111 2222",
            "family_name": "陈",
            "given_name": "敏",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "code": code.code,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("bind") + f"?code={code.code}"
    bind_page = client.get(response["Location"])
    assert f'value="{code.code}"' in bind_page.content.decode()
    done = client.post(reverse("bind"), {"code": code.code, "relationship": ""})
    assert done.status_code == 200
    html = done.content.decode()
    assert child.person.full_name in html
    assert world.a.school.name in html
    assert Guardianship.objects.get(student=child, guardian__person__user__phone="13811112222").relationship == (
        "grandmother"
    )


def test_register_page_shows_field_errors(client, world):
    response = client.post(
        reverse("register"),
        {"phone": world.user("a_parent").phone, "family_name": "刘", "password1": PASSWORD, "password2": "other"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The two passwords are not the same." in html
    assert 'aria-invalid="true"' in html


def test_bind_page_shows_specific_error(client, world):
    client.force_login(new_guardian())
    response = client.post(reverse("bind"), {"code": "ZZZZ-ZZZZ"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No such code — check the letters" in html
    assert 'id="id_code_error"' in html


def test_bind_page_anonymous_goes_to_register(client, db):
    response = client.get(reverse("bind") + "?code=ABCD2345")
    assert response.status_code == 302
    assert response["Location"] == reverse("register") + "?code=ABCD2345"
