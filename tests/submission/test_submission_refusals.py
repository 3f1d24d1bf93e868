"""Every refusal of the submission server, with its SMTP code, and nothing stored."""

import base64
import smtplib
import time

import pytest

from mailing.models import Mailing
from mailing.submission.credentials import access_create, access_revoke, password_matches
from tests.submission.conftest import OWN, connect, note

pytestmark = pytest.mark.django_db(transaction=True)


def _auth_plain(client, username, password):
    """One AUTH PLAIN attempt (smtplib's login() tries every mechanism in turn)."""
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return client.docmd("AUTH", f"PLAIN {token}")


def _nothing_stored():
    assert not Mailing.objects.exists()


def test_it_refuses_auth_and_mail_before_tls(submission, pronote):
    _, server, _ = submission
    access, password = pronote
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("auth")  # no AUTH offered in clear text
        assert client.docmd("AUTH", "PLAIN AHVzZXIAcGFzcw==")[0] == 530
        assert client.docmd("MAIL", f"FROM:<{OWN}>")[0] == 530
    _nothing_stored()


def test_it_refuses_mail_before_auth(submission, client_tls, pronote):
    _, server, _ = submission
    with connect(server, client_tls) as client:
        code, text = client.docmd("MAIL", f"FROM:<{OWN}>")
    assert (code, text) == (530, b"5.7.0 Authentication required")
    _nothing_stored()


def test_a_wrong_password_gets_535(submission, client_tls, pronote):
    _, server, _ = submission
    access, password = pronote
    with connect(server, client_tls) as client, \
            pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(access.username, password + "x")
    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error.startswith(b"5.7.8")
    # An unknown user name gets the very same answer.
    with connect(server, client_tls) as client, \
            pytest.raises(smtplib.SMTPAuthenticationError) as unknown:
        client.login("nobody-123456", password)
    assert (unknown.value.smtp_code, unknown.value.smtp_error) == (
        refused.value.smtp_code, refused.value.smtp_error)


def test_repeated_failures_slow_down_then_block_the_address(settings, certificate,
                                                             client_tls, pronote):
    settings.SUBMISSION_AUTH_FREE_FAILURES, settings.SUBMISSION_AUTH_MAX_FAILURES = 1, 3
    from mailing.submission.server import submission_controllers
    from tests.submission.conftest import free_port

    handler, controllers = submission_controllers(host="127.0.0.1", port=free_port())
    [server] = controllers
    server.start()
    try:
        access, password = pronote
        with connect(server, client_tls) as client:
            assert _auth_plain(client, access.username, "guess")[0] == 535
            started = time.monotonic()
            assert _auth_plain(client, access.username, "guess")[0] == 535
            # The second failure was answered only after the throttle's wait (1 s).
            assert time.monotonic() - started >= 0.9
            assert _auth_plain(client, access.username, "guess") == (
                421, b"4.7.0 Too many failed logins from your address, try again later")
        # The address stays blocked, even with the right password.
        with pytest.raises(smtplib.SMTPResponseException) as greeting:
            connect(server, client_tls, login=(access.username, password))
        assert greeting.value.smtp_code == 421
        assert handler.throttle.is_blocked("127.0.0.1")
    finally:
        server.stop()
        handler.db.close()
    _nothing_stored()


def test_a_revoked_access_is_refused_even_in_an_open_session(submission, client_tls, pronote,
                                                            account):
    _, server, _ = submission
    access, password = pronote
    other, other_password = access_create(account=account, name="Copieur")
    with connect(server, client_tls, login=(other.username, other_password)) as client:
        access_revoke(access=other)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(note())
    assert refused.value.smtp_code == 535
    with connect(server, client_tls) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(other.username, other_password)
    _nothing_stored()
    # The other access of the account still works.
    with connect(server, client_tls, login=(access.username, password)) as client:
        client.send_message(note())
    assert Mailing.objects.count() == 1


@pytest.mark.parametrize("sender, header_from, code, where", [
    ("principal@ecole.example.org", OWN, 550, "MAIL"),
    (OWN, "principal@ecole.example.org", 550, "DATA"),
    (OWN, f"{OWN}, autre@ecole.example.org", 550, "DATA"),
])
def test_it_is_never_an_open_relay(submission, client_tls, pronote, sender, header_from, code,
                                   where):
    _, server, _ = submission
    access, password = pronote
    message = note()
    del message["From"]
    message["From"] = header_from
    with connect(server, client_tls, login=(access.username, password)) as client, \
            pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        client.send_message(message, from_addr=sender)
    assert refused.value.smtp_code == code
    assert b"5.7.1" in refused.value.smtp_error
    assert isinstance(refused.value, smtplib.SMTPSenderRefused) == (where == "MAIL")
    _nothing_stored()


def test_a_message_over_the_size_limit_gets_552(settings, submission, client_tls, pronote):
    handler, server, _ = submission
    settings.SUBMISSION_MAX_BYTES = 10_000
    from mailing.submission.server import submission_controllers
    from tests.submission.conftest import free_port

    _, [small] = submission_controllers(host="127.0.0.1", port=free_port(), handler=handler)
    small.start()
    try:
        access, password = pronote
        message = note()
        message.add_attachment(b"x" * 20_000, maintype="application", subtype="pdf",
                               filename="big.pdf")
        with connect(small, client_tls, login=(access.username, password)) as client:
            assert "10000" in client.esmtp_features["size"]
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(message)
        assert refused.value.smtp_code == 552
    finally:
        small.stop()
    _nothing_stored()


def test_too_many_recipients_in_one_message_get_452(settings, submission, client_tls,
                                                    pronote):
    settings.SUBMISSION_MAX_RECIPIENTS = 2
    _, server, _ = submission
    access, password = pronote
    with connect(server, client_tls, login=(access.username, password)) as client:
        refused = client.send_message(note(["a@example.org", "b@example.org",
                                            "c@example.org"]))
    assert refused["c@example.org"][0] == 452
    assert Mailing.objects.get().recipients.count() == 2


def test_the_rate_limits_answer_451_4_7_1(settings, submission, client_tls, pronote):
    settings.SUBMISSION_MESSAGES_PER_MINUTE = 2
    _, server, _ = submission
    access, password = pronote
    with connect(server, client_tls, login=(access.username, password)) as client:
        client.send_message(note())
        client.send_message(note())
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(note())
    assert (refused.value.smtp_code, refused.value.smtp_error[:5]) == (451, b"4.7.1")
    assert Mailing.objects.count() == 2

    settings.SUBMISSION_MESSAGES_PER_MINUTE, settings.SUBMISSION_RECIPIENTS_PER_HOUR = 100, 4
    with connect(server, client_tls, login=(access.username, password)) as client:
        refused = client.send_message(note(["c@example.org", "d@example.org",
                                            "e@example.org"]))
    assert list(refused) == ["e@example.org"] and refused["e@example.org"][0] == 451
    assert Mailing.objects.count() == 3


def test_the_password_is_stored_hashed(pronote):
    access, password = pronote
    assert password not in access.password_hash
    assert password_matches(password, access.password_hash)
    assert not password_matches(password[:-1], access.password_hash)
    assert len(password) == 24
