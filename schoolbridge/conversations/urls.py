from django.urls import path

from . import views

app_name = "conversations"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.new_thread, name="new"),
    path("<int:pk>/", views.thread, name="thread"),
    path("<int:pk>/after/", views.thread_after, name="after"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("export/", views.export, name="export"),
    path("qa/", views.boards, name="boards"),
    path("qa/open/", views.open_questions, name="open"),
    path("qa/<int:class_id>/", views.board, name="board"),
    path("qa/<int:class_id>/suggest/", views.suggest, name="suggest"),
    path("qa/questions/<int:pk>/answer/", views.answer, name="answer"),
    path("qa/questions/<int:pk>/close/", views.close, name="close"),
    path("quiet-hours/", views.quiet_hours, name="quiet_hours"),
    path("canned/", views.canned, name="canned"),
    path("canned/<int:pk>/delete/", views.canned_delete, name="canned_delete"),
    path("moderation/<int:school_id>/", views.moderation, name="moderation"),
    path("moderation/flags/<int:pk>/review/", views.review, name="review"),
    path("moderation/blocked/<int:pk>/review/", views.review_blocked, name="review-blocked"),
    path("moderation/lexicon/<int:pk>/remove/", views.lexicon_remove, name="lexicon_remove"),
]
