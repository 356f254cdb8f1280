from django.apps import AppConfig


class OnerosterConfig(AppConfig):
    name = "schoolbridge.oneroster"
    label = "oneroster"
