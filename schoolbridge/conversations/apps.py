from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "schoolbridge.conversations"
    label = "conversations"
