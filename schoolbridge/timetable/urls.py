from django.urls import path

from . import views

app_name = "timetable"
urlpatterns = [
    path("", views.index, name="index"),
    path("class/<int:class_id>/", views.class_timetable, name="class"),
    path("teacher/<int:staff_id>/", views.teacher_timetable, name="teacher"),
    path("room/<int:room_id>/", views.room_timetable, name="room"),
    path("student/<int:student_id>/", views.student_timetable, name="student"),
    path("school/<int:school_id>/", views.school, name="school"),
    path("v/<int:version_id>/", views.version, name="version"),
    path("v/<int:version_id>/publish/", views.publish, name="publish"),
    path("v/<int:version_id>/solve/", views.solve, name="solve"),
    path("v/<int:version_id>/print.pdf", views.print_all, name="print_all"),
    path(
        "v/<int:version_id>/requirement/<int:requirement_id>/delete/",
        views.delete_requirement,
        name="delete_requirement",
    ),
    path("v/<int:version_id>/teacher/<int:staff_id>/unavailable/", views.unavailable, name="unavailable"),
    path("v/<int:version_id>/lesson/<int:lesson_id>/", views.lesson_panel, name="lesson"),
    path("v/<int:version_id>/lesson/<int:lesson_id>/move/", views.move, name="move"),
    path("v/<int:version_id>/lesson/<int:lesson_id>/check/", views.check, name="check"),
    path("feeds/", views.feeds, name="feeds"),
    path("feeds/<str:token>.ics", views.feed, name="feed"),
    path("cover/<int:school_id>/", views.cover, name="cover"),
]
