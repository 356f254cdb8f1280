"""Django admin for accounts (superusers only; see core.admin)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "phone", "email", "first_name", "last_name", "is_active", "is_superuser")
    search_fields = ("username", "phone", "email", "first_name", "last_name")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("SchoolBridge"), {"fields": ("phone", "language")}),
    )


@admin.register(models.RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "district", "school", "grade", "include_records", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user", "granted_by")


@admin.register(models.BindingCode)
class BindingCodeAdmin(admin.ModelAdmin):
    list_display = ("student", "school", "relationship", "expires_at", "used_at")
    raw_id_fields = ("student", "used_by", "created_by")
    readonly_fields = ("code",)


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    raw_id_fields = ("user",)
    readonly_fields = ("prefix", "key_hash", "last_used_at")
