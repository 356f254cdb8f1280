from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "schoolbridge.access"
    label = "access"
