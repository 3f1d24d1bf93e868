"""Guards of the engine against live-but-slow workers, a colleague's claim, unexpected build
errors and a refused sender; the operator's own relay may live on a private network."""

import smtplib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile

from mailing.engine import claim, recover_expired, send_account_work, worker_identity
from mailing.engine.channel import DeliveryFailure, ErrorKind
from mailing.engine.claims import _now, _pause_account, _record_failure, process_key
from mailing.mailings.services import mailing_submit
from mailing.models import (
    Attachment,
    Mailing,
    Message,
    Recipient,
    SendingAccount,
    WorkerProcess,
)
from mailing.sending_accounts.hosts import connection_addresses
from mailing.sending_accounts.smtp_errors import classify
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Message.Status


def _submitted(account, user, count, django_capture_on_commit_callbacks):
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject="s",
                           body="b", audience={"addresses": [f"p{n}@example.org"
                                                             for n in range(count)]})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    return mailing


def test_leases_take_nothing_from_a_process_that_still_beats(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    _submitted(account, secretary, 2, django_capture_on_commit_callbacks)
    owner = worker_identity()  # this process's key
    claim(account, owner, 2)
    Message.objects.update(lease_expires_at=_now() - timedelta(minutes=5))
    WorkerProcess.objects.create(key=process_key(), beat_at=_now())
    recover_expired()
    assert Message.objects.filter(status=S.SENDING, lease_owner=owner).count() == 2
    WorkerProcess.objects.update(beat_at=_now() - timedelta(minutes=5))
    recover_expired()
    assert Message.objects.filter(status=S.QUEUED).count() == 2


def test_a_failure_leaves_alone_a_message_another_worker_took(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    _submitted(account, secretary, 1, django_capture_on_commit_callbacks)
    (message,) = claim(account, "host:1:aaaa/one", 1)
    Message.objects.update(lease_owner="host:2:bbbb/two")  # its lease ran out; taken since
    _record_failure(message, DeliveryFailure(ErrorKind.CONNECTION, "refused"), _now(),
                    owner="host:1:aaaa/one")
    message.refresh_from_db()
    assert (message.status, message.lease_owner) == (S.SENDING, "host:2:bbbb/two")
    assert set(Recipient.objects.values_list("status", flat=True)) == {S.SENDING}


def test_a_message_that_cannot_be_built_fails_with_the_reason(
        sink, secretary, school, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    account = make_account(sink)
    mailing = _submitted(account, secretary, 2, django_capture_on_commit_callbacks)
    attachment = Attachment(mailing=mailing, filename="plan.pdf",
                            content_type="application/pdf", size=8)
    attachment.file.save("plan.pdf", ContentFile(b"%PDF-1.4"), save=True)
    attachment.file.storage.delete(attachment.file.name)  # gone from the disk
    assert send_account_work(account.pk) is False
    assert sink.received == []
    assert set(Message.objects.values_list("status", flat=True)) == {S.FAILED}
    reason = Message.objects.first().smtp_text
    assert reason == "Le message n'a pas pu être construit : No such file or directory"
    assert str(tmp_path) not in reason
    assert not Message.objects.filter(in_flight_at__isnull=False).exists()


def test_a_refused_sender_pauses_the_account_instead_of_failing_every_message():
    failure = classify(smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not owned by user",
                                                 "ecole@example.org"))
    assert failure.kind == ErrorKind.POLICY
    assert failure.server_reply == "553 5.7.1 Sender not owned by user"


def test_the_operators_relay_may_be_on_a_private_network(settings):
    settings.SMTP_ALLOW_INTERNAL_HOSTS = False
    assert connection_addresses("127.0.0.1", 587)[1]  # a school's account: refused
    addresses, problem = connection_addresses("127.0.0.1", 587, allow_internal=True)
    assert (addresses, problem) == (["127.0.0.1"], None)


@pytest.mark.django_db(transaction=True)
def test_a_submission_that_fails_half_way_leaves_nothing_behind(
        smtp_server, secretary, school, monkeypatch):
    """mailing_submit is one transaction: the messages written before a failure go with it."""
    from mailing.mailings import services

    account = make_account(smtp_server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="s",
                           body="b", audience={"addresses": ["a@example.org", "b@example.org"]})
    real = services._bulk_insert

    def failing(model, *args, **kwargs):
        if model is Recipient:
            raise RuntimeError("the database went away")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(services, "_bulk_insert", failing)
    with pytest.raises(RuntimeError):
        services.mailing_submit(mailing=mailing)
    assert not Message.objects.filter(mailing=mailing).exists()
    assert Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.DRAFT


def test_a_refusal_of_credentials_changed_since_does_not_pause_the_account(sink):
    """A run read the account, then an administrator saved new credentials ("Reconnecter", a
    new password) before the old ones were refused: the refusal must not pause the account
    the administrator just fixed. Refused again with the new ones, it pauses."""
    account = make_account(sink)
    read_by_the_run = SendingAccount.objects.get(pk=account.pk)
    fixed = SendingAccount.objects.get(pk=account.pk)
    fixed.password = "the new one"
    fixed.save()
    refused = DeliveryFailure(ErrorKind.AUTHENTICATION, "535 5.7.8 Authentication failed")
    assert _pause_account(read_by_the_run, refused) is False
    assert SendingAccount.objects.get(pk=account.pk).paused_reason == ""
    assert _pause_account(SendingAccount.objects.get(pk=account.pk), refused) is True
    assert "535 5.7.8" in SendingAccount.objects.get(pk=account.pk).paused_reason
