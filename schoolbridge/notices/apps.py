from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "schoolbridge.notices"
    label = "notices"
