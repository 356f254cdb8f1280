"""Granting and revoking offices (RoleGrant). A grant never reaches beyond the granter's own scope.

district_admin: any role in their own district.
school_admin: school_admin, principal or grade_director in their own school only; never district
roles and never "may see individual records".
Everyone else: nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit.log import record, snapshot
from schoolbridge.core.actions import action
from schoolbridge.core.errors import Errors, NotFound, Refused
from schoolbridge.core.models import District, GradeLevel, School

from .scope import forget_scope, get_scope

SCHOOL_GRANTABLE = {RoleGrant.Role.SCHOOL_ADMIN, RoleGrant.Role.PRINCIPAL, RoleGrant.Role.GRADE_DIRECTOR}

role_granted = Signal()  # grant: RoleGrant, actor
role_revoked = Signal()  # grant: RoleGrant (deleted; pk kept), actor


def _forget(*users: Any) -> None:
    for user in users:
        if user is not None:
            forget_scope(user)


def _is_district_admin(actor: Any, district_id: int) -> bool:
    return any(g.district_id == district_id for g in get_scope(actor).grants_of("district_admin"))


def _is_school_admin(actor: Any, school_id: int | None) -> bool:
    return school_id is not None and any(
        g.school_id == school_id for g in get_scope(actor).grants_of("school_admin")
    )


def may_grant_roles(actor: Any) -> bool:
    """Whether the actor may grant any role at all (for showing the grant form)."""
    return get_scope(actor).has_role("district_admin", "school_admin")


def grantable_roles(actor: Any, school: School | None = None) -> list[str]:
    """The roles the actor may grant: in `school` if given, otherwise anywhere they may grant."""
    scope = get_scope(actor)
    if school is not None:
        if _is_district_admin(actor, school.district_id):
            return [r for r in RoleGrant.Role.values if r not in RoleGrant.DISTRICT_ROLES]
        if _is_school_admin(actor, school.pk):
            return [r for r in RoleGrant.Role.values if r in SCHOOL_GRANTABLE]
        return []
    if scope.has_role("district_admin"):
        return list(RoleGrant.Role.values)
    if scope.has_role("school_admin"):
        return [r for r in RoleGrant.Role.values if r in SCHOOL_GRANTABLE]
    return []


def _check_authority(
    actor: Any, role: str, district_id: int, school_id: int | None, include_records: bool
) -> None:
    if _is_district_admin(actor, district_id):
        return
    scope = get_scope(actor)
    if not scope.has_role("school_admin"):
        raise Refused(_("You are not allowed to grant or revoke roles."))
    if role in RoleGrant.DISTRICT_ROLES:
        raise Refused(_("Only a district administrator can grant or revoke district roles."))
    if not _is_school_admin(actor, school_id):
        raise Refused(_("You can only grant or revoke roles in your own school."))
    if include_records:
        raise Refused(_("Only a district administrator can allow individual records to be seen."))
    if role not in SCHOOL_GRANTABLE:
        raise Refused(_("You are not allowed to grant this role."))


@action
def grant_role(
    actor: Any,
    user: Any,
    role: str,
    district: District,
    school: School | None = None,
    grade: GradeLevel | None = None,
    include_records: bool = False,
) -> RoleGrant:
    """Give `user` an office. Refused (with a message) when beyond the actor's own scope."""
    errors = Errors()
    if role not in RoleGrant.Role.values:
        errors.add("role", _("Choose a role."))
        errors.raise_if_any()
    if user is None or getattr(user, "pk", None) is None:
        errors.add("user", _("Choose a person."))
    if role in RoleGrant.DISTRICT_ROLES:
        school = grade = None
    else:
        if school is None:
            errors.add("school", _("Choose a school for this role."))
        elif school.district_id != district.pk:
            raise NotFound
        if role == RoleGrant.Role.GRADE_DIRECTOR:
            if grade is None:
                errors.add("grade", _("Choose a grade for a grade director."))
            elif school is not None and grade.school_id != school.pk:
                errors.add("grade", _("Choose a grade of this school."))
        else:
            grade = None
    errors.raise_if_any()
    _check_authority(actor, role, district.pk, getattr(school, "pk", None), include_records)
    if role not in RoleGrant.DISTRICT_ROLES:
        include_records = False  # school roles see their school's records anyway
    if RoleGrant.objects.filter(user=user, role=role, district=district, school=school, grade=grade).exists():
        errors.add(None, _("This person already holds this role here."))
        errors.raise_if_any()
    grant = RoleGrant.objects.create(
        user=user,
        role=role,
        district=district,
        school=school,
        grade=grade,
        include_records=include_records,
        granted_by=actor if getattr(actor, "pk", None) else None,
    )
    record(actor, "access.role_grant.create", grant, None, snapshot(grant))
    _forget(user, actor if getattr(actor, "pk", None) == user.pk else None)
    transaction.on_commit(lambda: role_granted.send(sender=RoleGrant, grant=grant, actor=actor))
    return grant


def _grant_visible(actor: Any, grant: RoleGrant) -> bool:
    if _is_district_admin(actor, grant.district_id):
        return True
    return grant.school_id is not None and _is_school_admin(actor, grant.school_id)


@action
def revoke_role(actor: Any, grant_id: Any) -> RoleGrant:
    """Take an office away. Grants the actor cannot see are NotFound; others beyond their scope Refused."""
    try:
        pk = int(grant_id)
    except (TypeError, ValueError):
        raise NotFound from None
    grant = RoleGrant.objects.select_for_update().filter(pk=pk).first()
    if grant is None or not _grant_visible(actor, grant):
        raise NotFound
    _check_authority(actor, grant.role, grant.district_id, grant.school_id, grant.include_records)
    if grant.user_id == getattr(actor, "pk", None):
        raise Refused(_("You cannot revoke your own role. Ask another administrator."))
    before = snapshot(grant)
    record(actor, "access.role_grant.delete", grant, before, None)
    user = grant.user
    grant.delete()
    grant.pk = before["id"]
    _forget(user)
    transaction.on_commit(lambda: role_revoked.send(sender=RoleGrant, grant=grant, actor=actor))
    return grant


def grants_managed_by(actor: Any) -> QuerySet[RoleGrant]:
    """RoleGrants the actor may see and revoke: their districts' (district admin) or their schools'."""
    scope = get_scope(actor)
    districts = {g.district_id for g in scope.grants_of("district_admin")}
    schools = {g.school_id for g in scope.grants_of("school_admin")}
    if not districts and not schools:
        return RoleGrant.objects.none()
    return RoleGrant.objects.filter(Q(district_id__in=districts) | Q(school_id__in=schools))
