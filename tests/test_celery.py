import pytest
from django.conf import settings

from eduka.celery import app
from eduka.tasks import ping
from tests.workers import running_worker


def test_it_is_configured_for_safe_delivery():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert settings.CELERY_BEAT_SCHEDULE


@pytest.mark.worker
def test_it_round_trips_a_task_through_a_real_worker(tmp_path):
    with running_worker(tmp_path) as (queue, process):
        result = ping.apply_async(args=["hello"], queue=queue)
        try:
            assert result.get(timeout=90) == "pong:hello"
        except Exception:
            print((tmp_path / f"worker-{queue}.log").read_text())
            raise
        assert process.poll() is None

