"""Reading delivery reports as real servers write them (samples in tests/mailing/samples/)."""

import pytest

from mailing.dsn import parse_delivery_report
from tests.mailing.samples import sample

MESSAGE_ID = "<0123abcd@ecolemail.eduka.school>"


@pytest.mark.parametrize("name", ["postfix_failed", "office365_failed", "gmail_failed"])
def test_it_reads_a_hard_bounce_from_common_servers(name):
    report = parse_delivery_report(sample(name), mail_from="")
    assert report.standard
    assert report.original_message_id == MESSAGE_ID
    [item] = report.recipients
    assert item.final_recipient == "gone@example.org"
    assert item.action == "failed"
    assert item.status.startswith("5.1.")
    assert item.is_permanent_failure


def test_it_keeps_the_diagnostic_as_the_server_wrote_it_unfolded():
    [item] = parse_delivery_report(sample("postfix_failed")).recipients
    assert item.diagnostic == ("smtp; 550 5.1.1 <gone@example.org>: Recipient address "
                               "rejected: User unknown in virtual mailbox table")
    [o365] = parse_delivery_report(sample("office365_failed")).recipients
    assert o365.status == "5.1.10"
    assert "RESOLVER.ADR.RecipientNotFound" in o365.diagnostic


def test_it_reads_the_envelope_id_and_the_original_recipient():
    report = parse_delivery_report(sample("postfix_failed"))
    assert report.envelope_id == MESSAGE_ID  # xtext-decoded
    assert report.recipients[0].original_recipient == "gone@example.org"


def test_it_reads_success_and_delay_reports():
    [delivered] = parse_delivery_report(sample("postfix_delivered")).recipients
    assert (delivered.action, delivered.status) == ("delivered", "2.0.0")
    [delayed] = parse_delivery_report(sample("postfix_delayed")).recipients
    assert (delayed.action, delayed.status) == ("delayed", "4.4.1")
    assert "Connection timed out" in delayed.diagnostic
    assert not delayed.is_permanent_failure


def test_it_reads_every_recipient_of_a_report_about_several():
    report = parse_delivery_report(sample("exchange_relayed_bcc", other="full@example.org"))
    relayed, failed = report.recipients
    assert (relayed.action, relayed.original_recipient) == ("relayed", "gone@example.org")
    assert relayed.final_recipient == "forwarded-gone@example.org"
    assert (failed.final_recipient, failed.action, failed.status) == (
        "full@example.org", "failed", "5.2.2")


def test_it_reads_a_prose_bounce_only_on_a_permanent_code():
    report = parse_delivery_report(sample("qmail_failed"), mail_from="")
    assert not report.standard
    [item] = report.recipients
    assert (item.final_recipient, item.action, item.status) == ("gone@example.org", "failed",
                                                                "5.1.1")
    assert item.diagnostic == "Sorry, no mailbox here by that name. (#5.1.1)"
    assert report.original_message_id == MESSAGE_ID


def test_it_does_not_take_an_out_of_office_for_a_bounce():
    # A "550" in a person's text is no evidence: the sender is a person, not a mail system.
    assert parse_delivery_report(sample("out_of_office"), mail_from="gone@example.org") is None


def test_it_does_not_take_a_prose_notice_without_a_permanent_code_for_a_bounce():
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Delivery delayed\r\n\r\n"
           b"<gone@example.org>: 451 4.4.1 still trying\r\n")
    assert parse_delivery_report(raw, mail_from="") is None


def test_it_does_not_take_a_null_sender_auto_reply_with_a_number_for_a_bounce():
    # RFC 3834 auto-replies may come with an empty envelope sender too.
    assert parse_delivery_report(sample("out_of_office"), mail_from="") is None


def test_it_reads_a_prose_bounce_with_a_bare_5xx_reply_and_its_words():
    raw = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
           b"Subject: Mail delivery failed\r\n\r\n"
           b"  gone@example.org\r\n    SMTP error from remote mail server after RCPT TO:\r\n"
           b"    550 No such user here\r\n")
    [item] = parse_delivery_report(raw, mail_from="").recipients
    assert (item.final_recipient, item.status) == ("gone@example.org", "5.0.0")
    assert item.diagnostic == "550 No such user here"
