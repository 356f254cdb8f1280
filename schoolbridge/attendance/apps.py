from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "schoolbridge.attendance"
    label = "attendance"
