from django.urls import path

from . import views

app_name = "attendance"
urlpatterns = [
    path("", views.home, name="home"),
    path("class/<int:class_id>/today/", views.board_class, name="board_class"),
    path("school/<int:school_id>/today/", views.board_school, name="board_school"),
    path("school/<int:school_id>/gate/", views.gate, name="gate"),
    path("class/<int:class_id>/<str:day>/", views.register, name="register"),
    path("class/<int:class_id>/<str:day>/<int:period>/", views.register, name="register_period"),
    path("class/<int:class_id>/<str:day>/summary/", views.class_day, name="class_day"),
    path("class/<int:class_id>/month/<str:month>.xlsx", views.export_month, name="export_month"),
    path("student/<int:student_id>/", views.student_summary, name="student"),
    path("school/<int:school_id>/<str:day>/", views.school_day, name="school_day"),
]
