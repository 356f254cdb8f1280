from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("children/<int:student_id>/views/", views.child_views, name="child_views"),
    path("log/", views.log, name="log"),
]
