from django.apps import AppConfig


class LeaveConfig(AppConfig):
    name = "schoolbridge.leave"
    label = "leave"
