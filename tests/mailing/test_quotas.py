"""Sending quotas: an account's own limits hold across workers, measured at the server, and
a provider's quota refusal leaves what was sent, makes the rest wait, then delivers it once."""

import html
import time
from collections import Counter

import pytest
from django.urls import reverse

from mailing.engine import recover_expired, send_account_work
from mailing.engine.quotas import waiting_for_quota
from mailing.mailings.selectors import mailing_counts, mailing_status_label
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Recipient, SendingAccount
from mailing.sending_accounts.smtp_errors import is_quota_reply
from tests.mailing.conftest import make_account, make_mailing
from tests.workers import running_worker

S = Recipient.Status


def _addresses(count, prefix="parent"):
    return [f"{prefix}{n}@example.org" for n in range(count)]


def _mailing(account, user, addresses):
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject="Sortie",
                           body="Bonjour", audience={"addresses": addresses})
    return mailing_submit(mailing=mailing)


def _max_in_window(times, window):
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_per_minute_limit_holds_across_two_workers(tmp_path, sink, secretary, school,
                                                     isolated_queues, settings):
    window = 3
    settings.MAILING_QUOTA_MINUTE_SECONDS = window
    account = make_account(sink, quota_messages_per_minute=20, max_connections=4)
    assert account.parallel_connections == 1
    env = {**isolated_queues, "MAILING_QUOTA_MINUTE_SECONDS": str(window)}
    listen = ",".join(isolated_queues.values())
    with running_worker(tmp_path / "w1", shared_broker=tmp_path, extra_env=env, queues=listen), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path, extra_env=env,
                           queues=listen):
        mailing = _mailing(account, secretary, _addresses(50))
        deadline = time.monotonic() + 90
        while len(sink.received) < 50 and time.monotonic() < deadline:
            time.sleep(0.2)
    received = [m.rcpt_tos[0] for m in sink.received]
    assert Counter(received) == Counter(_addresses(50))  # each exactly once
    # Never more than 20 in any window, measured at the server: 20 + 20 + 10.
    assert _max_in_window([m.received_at for m in sink.received], window) <= 20
    assert mailing_counts(mailing)["sent"] == 50


@pytest.mark.django_db
def test_a_provider_quota_refusal_waits_and_delivers_the_rest_once(sink, secretary, school,
                                                                   settings, client):
    settings.MAILING_QUOTA_DAY_SECONDS = 2
    sink.quota_after = 30
    account = make_account(sink)
    mailing = _mailing(account, secretary, _addresses(50))
    send_account_work(account.pk)
    assert len(sink.received) == 30
    account.refresh_from_db()
    assert waiting_for_quota(account)
    assert account.quota_reason == "550 5.4.5 Daily user sending limit exceeded."
    assert not account.paused_reason  # nothing for an administrator to fix
    counts = mailing_counts(mailing)
    assert (counts["sent"], counts["queued"], counts["failed"]) == (30, 20, 0)
    mailing.refresh_from_db()
    assert mailing_status_label(mailing, counts).startswith("En attente du quota (reprise vers")
    # While it waits, neither a worker nor the sweep sends anything.
    assert send_account_work(account.pk) is False
    assert account.pk not in recover_expired()

    sink.quota_after = None  # the provider's day is over
    time.sleep(2.1)
    assert account.pk in recover_expired()
    send_account_work(account.pk)
    received = Counter(m.rcpt_tos[0] for m in sink.received)
    assert received == Counter(_addresses(50))
    assert mailing_counts(mailing)["sent"] == 50


@pytest.mark.django_db
def test_the_compose_page_says_when_a_mailing_cannot_finish_today(sink, secretary, school,
                                                                  secretary_client):
    account = make_account(sink, quota_recipients_per_day=10)
    account.users.add(secretary)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN,
                           audience={"addresses": _addresses(25)})
    page = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    text = html.unescape(page.content.decode())
    assert "ne peut pas se terminer aujourd'hui" in text
    assert "10 destinataires par jour" in text


def test_quota_replies_are_told_apart_from_a_full_mailbox():
    assert is_quota_reply("5.4.5 Daily user sending limit exceeded. For more information…")
    assert is_quota_reply("5.2.0 STOREDRV.Submission.Exception:"
                          "SubmissionQuotaExceededException; Failed to process message")
    assert not is_quota_reply("5.2.2 The email account that you tried to reach is over quota")
    assert not is_quota_reply("5.1.1 User unknown")


@pytest.mark.django_db
def test_a_preset_fills_the_limits(admin_client):
    admin_client.post(reverse("mailing:account_create"), {
        "name": "M365", "kind": "external", "preset": "microsoft_365", "smtp_host": "",
        "sender_name": "Direction", "from_email": "direction@ecole.org", "security": "none",
        "max_bcc_recipients": "100", "send_delay": "0", "max_connections": "4",
        "is_active": "on"})
    account = SendingAccount.objects.get(name="M365")
    assert (account.quota_messages_per_minute, account.quota_recipients_per_day) == (30, 10000)
