"""The Celery application shared by every worker and by beat (`celery -A eduka worker|beat`)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduka.settings.dev")

app = Celery("eduka", include=["eduka.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

