import pytest
from django.contrib.auth import get_user_model

from schoolbridge.access.actions import grant_role, grantable_roles, grants_managed_by, revoke_role
from schoolbridge.access.scope import get_scope
from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit.models import AuditEvent
from schoolbridge.core.errors import InvalidInput, NotFound, Refused


@pytest.fixture
def newbie(world):
    return get_user_model().objects.create(username="newbie")


def test_school_admin_grants_principal_in_own_school(world, newbie):
    admin = world.user("a_admin")
    assert not get_scope(newbie).has_role("principal")
    grant = grant_role(admin, newbie, "principal", world.district, school=world.a.school)
    assert grant.granted_by == admin and grant.school == world.a.school
    assert get_scope(newbie).has_role("principal")  # cached scope forgotten
    row = AuditEvent.objects.get(action="access.role_grant.create", object_id=str(grant.pk))
    assert row.before is None and row.after is not None
    assert row.after["role"] == "principal" and row.school_id == world.a.school.id


def test_school_admin_grants_grade_director_needs_grade_of_school(world, newbie):
    admin = world.user("a_admin")
    with pytest.raises(InvalidInput) as exc:
        grant_role(admin, newbie, "grade_director", world.district, school=world.a.school)
    assert "grade" in exc.value.message_dict
    with pytest.raises(InvalidInput) as exc:
        grant_role(admin, newbie, "grade_director", world.district, school=world.a.school, grade=world.b.grade7)
    assert "grade" in exc.value.message_dict
    grant_role(admin, newbie, "grade_director", world.district, school=world.a.school, grade=world.a.grade8)


@pytest.mark.parametrize(
    "role,kwargs,message",
    [
        ("district_officer", {}, "district"),
        ("school_admin", {"school": "b"}, "own school"),
        ("principal", {"school": "a", "include_records": True}, "individual records"),
    ],
)
def test_school_admin_refused_beyond_scope(world, newbie, role, kwargs, message):
    kwargs = dict(kwargs)
    if "school" in kwargs:
        kwargs["school"] = getattr(world, kwargs["school"]).school
    from django.utils import translation

    with translation.override("en"), pytest.raises(Refused) as exc:
        grant_role(world.user("a_admin"), newbie, role, world.district, **kwargs)
    with translation.override("en"):
        assert message in str(exc.value.message)
    assert not RoleGrant.objects.filter(user=newbie).exists()
    assert not AuditEvent.objects.filter(action="access.role_grant.create").exists()


@pytest.mark.parametrize("username", ["a_principal", "a_head", "a_director", "a_parent", "district_officer"])
def test_others_may_grant_nothing(world, newbie, username):
    with pytest.raises(Refused):
        grant_role(world.user(username), newbie, "principal", world.district, school=world.a.school)
    assert grantable_roles(world.user(username)) == []
    assert not RoleGrant.objects.filter(user=newbie).exists()


def test_district_admin_grants_any_role_in_district(world, newbie):
    da = world.user("district_admin")
    g = grant_role(da, newbie, "district_officer", world.district, include_records=True)
    assert g.include_records and g.school is None
    g2 = grant_role(da, newbie, "school_admin", world.district, school=world.b.school, include_records=True)
    assert not g2.include_records  # meaningless for school roles
    with pytest.raises(InvalidInput):
        grant_role(da, newbie, "school_admin", world.district, school=world.b.school)  # duplicate
    with pytest.raises(InvalidInput) as exc:
        grant_role(da, newbie, "king", world.district)
    assert "role" in exc.value.message_dict


def test_revoke(world, newbie):
    admin = world.user("a_admin")
    grant = grant_role(admin, newbie, "principal", world.district, school=world.a.school)
    assert get_scope(newbie).has_role("principal")
    revoke_role(admin, grant.pk)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    fresh = get_user_model().objects.get(pk=newbie.pk)
    assert not get_scope(fresh).has_role("principal")
    row = AuditEvent.objects.get(action="access.role_grant.delete", object_id=str(grant.pk))
    assert row.before is not None and row.after is None
    assert row.before["role"] == "principal"


def test_revoke_refusals(world):
    admin = world.user("a_admin")
    b_grant = RoleGrant.objects.get(user=world.user("b_principal"))
    with pytest.raises(NotFound):
        revoke_role(admin, b_grant.pk)
    with pytest.raises(NotFound):
        revoke_role(admin, "nonsense")
    district_grant = RoleGrant.objects.get(user=world.user("district_officer"))
    with pytest.raises(NotFound):
        revoke_role(admin, district_grant.pk)
    own = RoleGrant.objects.get(user=admin)
    with pytest.raises(Refused):
        revoke_role(admin, own.pk)
    with pytest.raises(NotFound):
        revoke_role(world.user("a_principal"), RoleGrant.objects.get(user=world.user("a_director")).pk)
    assert RoleGrant.objects.filter(pk__in=[b_grant.pk, district_grant.pk, own.pk]).count() == 3
    revoke_role(world.user("district_admin"), b_grant.pk)


def test_grants_managed_by(world):
    a_ids = set(grants_managed_by(world.user("a_admin")).values_list("school_id", flat=True))
    assert a_ids == {world.a.school.id}
    assert grants_managed_by(world.user("district_admin")).count() == RoleGrant.objects.count()
    assert not grants_managed_by(world.user("a_teacher")).exists()
