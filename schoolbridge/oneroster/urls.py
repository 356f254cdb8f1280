from django.urls import path

from . import views

app_name = "oneroster"

# The brief's single base, and the spec's per-service bases; all serve the same binding.
urlpatterns = [
    path("v1p2/token", views.token, name="token"),
    path("v1p2/<path:rest>", views.endpoint, name="endpoint"),
    path("rostering/v1p2/<path:rest>", views.endpoint, name="rostering"),
    path("gradebook/v1p2/<path:rest>", views.endpoint, name="gradebook"),
]
