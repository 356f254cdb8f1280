from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolbridge.core"
    label = "core"
