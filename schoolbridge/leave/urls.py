from django.urls import path

from . import views

app_name = "leave"
urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("new/", views.new_request, name="new"),
    path("staff/new/", views.new_staff_request, name="staff_new"),
    path("policy/", views.policy_pick, name="policy_pick"),
    path("waiting/", views.waiting, name="waiting"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit_request, name="edit"),
    path("<int:pk>/cancel/", views.cancel_request, name="cancel"),
    path("<int:pk>/decide/", views.decide_request, name="decide"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("policy/<int:school_id>/", views.policy, name="policy"),
]
