"""Real Celery workers sending from an account signed in with Microsoft: one token refresh for
two workers, then a revoked grant that pauses the account until "Reconnecter", everything
delivered exactly once."""

import time
from collections import Counter

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Profile
from mailing.engine.queue import enqueue_account
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, SendingAccount
from tests.factories import make_user
from tests.mailing.conftest import make_account, make_mailing
from tests.mailing.oauth_helpers import sign_in
from tests.oauth_servers import REVOKED_TEXT
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def _submit(account, user, addresses):
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": addresses})
    mailing_submit(mailing=mailing)  # enqueues on commit (autocommit here)
    enqueue_account(account.pk)
    return mailing


def test_two_workers_refresh_once_and_a_revoked_grant_waits_for_reconnect(
        tmp_path, xoauth2_smtp_server, oauth_server, secretary, isolated_queues):
    admin = Client()
    admin.force_login(make_user(Profile.ADMIN, email="admin@example.org"))
    account = make_account(xoauth2_smtp_server, allow_plain_auth=True, max_connections=2)
    sign_in(admin, account)
    SendingAccount.objects.filter(pk=account.pk).update(oauth_access_expires_at=timezone.now())
    oauth_server.token_latency = 0.5
    xoauth2_smtp_server._latency = 0.05
    received = xoauth2_smtp_server.received
    first, second = [f"a{n}@example.org" for n in range(12)], [f"b{n}@example.org"
                                                               for n in range(6)]
    env = {**isolated_queues, **oauth_server.settings_env(), "MAILING_BATCH_SIZE": "3"}
    queues = ",".join(isolated_queues.values())
    with running_worker(tmp_path / "w1", shared_broker=tmp_path, extra_env=env, queues=queues), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path, extra_env=env,
                           queues=queues):
        _submit(account, secretary, first)
        enqueue_account(account.pk)  # a second task, for the second worker
        _wait(lambda: len(received) == 12, 60, "the first mailing was not delivered")
        assert oauth_server.refreshes == 1
        assert xoauth2_smtp_server.max_active_sessions == 2  # both workers sent

        oauth_server.revoke()
        SendingAccount.objects.filter(pk=account.pk).update(
            oauth_access_expires_at=timezone.now())
        _submit(account, secretary, second)
        _wait(lambda: SendingAccount.objects.get(pk=account.pk).paused_reason, 30,
              "the account was not paused")
        assert REVOKED_TEXT in SendingAccount.objects.get(pk=account.pk).paused_reason
        assert len(received) == 12

        sign_in(admin, account)  # "Reconnecter": resumes and enqueues
        _wait(lambda: len(received) == 18, 60, "the second mailing was not delivered")
    assert Counter(r for m in received for r in m.rcpt_tos) == Counter(first + second)
    assert xoauth2_smtp_server.refused_tokens == []
