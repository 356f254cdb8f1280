from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("switch-role/", views.switch_role, name="switch_role"),
    path("children/<int:student_id>/", views.child_detail, name="child_detail"),
    path("children/<int:student_id>/reveal/", views.reveal_sensitive, name="child_reveal"),
    path("healthz", views.healthz, name="healthz"),
]
