"""Reading delivery reports as real servers write them (samples in tests/mailing/samples/)."""

import pytest

from mailing.tracking.dsn import parse_delivery_report
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


def test_it_takes_the_diagnostics_code_when_the_status_is_generic():
    """Exim writes Status 5.0.0 next to the remote server's 550 5.1.1."""
    [item] = parse_delivery_report(sample("exim_generic_status")).recipients
    assert (item.status, item.reported_status) == ("5.1.1", "5.0.0")
    assert item.diagnostic == ("smtp; 550 5.1.1 <gone@example.org>: Recipient address "
                               "rejected: User unknown")
    assert item.reason == "Status: 5.0.0; " + item.diagnostic


@pytest.mark.parametrize("status,diagnostic,expected", [
    ("5.0.0", "smtp; 550 4.2.2 mailbox full", "5.0.0"),  # another class: not taken
    ("5.0.0", "smtp; 550 Requested action not taken", "5.0.0"),  # no enhanced code
    ("4.0.0", "smtp; 452 4.2.2 Mailbox full", "4.2.2"),
    ("5.1.0", "smtp; 550 5.1.1 User unknown", "5.1.0"),  # the Status is precise already
])
def test_it_keeps_the_status_unless_a_generic_one_has_a_precise_code_of_its_class(
        status, diagnostic, expected):
    raw = sample("exim_generic_status").replace(b"Status: 5.0.0", f"Status: {status}".encode())
    raw = raw.replace(b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient "
                      b"address rejected:\r\n User unknown",
                      f"Diagnostic-Code: {diagnostic}".encode())
    [item] = parse_delivery_report(raw).recipients
    assert item.status == expected
    assert item.reported_status == ("" if expected == status else status)


@pytest.mark.parametrize("name,status,diagnostic", [
    ("qmail_over_quota", "5.2.2",
     "The recipient's mailbox is full (over quota). Sorry, I couldn't deliver your message."),
    ("qmail_no_such_user", "5.1.1", "Sorry, no such user here."),
    ("isp_mailbox_full_fr", "5.2.2",
     "gone@example.org : boîte aux lettres pleine (quota dépassé)"),
    ("isp_unknown_user_fr", "5.1.1", "Raison : adresse introuvable, utilisateur inconnu"),
])
def test_it_reads_a_prose_bounce_without_any_code(name, status, diagnostic):
    report = parse_delivery_report(sample(name), mail_from="")
    assert not report.standard
    assert report.original_message_id == MESSAGE_ID
    [item] = report.recipients
    assert (item.final_recipient, item.action, item.status) == ("gone@example.org", "failed",
                                                                status)
    assert item.diagnostic == diagnostic


@pytest.mark.parametrize("sentence,status", [
    ("user is over quota", "5.2.2"),
    ("Mailbox full", "5.2.2"),
    ("The user's mailbox has exceeded its storage allocation", "5.2.2"),
    ("Quota exceeded", "5.2.2"),
    ("La boîte aux lettres du destinataire est pleine", "5.2.2"),
    ("Dépassement de quota", "5.2.2"),
    ("Unknown user", "5.1.1"),
    ("User unknown", "5.1.1"),
    ("This address does not exist", "5.1.1"),
    ("Destinataire inconnu", "5.1.1"),
    ("Adresse inexistante", "5.1.1"),
    ("L'adresse du destinataire n'existe pas", "5.1.1"),
])
def test_it_knows_the_common_phrasings_in_english_and_french(sentence, status):
    raw = (f"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           f"<gone@example.org>:\r\n{sentence}\r\n").encode()
    [item] = parse_delivery_report(raw, mail_from="").recipients
    assert (item.status, item.diagnostic) == (status, sentence)


@pytest.mark.parametrize("name,mail_from", [
    ("human_reply_quoting_bounce", "gone@example.org"),
    ("human_reply_quoting_bounce", ""),  # even from a null sender: it is a person's From
    ("auto_reply_mailbox_full", ""),
    ("auto_reply_mailbox_full", "gone@example.org"),
])
def test_it_never_takes_a_reply_quoting_such_a_sentence_for_a_bounce(name, mail_from):
    assert parse_delivery_report(sample(name), mail_from=mail_from) is None


def test_it_does_not_take_a_delay_notice_about_a_full_mailbox_for_a_bounce():
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Delivery delayed\r\n\r\n"
           b"<gone@example.org>: mailbox is full\r\nI'm still trying.\r\n")
    assert parse_delivery_report(raw, mail_from="") is None


def test_it_ignores_the_sentence_in_the_quoted_original():
    raw = sample("qmail_over_quota").replace(
        b"The recipient's mailbox is full (over quota). Sorry, I couldn't deliver your "
        b"message.", b"Delivered.").replace(b"La reunion", b"Utilisateur inconnu ? La reunion")
    assert parse_delivery_report(raw, mail_from="") is None
