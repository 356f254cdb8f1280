"""Celery application. Embedded filesystem broker by default, Redis when REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolbridge.settings")

app = Celery("schoolbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
