from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "schoolbridge.notify"
    label = "notify"
