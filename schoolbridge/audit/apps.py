from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "schoolbridge.audit"
    label = "audit"
