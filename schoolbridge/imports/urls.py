from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("s/<int:school_id>/", views.index, name="index"),
    path("s/<int:school_id>/upload/", views.upload, name="upload"),
    path("s/<int:school_id>/b/<int:pk>/", views.batch_page, name="batch"),
    path("s/<int:school_id>/b/<int:pk>/status/", views.batch_status, name="status"),
    path("s/<int:school_id>/b/<int:pk>/mapping/", views.mapping, name="mapping"),
    path("s/<int:school_id>/b/<int:pk>/errors.xlsx", views.error_report, name="errors"),
    path("s/<int:school_id>/b/<int:pk>/commit/", views.commit, name="commit"),
    path("s/<int:school_id>/b/<int:pk>/hold/", views.hold, name="hold"),
    path("s/<int:school_id>/b/<int:pk>/rollback/", views.rollback, name="rollback"),
    path("s/<int:school_id>/review/<int:pk>/", views.decide, name="decide"),
    path("s/<int:school_id>/sources/new/", views.source_new, name="source_new"),
    path("s/<int:school_id>/sources/<int:pk>/run/", views.source_run, name="source_run"),
    path("s/<int:school_id>/sources/<int:pk>/delete/", views.source_delete, name="source_delete"),
    path("s/<int:school_id>/export/students.xlsx", views.export_students, name="export_students"),
    path("s/<int:school_id>/export/staff.xlsx", views.export_staff, name="export_staff"),
]
