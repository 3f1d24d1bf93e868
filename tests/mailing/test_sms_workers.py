"""SMS mailings with real Celery workers: a worker killed in the middle of an SMS mailing leaves
at most the SMS it had in flight "uncertain"; another worker sends the rest, and every number
gets exactly one SMS at the provider (a local fake of OVHcloud's API)."""

import os
import signal
import time
from collections import Counter

import pytest

from mailing.engine import recover_expired
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, Recipient
from mailing.tasks import enqueue_account
from tests.mailing.conftest import make_mailing, make_sms_account
from tests.mailing.test_workers_stops import PENDING, _children, _claims_of, _ready, _wait
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Message.Status


@pytest.fixture
def queues(isolated_queues):
    return isolated_queues


def test_a_killed_worker_leaves_at_most_its_sms_in_flight_uncertain(
        tmp_path, ovh, secretary, school, queues):
    ovh.delay = 0.02
    account = make_sms_account("ovh", max_connections=2)
    numbers = [f"+336120{n:05d}" for n in range(150)]
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="",
                           body="Collège fermé demain.", audience={"addresses": numbers})
    env = {**queues, "MAILING_LEASE_SECONDS": "300", "MAILING_BATCH_SIZE": "20",
           "SMS_OVH_URL": ovh.url}
    listen = ",".join(queues.values())
    with running_worker(tmp_path / "w1", shared_broker=tmp_path,
                        extra_env=env, queues=listen) as (_, first), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path,
                           extra_env=env, queues=listen) as (_, second):
        _ready(tmp_path / "w1", tmp_path / "w2")
        mailing_submit(mailing=mailing)
        holder = None

        def a_process_holds_claims_after_some_sms():
            nonlocal holder
            if len(ovh.sent) < 10:
                return False
            for worker in (first, second):
                for child in _children(worker.pid):
                    if _claims_of(child):
                        holder = child
                        return True
            return False

        _wait(a_process_holds_claims_after_some_sms, 60, "no worker was sending")
        os.kill(holder, signal.SIGKILL)

        def settled():
            recover_expired()
            enqueue_account(account.pk)
            return not Message.objects.filter(mailing=mailing, status__in=PENDING).exists()

        _wait(settled, 120, "the SMS mailing did not finish after the kill")
        time.sleep(0.5)
    fates = dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    copies = Counter(number for number, _text in ovh.sent)
    print(f"killed a sender after {len(ovh.sent)} SMS: {Counter(fates.values())}")
    assert set(fates) == set(numbers)
    assert Counter(fates.values())[S.UNCERTAIN] <= 1
    for number, fate in fates.items():
        assert fate in (S.SENT, S.UNCERTAIN), (number, fate)
        assert copies[number] == 1 or (fate == S.UNCERTAIN and copies[number] == 0), (
            number, fate, copies[number])
