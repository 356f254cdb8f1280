from django.contrib import admin
from django.urls import include, path

from .api import api

urlpatterns = [
    path("", include("schoolbridge.web.urls")),
    path("accounts/", include("schoolbridge.accounts.urls")),
    path("notifications/", include("schoolbridge.notify.urls")),
    path("manage/", include("schoolbridge.web.manage_urls")),
    path("manage/imports/", include("schoolbridge.imports.urls")),
    path("audit/", include("schoolbridge.audit.urls")),
    path("calendar/", include("schoolbridge.schoolcal.urls")),
    path("attendance/", include("schoolbridge.attendance.urls")),
    path("leave/", include("schoolbridge.leave.urls")),
    path("grades/", include("schoolbridge.grades.urls")),
    path("notices/", include("schoolbridge.notices.urls")),
    path("messages/", include("schoolbridge.conversations.urls")),
    path("timetable/", include("schoolbridge.timetable.urls")),
    path("api/v1/", api.urls),
    path("ims/oneroster/", include("schoolbridge.oneroster.urls")),
    path("manage/oneroster/", include("schoolbridge.oneroster.manage_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]
