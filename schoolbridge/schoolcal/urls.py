from django.urls import path

from . import views

app_name = "schoolcal"
urlpatterns = [
    path("", views.index, name="index"),
    path("school/<int:school_id>/", views.school_calendar, name="school"),
    path("school/<int:school_id>/exceptions/", views.add_exception, name="add_exception"),
    path(
        "school/<int:school_id>/exceptions/<int:exception_id>/remove/",
        views.remove_exception,
        name="remove_exception",
    ),
    path("school/<int:school_id>/week/", views.set_pattern, name="set_pattern"),
    path("school/<int:school_id>/bells/", views.set_bells, name="set_bells"),
]
