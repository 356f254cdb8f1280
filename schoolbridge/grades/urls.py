from django.urls import path

from . import views

app_name = "grades"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new_assessment_pick, name="new_assessment_pick"),
    path("school/<int:school_id>/new/", views.new_assessment, name="new_assessment"),
    path("<int:assessment_id>/", views.assessment_detail, name="assessment"),
    path("<int:assessment_id>/publish/", views.publish, name="publish"),
    path("<int:assessment_id>/statistics/", views.statistics, name="statistics"),
    path("<int:assessment_id>/entry/<int:class_id>/<int:subject_id>/", views.entry, name="entry"),
    path(
        "<int:assessment_id>/entry/<int:class_id>/<int:subject_id>/template.xlsx",
        views.entry_template,
        name="entry_template",
    ),
    path("<int:assessment_id>/class/<int:class_id>/comments/", views.comments, name="comments"),
    path("<int:assessment_id>/class/<int:class_id>/report.pdf", views.report_class, name="report_class"),
    path(
        "<int:assessment_id>/student/<int:student_id>/report.pdf", views.report_student, name="report_student"
    ),
    path("score/<int:score_id>/correct/", views.correct, name="correct"),
    path("child/<int:student_id>/", views.child, name="child"),
    path("child/<int:student_id>/<int:assessment_id>/report.pdf", views.child_report, name="child_report"),
    path("settings/", views.settings_pick, name="settings_pick"),
    path("settings/<int:school_id>/", views.school_settings, name="settings"),
]
