"""The engine in real Celery worker processes: pacing across workers, and SIGKILL."""

import os
import signal
import time
from collections import Counter

import pytest
from django.db import connection

from mailing.engine import recover_expired
from mailing.mailings.selectors import mailing_counts, mailing_counts_mismatches
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, Recipient, RecipientCount
from mailing.tasks import enqueue_account
from tests.mailing.conftest import make_account, make_mailing
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Message.Status


@pytest.fixture
def queues(isolated_queues):
    return isolated_queues


def _wait(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message() if callable(message) else message)


def _addresses(count, prefix="p"):
    return [f"{prefix}{n}@example.org" for n in range(count)]


def test_it_holds_the_delay_across_two_workers_and_two_mailings(
        tmp_path, smtp_server_factory, secretary, school, queues):
    sink = smtp_server_factory()
    account = make_account(sink, send_delay="0.4")
    mailings = [make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                             body="y", audience={"addresses": _addresses(4, prefix=p)})
                for p in ("a", "b")]
    env = {**queues}
    with running_worker(tmp_path / "w1", shared_broker=tmp_path, extra_env=env,
                        queues=",".join(queues.values())), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path,
                           extra_env=env, queues=",".join(queues.values())):
        for mailing in mailings:
            mailing_submit(mailing=mailing)  # enqueues on commit (autocommit here)
            enqueue_account(account.pk)
        _wait(lambda: len(sink.received) == 8, 60, "not every message arrived")
    gaps = [b - a for a, b in zip(sink.transactions, sink.transactions[1:], strict=False)]
    print("gaps between transactions:", [round(gap, 3) for gap in gaps])
    assert min(gaps) >= 0.4
    assert Counter(r for m in sink.received for r in m.rcpt_tos) == Counter(
        _addresses(4, "a") + _addresses(4, "b"))


def test_it_loses_nothing_and_sends_nothing_twice_when_a_worker_is_killed(
        tmp_path, smtp_server_factory, secretary, school, queues, settings):
    settings.MAILING_LEASE_SECONDS = 3
    sink = smtp_server_factory(latency=0.01)
    account = make_account(sink)
    addresses = _addresses(300)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": addresses})
    env = {**queues, "MAILING_LEASE_SECONDS": "3", "MAILING_BATCH_SIZE": "20"}
    with running_worker(tmp_path / "w1", shared_broker=tmp_path, extra_env=env,
                        queues=",".join(queues.values())) as (_, worker):
        mailing_submit(mailing=mailing)
        enqueue_account(account.pk)
        _wait(lambda: len(sink.received) >= 60, 60, "the worker did not start sending")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    killed_at = len(sink.received)
    assert killed_at < 300
    time.sleep(3.5)  # the dead worker's leases expire
    assert recover_expired() == [account.pk]
    with running_worker(tmp_path / "w2", shared_broker=tmp_path,
                        extra_env=env, queues=",".join(queues.values())):
        enqueue_account(account.pk)
        _wait(lambda: not Message.objects.filter(
            mailing=mailing, status__in=[S.QUEUED, S.SENDING, S.DEFERRED]).exists(),
            90, lambda: "the second worker did not finish the mailing: " + str(Counter(
                Message.objects.filter(mailing=mailing).values_list("status", "smtp_text"))))
    received = Counter(r for m in sink.received for r in m.rcpt_tos)
    statuses = dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    assert set(statuses) == set(addresses)
    uncertain = [email for email, status in statuses.items() if status == S.UNCERTAIN]
    assert len(uncertain) <= 1, uncertain
    for email, status in statuses.items():
        if status == S.SENT:
            assert received[email] == 1, email
        else:
            assert status == S.UNCERTAIN and received[email] <= 1
    assert max(received.values()) == 1
    print(f"killed after {killed_at} messages; uncertain: {uncertain}")


def test_it_keeps_the_counts_exact_while_workers_record_at_once(
        tmp_path, smtp_server_factory, secretary, school, queues):
    """As in the benchmark: several workers, several connections each, one account. Every
    look at the mailing while it sends finds the kept counts equal to a count of the
    recipients (on PostgreSQL each connection writes its own count rows)."""
    addresses = _addresses(400)
    refused = {address: "550 5.1.1 User unknown" for address in addresses[::40]}
    sink = smtp_server_factory(latency=0.002, refuse_recipients=refused)
    account = make_account(sink, max_connections=4)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": addresses})
    env = {**queues, "MAILING_BATCH_SIZE": "10"}
    looks = []
    with running_worker(tmp_path / "w1", concurrency=2, shared_broker=tmp_path, extra_env=env,
                        queues=",".join(queues.values())), \
            running_worker(tmp_path / "w2", concurrency=2, shared_broker=tmp_path,
                           extra_env=env, queues=",".join(queues.values())):
        mailing_submit(mailing=mailing)
        enqueue_account(account.pk)

        def finished():
            looks.append(mailing_counts_mismatches(mailing))
            return not Recipient.objects.filter(mailing=mailing, status__in=[
                S.QUEUED, S.SENDING, S.DEFERRED]).exists()

        _wait(finished, 90, "the workers did not finish the mailing")
    assert len(looks) > 3 and all(look == {} for look in looks), looks
    assert mailing_counts_mismatches(mailing) == {}
    counts = mailing_counts(mailing)
    assert (counts["total"], counts["sent"], counts["failed"]) == (400, 390, 10)
    if connection.vendor == "postgresql":  # the connections did write rows of their own
        assert RecipientCount.objects.filter(mailing=mailing).values("shard").distinct().count() > 1
