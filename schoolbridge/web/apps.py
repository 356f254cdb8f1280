from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "schoolbridge.web"
    label = "web"
