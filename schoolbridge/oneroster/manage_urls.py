from django.urls import path

from . import views

app_name = "oneroster_manage"

urlpatterns = [
    path("s/<int:school_id>/", views.clients, name="clients"),
    path("s/<int:school_id>/<int:pk>/off/", views.deactivate, name="deactivate"),
    path("s/<int:school_id>/export/", views.export, name="export"),
]
