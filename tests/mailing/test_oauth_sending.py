"""Sending from an account signed in with Microsoft / Google: AUTH XOAUTH2 against a server
that accepts only currently valid tokens, refresh before expiry (one for all workers), and a
revoked grant that pauses the account until "Reconnecter"."""

import logging
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from mailing.engine import send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, Recipient
from mailing.sending_accounts.services import account_test
from tests.mailing.conftest import make_account, make_mailing
from tests.mailing.oauth_helpers import sign_in
from tests.oauth_servers import REVOKED_TEXT, XOAUTH2_FAILED_REPLY

S = Message.Status
MAILBOX = "secretariat@college.example.org"


@pytest.fixture
def account(xoauth2_smtp_server, admin_client, oauth_server):
    account = make_account(xoauth2_smtp_server, name="Office 365", allow_plain_auth=True)
    sign_in(admin_client, account)
    account.refresh_from_db()
    return account


def _send_mailing(account, user, addresses, django_capture_on_commit_callbacks):
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject="Sortie",
                           body="Bonjour", audience={"addresses": addresses})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    return mailing


def _statuses(mailing):
    return set(Recipient.objects.filter(mailing=mailing).values_list("status", flat=True))


@pytest.mark.django_db
def test_it_authenticates_with_xoauth2_as_the_mailbox(account, xoauth2_smtp_server, secretary,
                                                      django_capture_on_commit_callbacks):
    mailing = _send_mailing(account, secretary, ["p1@example.org", "p2@example.org"],
                            django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert _statuses(mailing) == {S.SENT}
    assert {m.auth_login for m in xoauth2_smtp_server.received} == {MAILBOX}


@pytest.mark.django_db
def test_the_test_button_works_with_a_signed_in_account(account, admin_client,
                                                        xoauth2_smtp_server):
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    assert "Test réussi" in response.content.decode()
    [received] = xoauth2_smtp_server.received
    assert received.auth_login == MAILBOX


@pytest.mark.django_db
def test_it_refreshes_the_token_before_it_expires_without_a_failed_send(
        xoauth2_smtp_server, admin_client, oauth_server, secretary, settings, caplog,
        django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)  # authlib, requests, urllib3 and ours: no token in any
    # authlib keeps the expiry in whole seconds (int(now) + expires_in): a 3 s token signed in
    # at x.99 s has 2.01 s left, still more than the 1 s margin for the first send.
    oauth_server.access_ttl = 3
    settings.OAUTH_REFRESH_MARGIN_SECONDS = 1
    account = make_account(xoauth2_smtp_server, allow_plain_auth=True)
    sign_in(admin_client, account)
    first = _send_mailing(account, secretary, ["a@example.org"], django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert oauth_server.refreshes == 0
    time.sleep(2.1)  # the token now has less than the margin left: the next connection renews
    second = _send_mailing(account, secretary, ["b@example.org"],
                           django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert oauth_server.refreshes == 1
    assert _statuses(first) == _statuses(second) == {S.SENT}
    assert xoauth2_smtp_server.refused_tokens == []
    account.refresh_from_db()
    assert account.oauth_access_expires_at > timezone.now() and not account.paused_reason
    assert "renewed" in caplog.text
    assert not any(token in caplog.text for token in oauth_server.issued_tokens())


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_share_one_refresh(xoauth2_smtp_server, oauth_server, secretary,
                                              settings, django_capture_on_commit_callbacks):
    from django.test import Client

    settings.MAILING_BATCH_SIZE = 3  # each worker claims its own share of the mailing
    admin = Client()
    from accounts.models import Profile
    from tests.factories import make_user

    admin.force_login(make_user(Profile.ADMIN, email="admin2@example.org"))
    account = make_account(xoauth2_smtp_server, allow_plain_auth=True, max_connections=2)
    sign_in(admin, account)
    addresses = [f"p{n}@example.org" for n in range(12)]
    mailing = _send_mailing(account, secretary, addresses, django_capture_on_commit_callbacks)
    # The token is about to expire when both workers connect; the endpoint is slow.
    type(account).objects.filter(pk=account.pk).update(oauth_access_expires_at=timezone.now())
    oauth_server.token_latency = 0.5
    xoauth2_smtp_server._latency = 0.1  # each worker is still sending when the other connects
    start = threading.Barrier(2)

    def worker(number):
        try:
            start.wait()
            send_account_work(account.pk, owner=f"test-worker-{number}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert oauth_server.refreshes == 1
    assert xoauth2_smtp_server.max_active_sessions == 2  # both workers did connect
    delivered = Counter(r for m in xoauth2_smtp_server.received for r in m.rcpt_tos)
    assert delivered == Counter(addresses)
    assert _statuses(mailing) == {S.SENT}


@pytest.mark.django_db
def test_a_revoked_grant_pauses_the_account_until_reconnected(
        account, admin_client, xoauth2_smtp_server, oauth_server, secretary,
        django_capture_on_commit_callbacks):
    addresses = [f"p{n}@example.org" for n in range(6)]
    first = _send_mailing(account, secretary, addresses[:2], django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    oauth_server.revoke()
    # The access token is due for renewal: the refresh meets invalid_grant.
    type(account).objects.filter(pk=account.pk).update(oauth_access_expires_at=timezone.now())
    second = _send_mailing(account, secretary, addresses[2:], django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    account.refresh_from_db()
    assert account.paused_reason == f"Microsoft: invalid_grant: {REVOKED_TEXT}"
    assert _statuses(second) == {S.QUEUED}  # nothing failed, nothing lost
    page = admin_client.get(reverse("mailing:account_edit", args=[account.pk])).content.decode()
    assert "AADSTS50173" in page and "Microsoft n'accepte plus la connexion" in page
    assert 'id="reconnect-paused"' in page
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sign_in(admin_client, account)  # "Reconnecter"
    assert callbacks  # the account's work is enqueued again
    account.refresh_from_db()
    assert not account.paused_reason
    assert "envoi depuis ce compte reprend" in admin_client.get(
        response["Location"]).content.decode()
    send_account_work(account.pk)
    assert _statuses(first) == _statuses(second) == {S.SENT}
    delivered = Counter(r for m in xoauth2_smtp_server.received for r in m.rcpt_tos)
    assert delivered == Counter(addresses)  # everything, exactly once


@pytest.mark.django_db
def test_a_535_on_xoauth2_pauses_the_account(account, xoauth2_smtp_server, oauth_server,
                                             secretary, django_capture_on_commit_callbacks):
    oauth_server.revoke()  # the stored access token still looks valid to us
    mailing = _send_mailing(account, secretary, ["p@example.org"],
                            django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    account.refresh_from_db()
    assert account.paused_reason == XOAUTH2_FAILED_REPLY
    assert _statuses(mailing) == {S.QUEUED}
    assert oauth_server.refreshes == 0
    outcome = account_test(account=account, to_email="admin@example.org")
    assert not outcome.ok and outcome.server_reply == XOAUTH2_FAILED_REPLY
    assert "Reconnecter" in outcome.hint


@pytest.mark.django_db
def test_an_unreachable_token_endpoint_defers_without_pausing(
        account, oauth_server, secretary, django_capture_on_commit_callbacks, settings):
    settings.OAUTH_MICROSOFT_TOKEN_URL = "http://127.0.0.1:9/token"  # nothing listens
    type(account).objects.filter(pk=account.pk).update(oauth_access_expires_at=timezone.now())
    mailing = _send_mailing(account, secretary, ["p@example.org"],
                            django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    account.refresh_from_db()
    assert not account.paused_reason
    assert _statuses(mailing) == {S.DEFERRED}
