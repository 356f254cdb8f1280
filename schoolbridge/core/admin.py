"""Django admin, for superusers only (school staff use the portal's management pages)."""

from django.contrib import admin
from django.http import HttpRequest

from . import models


def superuser_only(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = superuser_only  # type: ignore[method-assign]
admin.site.site_header = "SchoolBridge"

for model in (
    models.District,
    models.School,
    models.SchoolYear,
    models.Term,
    models.GradeLevel,
    models.Class,
    models.Subject,
    models.Room,
    models.Staff,
    models.Guardian,
    models.Enrollment,
    models.TeachingAssignment,
):
    admin.site.register(model)


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_name", "phone", "district")
    search_fields = ("family_name", "given_name", "phone")
    raw_id_fields = ("user",)


@admin.register(models.Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("student_number", "person", "school", "current_class", "status")
    search_fields = ("student_number", "person__family_name", "person__given_name")
    list_filter = ("status",)
    raw_id_fields = ("person", "current_class")
    exclude = ("national_id", "health_notes")  # sensitive fields are read through the portal, which logs reads


@admin.register(models.Guardianship)
class GuardianshipAdmin(admin.ModelAdmin):
    list_display = ("guardian", "student", "relationship", "is_primary", "may_see_records")
    raw_id_fields = ("guardian", "student")
