from django.apps import AppConfig


class TimetableConfig(AppConfig):
    name = "schoolbridge.timetable"
    label = "timetable"
