from django.urls import path

from .manage import views

app_name = "manage"

urlpatterns = [
    path("", views.index, name="index"),
    path("s/<int:school_id>/", views.school_tree, name="school"),
    path("s/<int:school_id>/new/<slug:kind>/", views.tree_create, name="tree_create"),
    path("s/<int:school_id>/edit/<slug:kind>/<int:pk>/", views.tree_edit, name="tree_edit"),
    path("s/<int:school_id>/classes/<int:pk>/", views.class_detail, name="class"),
    path("s/<int:school_id>/assignments/<int:pk>/remove/", views.unassign, name="unassign"),
    path("s/<int:school_id>/staff/", views.staff_list, name="staff"),
    path("s/<int:school_id>/staff/new/", views.staff_create, name="staff_create"),
    path("s/<int:school_id>/staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("s/<int:school_id>/students/", views.student_list, name="students"),
    path("s/<int:school_id>/students/new/", views.student_create, name="student_create"),
    path("s/<int:school_id>/students/<int:pk>/", views.student_detail, name="student"),
    path("s/<int:school_id>/students/<int:pk>/move/", views.student_move, name="student_move"),
    path("s/<int:school_id>/students/<int:pk>/status/", views.student_status, name="student_status"),
    path("s/<int:school_id>/students/<int:pk>/guardians/", views.guardian_add, name="guardian_add"),
    path("s/<int:school_id>/guardianships/<int:pk>/", views.guardianship_edit, name="guardianship_edit"),
    path("s/<int:school_id>/guardianships/<int:pk>/remove/", views.guardianship_remove, name="guardianship_remove"),
    path("s/<int:school_id>/grants/", views.grants, name="grants"),
    path("s/<int:school_id>/export/", views.school_export, name="export"),
    path("s/<int:school_id>/grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
]
