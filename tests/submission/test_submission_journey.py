"""Pronote, played by smtplib: STARTTLS, AUTH with a generated access, a message with an
attachment to three recipients, out through the same engine as Eduka's own mail."""

import smtplib

import dkim
import pytest

from mailing.engine import send_account_work
from mailing.mailings.rendering import verp_address
from mailing.mailings.selectors import mailing_counts, mailing_counts_mismatches
from mailing.models import ApplicationAccess, Mailing, Recipient, SubmittedMessage
from mailing.tracking.inbound import inbound_controller
from tests.mailing.samples import sample
from tests.mailing.test_rendering import dkim_key  # noqa: F401 (fixture)
from tests.submission.conftest import OWN, connect, free_port, note

pytestmark = pytest.mark.django_db(transaction=True)
S = Recipient.Status


@pytest.fixture
def inbound(relay):
    controller = inbound_controller(host="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


FAMILIES = ["parent.un@example.org", "parent.deux@example.net", "parent.trois@example.com"]


def test_a_message_from_pronote_is_stored_sent_as_received_signed_and_tracked(
        submission, client_tls, pronote, relay, inbound, dkim_key):  # noqa: F811
    _, server, _ = submission
    access, password = pronote
    message = note(FAMILIES, X_Mailer="PRONOTE 2026", Message_ID="<bulletin-42@pronote.local>")
    message.add_attachment(b"%PDF-1.7 bulletin", maintype="application", subtype="pdf",
                           filename="bulletin.pdf")
    with connect(server, client_tls, login=(access.username, password)) as client:
        refused = client.send_message(message)
        code, reply = client.noop()
    assert refused == {}

    mailing = Mailing.objects.get()
    assert mailing.mode == Mailing.Mode.RELAYED
    assert mailing.subject == "Bulletin du 1er trimestre"
    assert mailing.submitted.application == access
    assert sorted(Recipient.objects.filter(mailing=mailing).values_list("email", flat=True)) \
        == sorted(FAMILIES)
    access.refresh_from_db()
    assert access.last_used_at is not None and access.last_used_from == "127.0.0.1"

    send_account_work(mailing.account_id)
    [received] = relay.received
    sent = mailing.messages.get()
    assert received.mail_from == verp_address(sent.pk)
    assert sorted(received.rcpt_tos) == sorted(FAMILIES)
    assert dkim.verify(received.content, dnsfunc=lambda name, timeout=5: dkim_key)
    stored = bytes(SubmittedMessage.objects.get().raw)
    # Exactly what Pronote sent, only signed: headers and body intact.
    assert received.content.endswith(stored)
    assert received.content[:len(received.content) - len(stored)].startswith(b"DKIM-Signature:")
    parsed = received.message()
    assert parsed["X-Mailer"] == "PRONOTE 2026"
    assert parsed["Message-ID"] == "<bulletin-42@pronote.local>"
    assert sent.message_id == "<bulletin-42@pronote.local>"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content() == b"%PDF-1.7 bulletin"
    assert set(Recipient.objects.filter(mailing=mailing).values_list("status", flat=True)) \
        == {S.SENT}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE

    # A delivery report to the VERP address, through the inbound server, marks the bounce.
    report = sample("postfix_failed", verp=received.mail_from, recipient=FAMILIES[1],
                    message_id=sent.message_id)
    with smtplib.SMTP(inbound.hostname, inbound.port) as client:
        client.sendmail("", [received.mail_from], report)
    assert Recipient.objects.get(email=FAMILIES[1]).status == S.BOUNCED
    assert Recipient.objects.get(email=FAMILIES[0]).status == S.SENT


def test_bcc_and_return_path_are_dropped_and_a_missing_message_id_is_added(
        submission, client_tls, pronote, relay):
    _, server, _ = submission
    access, password = pronote
    raw = (f"Return-Path: <forged@example.org>\r\nFrom: {OWN}\r\nTo: a@example.org\r\n"
           "Bcc: secret@example.org,\r\n other-secret@example.org\r\nSubject: Hello\r\n\r\n"
           "Body\r\n").encode()
    with connect(server, client_tls, login=(access.username, password)) as client:
        client.sendmail(OWN, ["a@example.org", "secret@example.org"], raw)
    stored = bytes(SubmittedMessage.objects.get().raw)
    assert b"secret@example.org" not in stored
    assert b"Return-Path" not in stored
    assert b"Message-ID: <" in stored and b"Date: " in stored
    assert stored.endswith(b"Subject: Hello\r\n\r\nBody\r\n")
    send_account_work(Mailing.objects.get().account_id)
    [received] = relay.received
    assert sorted(received.rcpt_tos) == ["a@example.org", "secret@example.org"]
    assert b"secret@example.org" not in received.content


def test_a_suppressed_address_is_skipped_with_its_reason(submission, client_tls, pronote,
                                                         relay):
    from mailing.models import SuppressedAddress

    SuppressedAddress.objects.create(email="Gone@Example.org", reason="5.1.1 user unknown")
    _, server, _ = submission
    access, password = pronote
    with connect(server, client_tls, login=(access.username, password)) as client:
        client.send_message(note(["gone@example.org", "ok@example.org"]))
    skipped = Recipient.objects.get(email="gone@example.org")
    assert (skipped.status, skipped.smtp_text) == (S.SKIPPED, "5.1.1 user unknown")
    send_account_work(skipped.mailing.account_id)
    assert [m.rcpt_tos for m in relay.received] == [["ok@example.org"]]
    assert mailing_counts_mismatches(skipped.mailing) == {}  # stored through bulk_create
    assert mailing_counts(skipped.mailing)["skipped"] == 1


def test_the_same_message_sent_again_after_a_lost_answer_is_stored_once(
        submission, client_tls, pronote):
    _, server, _ = submission
    access, password = pronote
    message = note(Message_ID="<once@pronote.local>")
    for _ in range(2):
        with connect(server, client_tls, login=(access.username, password)) as client:
            client.send_message(message)
    assert Mailing.objects.count() == 1
    # Another message reusing the Message-ID is not lost.
    with connect(server, client_tls, login=(access.username, password)) as client:
        client.send_message(note(subject="Autre", Message_ID="<once@pronote.local>"))
    assert Mailing.objects.count() == 2


def test_implicit_tls_works_too(submission, client_tls, pronote):
    _, _, tls_server = submission
    access, password = pronote
    with smtplib.SMTP_SSL(tls_server.hostname, tls_server.port, context=client_tls,
                          timeout=10) as client:
        client.login(access.username, password)
        client.send_message(note())
    assert ApplicationAccess.objects.get().messages.count() == 1
