from django.apps import AppConfig


class GradesConfig(AppConfig):
    name = "schoolbridge.grades"
    label = "grades"
