from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "schoolbridge.imports"
    label = "imports"
