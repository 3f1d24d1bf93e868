"""The SMTP client layer against real aiosmtpd servers (tests/smtp_servers.py)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from mailing.models import SendingAccount
from mailing.sending_accounts.smtp import ConnectionSettings, ErrorKind, SMTPConnection, SMTPFailure

pytestmark = pytest.mark.django_db
USER, PASSWORD = "sender@example.org", "  secret with spaces  "


@pytest.fixture(autouse=True)
def trust_test_ca(settings, smtp_server_factory):
    # Servers signed by the tests' CA are trusted the way a school's own CA would be.
    server = smtp_server_factory(mode="starttls")
    settings.SMTP_EXTRA_CA_FILE = server.ca_file
    server.stop()


def _settings(server, **overrides):
    values = {"host": server.host, "port": server.port,
              "security": {"plain": "none", "starttls": "tls", "tls": "ssl"}[server.mode],
              "username": USER, "password": PASSWORD, "timeout": 3}
    values.update(overrides)
    return ConnectionSettings(**values)


def _send(settings_, recipients=("parent@example.org",)):
    with SMTPConnection(settings_) as connection:
        return connection.send(b"Subject: t\r\n\r\nbody\r\n", "school@example.org",
                               list(recipients))


def _failure(settings_) -> SMTPFailure:
    with pytest.raises(SMTPFailure) as error:
        _send(settings_)
    return error.value


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_it_sends_over_verified_tls_with_the_exact_password(smtp_server_factory, mode):
    server = smtp_server_factory(mode=mode, users={USER: PASSWORD}, auth_require_tls=True)
    result = _send(_settings(server))
    assert result.accepted == ["parent@example.org"]
    assert result.reply.startswith("250")
    [received] = server.received
    assert received.tls and received.auth_login == USER


def test_it_answers_535_verbatim_for_a_wrong_password_and_tries_once(smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: PASSWORD})
    failure = _failure(_settings(server, password=PASSWORD.strip()))
    assert failure.kind == ErrorKind.AUTHENTICATION
    assert failure.server_reply == "535 5.7.3 Authentication unsuccessful"
    assert server.auth_attempts == 1


def test_it_authenticates_a_non_ascii_password_in_utf8(smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: "pässwörd ünïcode"})
    assert _send(_settings(server, password="pässwörd ünïcode")).accepted


def test_it_never_falls_back_to_plain_text_without_starttls(smtp_server_factory):
    server = smtp_server_factory(mode="plain", users={USER: PASSWORD})
    failure = _failure(_settings(server, security="tls"))
    assert failure.kind == ErrorKind.TLS
    assert server.received == [] and server.auth_attempts == 0


def test_it_refuses_auth_over_plain_text_unless_allowed(smtp_server_factory):
    server = smtp_server_factory(mode="plain", users={USER: PASSWORD})
    assert _failure(_settings(server)).kind == ErrorKind.TLS
    assert server.auth_attempts == 0
    assert _send(_settings(server, allow_plain_auth=True)).accepted


def test_it_rejects_a_self_signed_certificate_unless_pinned(smtp_server_factory):
    server = smtp_server_factory(mode="tls", certificate="self-signed", users={USER: PASSWORD})
    assert _failure(_settings(server)).kind == ErrorKind.CERTIFICATE
    pinned = server.cert_pem.decode()
    assert _send(_settings(server, pinned_certificate=pinned)).accepted
    other = smtp_server_factory(mode="tls", certificate="ca")  # another certificate
    assert _failure(_settings(server, pinned_certificate=other.cert_pem.decode(),
                              username="")).kind == ErrorKind.CERTIFICATE


@pytest.mark.parametrize("fault,kind", [("greet_421", ErrorKind.CONNECTION),
                                        ("drop_on_connect", ErrorKind.CONNECTION),
                                        ("hang", ErrorKind.TIMEOUT)])
def test_it_classifies_connection_faults(smtp_server_factory, fault, kind):
    server = smtp_server_factory(fault=fault)
    failure = _failure(_settings(server, username="", timeout=1))
    assert failure.kind == kind
    assert failure.transient
    if fault == "greet_421":
        assert failure.code == 421


def test_it_reports_connection_refused(smtp_server_factory):
    server = smtp_server_factory()
    server.stop()
    assert _failure(_settings(server, username="")).kind == ErrorKind.CONNECTION


def test_it_keeps_refused_recipients_with_their_codes(smtp_server_factory):
    server = smtp_server_factory(refuse_recipients={"gone@example.org": "550 5.1.1 User unknown"})
    result = _send(_settings(server, username=""), ["ok@example.org", "gone@example.org"])
    assert result.accepted == ["ok@example.org"]
    assert result.refused == {"gone@example.org": (550, "5.1.1 User unknown")}


def test_it_works_while_the_server_answers_and_keeps_dot_stuffing(smtp_server_factory):
    server = smtp_server_factory()
    content = b"Subject: t\r\n\r\n.first line starts with a period\r\n..two\r\nlast"
    calls = []
    with SMTPConnection(_settings(server, username="")) as connection:
        result = connection.send(content, "school@example.org", ["parent@example.org"],
                                 while_waiting=lambda: calls.append("waiting"))
    assert calls == ["waiting"]
    assert result.reply.startswith("250")
    assert server.received[0].content == content + b"\r\n"


def test_it_classifies_data_replies(smtp_server_factory):
    temporary = smtp_server_factory(fault="data_451")
    assert _failure(_settings(temporary, username="")).kind == ErrorKind.TEMPORARY
    permanent = smtp_server_factory(fault="data_554")
    failure = _failure(_settings(permanent, username=""))
    assert (failure.kind, failure.code) == (ErrorKind.PERMANENT, 554)


def test_it_refuses_internal_addresses_at_connect_time(smtp_server_factory, settings):
    server = smtp_server_factory()
    settings.SMTP_ALLOW_INTERNAL_HOSTS = False
    assert _failure(_settings(server, username="")).kind == ErrorKind.POLICY
    assert server.received == []


def _account(server, **fields):
    values = {"name": "Test", "kind": "external", "smtp_host": server.host,
              "smtp_port": server.port, "security": "tls", "sender_name": "École",
              "from_email": "ecole@example.org", "username": USER, "password": PASSWORD}
    return SendingAccount.objects.create(**{**values, **fields})


def test_the_test_button_sends_a_real_message_and_records_the_result(admin_client,
                                                                     smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: PASSWORD})
    account = _account(server)
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    assert "Test réussi" in response.content.decode()
    [received] = server.received
    assert received.rcpt_tos == ["admin@example.org"]
    assert received.message()["Auto-Submitted"] == "auto-generated"
    account.refresh_from_db()
    assert account.last_test_ok and account.last_test_message.startswith("250")


def test_the_test_message_encodes_its_from_name_like_mailings(admin_client,
                                                             smtp_server_factory):
    # U+2028 in the name made a From header that parsed as two addresses.
    server = smtp_server_factory(mode="starttls", users={USER: PASSWORD})
    account = _account(server, sender_name="École\u2028evil@attacker.example, x")
    admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                      {"to_email": "admin@example.org"})
    [received] = server.received  # CRLF only: ReceivedMessage.message() checks it
    parsed = received.message()
    assert [a.addr_spec for a in parsed["From"].addresses] == ["ecole@example.org"]
    assert parsed["Subject"].startswith("Eduka")
    assert "test" in parsed.get_content()


def test_the_test_button_shows_the_servers_error_verbatim(admin_client, smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: "the right one"})
    account = _account(server)
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    page = response.content.decode()
    assert "535 5.7.3 Authentication unsuccessful" in page
    assert "mot de passe" in page  # the translated hint
    account.refresh_from_db()
    assert account.last_test_ok is False


def test_send_test_email_command(smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: PASSWORD})
    account = _account(server)
    out = io.StringIO()
    call_command("send_test_email", str(account.pk), "--to", "ops@example.org", stdout=out)
    assert "250" in out.getvalue()
    account.password = "wrong"
    account.save()
    with pytest.raises(CommandError, match="535 5.7.3 Authentication unsuccessful"):
        call_command("send_test_email", "Test", "--to", "ops@example.org")


def test_it_never_puts_the_password_in_an_error_report(smtp_server_factory, rf):
    from django.views.debug import ExceptionReporter

    server = smtp_server_factory(mode="starttls", users={USER: "other"})
    try:
        _send(_settings(server))
    except SMTPFailure:
        import sys

        report = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_text()
    assert PASSWORD.strip() not in report


def test_it_reports_an_integrated_account_without_a_platform_relay(admin_client, settings):
    settings.INTEGRATED_RELAY_HOST = ""
    account = SendingAccount.objects.create(name="Intégré", kind="integrated",
                                            integrated_local_part="inscriptions",
                                            username="school-1", password="x")
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    assert "No SMTP server is configured" in response.content.decode()
    account.refresh_from_db()
    assert account.last_test_ok is False


def test_it_tells_a_live_connection_from_a_dropped_one(smtp_server_factory):
    server = smtp_server_factory()
    connection = SMTPConnection(_settings(server, username=""))
    connection.open()
    assert connection.is_alive()
    server.stop()
    assert not connection.is_alive()
    connection.close()


class _CountingWrites:
    """Counts the client's writes to the socket (each is a round trip's worth of commands)."""

    def __init__(self, connection):
        self.writes = 0
        original = connection.smtp.send

        def send(data):
            self.writes += 1
            return original(data)

        connection.smtp.send = send


@pytest.mark.parametrize("pipelining, writes", [(True, 2), (False, 7)])
def test_it_pipelines_mail_rcpt_and_data_when_the_server_offers_it(
        smtp_server_factory, pipelining, writes):
    server = smtp_server_factory(pipelining=pipelining, refuse_recipients={
        "gone@example.org": "550 5.1.1 User unknown", "later@example.org": "451 4.2.1 Later"})
    recipients = ["a@example.org", "gone@example.org", "b@example.org", "later@example.org"]
    with SMTPConnection(_settings(server, username="")) as connection:
        counter = _CountingWrites(connection)
        result = connection.send(b"Subject: t\r\n\r\nbody\r\n", "school@example.org",
                                 recipients)
        assert counter.writes == writes  # MAIL+RCPT×4+DATA, then the body — or one by one
        again = connection.send(b"Subject: t\r\n\r\nagain\r\n", "school@example.org",
                                ["c@example.org"])
    assert result.accepted == ["a@example.org", "b@example.org"]
    assert result.refused == {"gone@example.org": (550, "5.1.1 User unknown"),
                              "later@example.org": (451, "4.2.1 Later")}
    assert again.accepted == ["c@example.org"]
    assert [m.rcpt_tos for m in server.received] == [["a@example.org", "b@example.org"],
                                                      ["c@example.org"]]


def test_a_pipelined_transaction_with_no_accepted_recipient_leaves_the_connection_usable(
        smtp_server_factory):
    server = smtp_server_factory(refuse_recipients={"gone@example.org": "550 5.1.1 Unknown"})
    with SMTPConnection(_settings(server, username="")) as connection:
        nobody = connection.send(b"Subject: t\r\n\r\nx\r\n", "school@example.org",
                                 ["gone@example.org"])
        assert connection.is_alive()
        after = connection.send(b"Subject: t\r\n\r\ny\r\n", "school@example.org",
                                ["ok@example.org"])
    assert nobody.accepted == [] and nobody.refused["gone@example.org"][0] == 550
    assert after.accepted == ["ok@example.org"]
    assert [m.rcpt_tos for m in server.received] == [["ok@example.org"]]


def test_a_pipelined_sender_refusal_is_classified_with_the_servers_text(smtp_server_factory):
    server = smtp_server_factory(users={USER: PASSWORD}, auth_required=True)
    failure = _failure(_settings(server, username=""))  # no AUTH: MAIL answered 530
    assert failure.code == 530 and "Authentication required" in failure.server_reply
    assert server.received == []
