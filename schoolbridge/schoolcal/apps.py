from django.apps import AppConfig


class SchoolcalConfig(AppConfig):
    name = "schoolbridge.schoolcal"
    label = "schoolcal"
