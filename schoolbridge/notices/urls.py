from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.compose, name="compose"),
    path("templates/", views.templates, name="templates"),
    path("templates/<int:pk>/delete/", views.delete_template, name="template-delete"),
    path("groups/", views.groups, name="groups"),
    path("groups/<int:pk>/", views.group_edit, name="group-edit"),
    path("groups/<int:pk>/delete/", views.delete_group, name="group-delete"),
    path("policy/<int:school_id>/", views.policy, name="policy"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/progress/live/", views.progress_live, name="progress-live"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/edit/", views.edit, name="edit"),
]
