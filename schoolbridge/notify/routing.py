from django.urls import path

from schoolbridge.conversations.consumers import ThreadConsumer
from schoolbridge.notices.live import ProgressConsumer

from .consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/messages/<int:thread_id>/", ThreadConsumer.as_asgi()),
    path("ws/notices/<int:notice_id>/", ProgressConsumer.as_asgi()),
]
