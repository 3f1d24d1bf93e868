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



def test_the_file_system_broker_never_shows_a_message_before_it_is_whole(tmp_path):
    """kombu's own transport let a worker read a message file before it was written, and the
    worker stopped on the empty file; ours writes it under an ignored name, then renames it."""
    from kombu import Connection

    from eduka.broker_filesystem import Transport

    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "control_folder": str(tmp_path), "store_processed": False}
    with Connection("filesystem://", transport_options=options) as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        (folder / ".123_x.q.msg.partial").write_bytes(b"")  # a message being written
        channel._put("q", {"body": "whole"})
        assert [p.name.endswith(".q.msg") for p in folder.iterdir()].count(True) == 1
        assert channel._get("q") == {"body": "whole"}
        assert list(folder.iterdir()) == [folder / ".123_x.q.msg.partial"]  # never taken
