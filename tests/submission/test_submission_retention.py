"""What other applications submitted is personal data: its content is deleted
SUBMISSION_RETENTION_DAYS after it arrived, once nothing of it can still leave."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailing.engine import send_account_work
from mailing.mailings.services import mailing_retry_failed
from mailing.models import Mailing, Message, Recipient, SubmittedMessage
from mailing.submission.accept import submission_accept, submitted_purge
from mailing.tasks import purge_submitted
from tests.submission.conftest import OWN, note

pytestmark = pytest.mark.django_db
S = Recipient.Status


def _submit(access, to):
    return submission_accept(access_pk=access.pk, mail_from=OWN, rcpt_tos=[to],
                             raw=note([to]).as_bytes().replace(b"\n", b"\r\n"))


def test_it_deletes_old_content_once_nothing_can_leave(pronote, relay, settings):
    access, _ = pronote
    sent = _submit(access, "sent@example.org")
    waiting = _submit(access, "waiting@example.org")
    recent = _submit(access, "recent@example.org")
    send_account_work(access.account_id)
    Message.objects.filter(mailing_id=waiting.mailing_id).update(status=S.DEFERRED)
    old = timezone.now() - timedelta(days=settings.SUBMISSION_RETENTION_DAYS + 1)
    SubmittedMessage.objects.exclude(mailing_id=recent.mailing_id).update(received_at=old)

    assert purge_submitted() == 1
    purged = SubmittedMessage.objects.get(mailing_id=sent.mailing_id)
    assert (bytes(purged.raw), purged.purged_at is not None) == (b"", True)
    assert bytes(SubmittedMessage.objects.get(mailing_id=waiting.mailing_id).raw)
    assert bytes(SubmittedMessage.objects.get(mailing_id=recent.mailing_id).raw)
    # The fate stays recorded.
    assert Recipient.objects.get(email="sent@example.org").status == S.SENT
    assert submitted_purge() == 0


def test_a_message_asked_again_after_its_content_was_deleted_fails_with_the_reason(
        pronote, relay, settings):
    access, _ = pronote
    accepted = _submit(access, "parent@example.org")
    Message.objects.filter(mailing_id=accepted.mailing_id).update(status=S.FAILED)
    Recipient.objects.filter(mailing_id=accepted.mailing_id).update(status=S.FAILED)
    SubmittedMessage.objects.update(
        received_at=timezone.now() - timedelta(days=settings.SUBMISSION_RETENTION_DAYS + 1))
    assert submitted_purge() == 1
    mailing_retry_failed(mailing=Mailing.objects.get(pk=accepted.mailing_id))
    send_account_work(access.account_id)
    assert relay.received == []
    recipient = Recipient.objects.get()
    assert recipient.status == S.FAILED
    assert "supprimé" in recipient.smtp_text  # the reason, in the platform's language
