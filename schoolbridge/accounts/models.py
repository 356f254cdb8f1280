"""Accounts: the user, role grants with a scope, guardian binding codes and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolbridge.core.models import District, GradeLevel, School, Student


class User(AbstractUser):
    """One account per human. Staff, guardian and student roles hang off Person.user."""

    phone = models.CharField(_("mobile phone"), max_length=20, unique=True, null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)

    def __str__(self) -> str:
        person = getattr(self, "person", None)
        return str(person) if person else self.username


class RoleGrant(models.Model):
    """An office held in a district or school. Teaching, head-teacher, guardian and student roles
    come from the school data itself (TeachingAssignment, Class.head_teacher, Guardianship,
    Student.person.user); see access.scope."""

    class Role(models.TextChoices):
        DISTRICT_ADMIN = "district_admin", _("district administrator")
        DISTRICT_OFFICER = "district_officer", _("district officer")
        SCHOOL_ADMIN = "school_admin", _("school administrator")
        PRINCIPAL = "principal", _("principal")
        GRADE_DIRECTOR = "grade_director", _("grade director")

    DISTRICT_ROLES = {Role.DISTRICT_ADMIN, Role.DISTRICT_OFFICER}
    ADMIN_ROLES = {Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN, Role.PRINCIPAL}

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    grade = models.ForeignKey(GradeLevel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    include_records = models.BooleanField(
        _("may see individual records"),
        default=False,
        help_text=_("District roles see aggregates only unless this is set."),
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("role grant")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "district", "school", "grade"],
                name="grant_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(
                    Q(role__in=["district_admin", "district_officer"], school__isnull=True, grade__isnull=True)
                    | Q(role__in=["school_admin", "principal"], school__isnull=False, grade__isnull=True)
                    | Q(role="grade_director", school__isnull=False, grade__isnull=False)
                ),
                name="grant_scope_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


BINDING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_binding_code() -> str:
    return "".join(secrets.choice(BINDING_ALPHABET) for _ in range(8))


class BindingCode(models.Model):
    """A printed (or phoned) code that lets a guardian bind their account to one child.

    A code binds exactly one guardian; the second guardian gets a code of their own. When
    `phone` is set (a head teacher's invitation), only the account with that phone may use it.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="binding_codes")
    code = models.CharField(max_length=12, unique=True, default=new_binding_code)
    relationship = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("binding code")

    def __str__(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for integrations. Only its SHA-256 is stored; the raw key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PasswordResetCode(models.Model):
    """A six-digit code sent by SMS to reset the password of a phone-only account.

    Only a keyed hash of the code is stored. A code expires after a few minutes and allows a
    few wrong attempts before it is spent.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("password reset code")
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.phone} @ {self.created_at:%Y-%m-%d %H:%M}"
