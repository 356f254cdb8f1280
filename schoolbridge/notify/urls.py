from django.urls import path

from . import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read-all/", views.read_all, name="notify-read-all"),
    path("<int:pk>/read/", views.read_one, name="notify-read"),
    path("<int:pk>/open/", views.open_one, name="notify-open"),
]
