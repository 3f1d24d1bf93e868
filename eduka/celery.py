"""The Celery application shared by every worker and by beat (`celery -A eduka worker|beat`)."""

import os

from celery import Celery, signals
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduka.settings.dev")
# filesystem:// (the embedded default) writes each message whole before workers can see it.
TRANSPORT_ALIASES["filesystem"] = "eduka.broker_filesystem:Transport"

app = Celery("eduka", include=["eduka.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()



@signals.worker_process_init.connect
def _start_heartbeat(**kwargs):
    """Each pool process beats, so that its death — even by SIGKILL — is noticed in seconds
    and its claims are freed (mailing/engine/heartbeat.py)."""
    from mailing.engine import heartbeat

    heartbeat.start()


@signals.worker_process_shutdown.connect
def _stop_heartbeat(**kwargs):
    from mailing.engine import heartbeat

    heartbeat.stop()
