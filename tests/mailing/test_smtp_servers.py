"""Self-tests of tests/smtp_servers.py, with Python's smtplib as the only client."""

import base64
import email.policy
import smtplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage

import pytest

from tests.smtp_servers import SMTPTestServer, start_smtp_server

# Also declared by tests/conftest.py; repeating it here is harmless and keeps this
# module runnable on its own.

USER = "sender@example.org"
SPACED_PASSWORD = "  secret with spaces  "


@pytest.fixture(autouse=True)
def no_server_left_behind():
    yield
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        leftovers = [t for t in threading.enumerate() if t.name.startswith("smtp-test-server")]
        if not leftovers:
            return
        time.sleep(0.01)
    pytest.fail(f"SMTP test server threads left behind: {leftovers}")


def make_message(to="rcpt@example.org", subject="Hello"):
    message = EmailMessage()
    message["From"] = USER
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Bonjour, ça va ?\n.leading dot line\n")
    return message


def raw_message(**kwargs) -> bytes:
    return make_message(**kwargs).as_bytes(policy=email.policy.SMTP)  # CRLF line endings


def connect(server: SMTPTestServer, timeout=5) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=timeout)


def auth_plain_utf8(smtp: smtplib.SMTP, user: str, password: str):
    """AUTH PLAIN with UTF-8 credentials, which smtplib.login() cannot send."""
    blob = b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")
    return smtp.docmd("AUTH", "PLAIN " + base64.b64encode(blob).decode("ascii"))


def test_it_records_a_plain_message_with_envelope_and_parsed_message(smtp_server_factory):
    server = smtp_server_factory()
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.mode == "plain"
    assert server.ca_file is None and server.cert_pem is None

    with connect(server) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # no users, no AUTH
        refused = smtp.sendmail(USER, ["a@example.org", "b@example.org"], raw_message())
    assert refused == {}

    [received] = server.received
    assert received.mail_from == USER
    assert received.rcpt_tos == ["a@example.org", "b@example.org"]
    assert received.auth_login is None
    assert received.tls is False
    assert b"\r\n.leading dot line\r\n" in received.content  # dot-unstuffed
    parsed = received.message()
    assert parsed["Subject"] == "Hello"
    assert parsed.get_content() == "Bonjour, ça va ?\n.leading dot line\n"


def test_it_offers_starttls_verified_against_the_test_ca(smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: "pw"}, auth_require_tls=True)
    assert server.ca_file is not None
    assert server.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    context = ssl.create_default_context(cafile=server.ca_file)

    with connect(server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # not offered before TLS
        smtp.starttls(context=context)
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.has_extn("auth")
        assert smtp.sock.getpeercert()["subject"] == ((("commonName", "localhost"),),)
        smtp.login(USER, "pw")
        smtp.send_message(make_message())

    [received] = server.received
    assert received.tls is True
    assert received.auth_login == USER


def test_it_verifies_the_ip_address_in_the_certificate(smtp_server_factory):
    server = smtp_server_factory(mode="starttls")
    context = ssl.create_default_context(cafile=server.ca_file)
    with smtplib.SMTP("localhost", server.port, timeout=5) as smtp:
        smtp.starttls(context=context)  # hostname "localhost" matches the DNS SAN
    with connect(server) as smtp:
        smtp.starttls(context=context)  # "127.0.0.1" matches the IP SAN


def test_it_refuses_auth_before_starttls_when_tls_is_required(smtp_server_factory):
    server = smtp_server_factory(mode="starttls", users={USER: "pw"}, auth_require_tls=True)
    with connect(server) as smtp:
        smtp.ehlo()
        code, reply = auth_plain_utf8(smtp, USER, "pw")
    assert code == 538
    assert server.auth_attempts == 1


def test_it_speaks_implicit_tls(smtp_server_factory):
    server = smtp_server_factory(mode="tls", users={USER: "pw"}, auth_require_tls=True)
    context = ssl.create_default_context(cafile=server.ca_file)

    with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.has_extn("auth")  # already encrypted
        smtp.login(USER, "pw")
        smtp.send_message(make_message())

    [received] = server.received
    assert received.tls is True
    assert received.auth_login == USER


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_it_serves_a_self_signed_certificate_that_can_be_pinned(
    smtp_server_factory, tmp_path, mode
):
    server = smtp_server_factory(mode=mode, certificate="self-signed")
    assert server.ca_file is None
    assert server.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")

    def send(context):
        if mode == "tls":
            with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5) as smtp:
                smtp.send_message(make_message())
        else:
            with connect(server) as smtp:
                smtp.starttls(context=context)
                smtp.send_message(make_message())

    with pytest.raises(ssl.SSLCertVerificationError):
        send(ssl.create_default_context())
    assert server.received == []

    pinned = tmp_path / "pinned.pem"
    pinned.write_bytes(server.cert_pem)
    send(ssl.create_default_context(cafile=str(pinned)))
    [received] = server.received
    assert received.tls is True


def test_it_compares_passwords_exactly(smtp_server):
    with connect(smtp_server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("auth")  # a plain server may offer AUTH in clear
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            smtp.login(USER, SPACED_PASSWORD.strip())
        assert error.value.smtp_code == 535
        assert b"5.7.3 Authentication unsuccessful" in error.value.smtp_error
        assert smtp.login(USER, SPACED_PASSWORD)[0] == 235
        smtp.send_message(make_message())

    assert smtp_server.received[0].auth_login == USER
    assert smtp_server.received[0].tls is False
    # smtplib.login() tries every advertised mechanism it knows (PLAIN, then LOGIN)
    # before giving up: the failed login cost two attempts.
    assert smtp_server.auth_attempts == 3


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_it_supports_plain_and_login_mechanisms(smtp_server, mechanism):
    with connect(smtp_server) as smtp:
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        smtp.user, smtp.password = USER, SPACED_PASSWORD
        authobject = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        assert smtp.auth(mechanism, authobject)[0] == 235

    with connect(smtp_server) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = USER, "wrong"
        authobject = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            smtp.auth(mechanism, authobject)
        assert error.value.smtp_code == 535


def test_it_accepts_non_ascii_passwords_sent_as_utf8(smtp_server_factory):
    # smtplib.SMTP.login() and .auth() call .encode("ascii") on what the auth object
    # returns, so a non-ASCII password raises UnicodeEncodeError before anything is
    # sent.  A client must base64-encode the UTF-8 SASL string itself (RFC 4616) and
    # send it with docmd(); the server compares the UTF-8 decoded password exactly.
    server = smtp_server_factory(users={"usér@example.org": "pässwörd"})
    with connect(server) as smtp:
        smtp.ehlo()
        with pytest.raises(UnicodeEncodeError):
            smtp.login("usér@example.org", "pässwörd")
        assert server.auth_attempts == 0  # nothing was sent

        code, reply = auth_plain_utf8(smtp, "usér@example.org", "passwörd")
        assert (code, reply) == (535, b"5.7.3 Authentication unsuccessful")
        code, reply = auth_plain_utf8(smtp, "usér@example.org", "pässwörd")
        assert code == 235
        smtp.send_message(make_message())
    assert server.received[0].auth_login == "usér@example.org"

    # AUTH LOGIN works the same way, one base64 UTF-8 string per challenge.
    with connect(server) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd(
            "AUTH", "LOGIN " + base64.b64encode("usér@example.org".encode()).decode()
        )
        assert code == 334
        code, _ = smtp.docmd(base64.b64encode("pässwörd".encode()).decode())
        assert code == 235


def test_it_greets_421(smtp_server_factory):
    server = smtp_server_factory(fault="greet_421")
    with pytest.raises(smtplib.SMTPConnectError) as error:
        connect(server)
    assert error.value.smtp_code == 421
    assert error.value.smtp_error == (b"4.3.2 Service not available, closing transmission channel")


def test_it_drops_the_connection_without_greeting(smtp_server_factory):
    server = smtp_server_factory(fault="drop_on_connect")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        connect(server)


def test_it_hangs_until_the_client_times_out(smtp_server_factory):
    server = smtp_server_factory(fault="hang")
    started = time.monotonic()
    # smtplib turns the socket timeout into SMTPServerDisconnected("... timed out"),
    # chaining the original TimeoutError (== socket.timeout).
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as error:
        connect(server, timeout=1)
    assert isinstance(error.value.__context__, socket.timeout)
    assert 0.9 <= time.monotonic() - started < 3

    with socket.create_connection((server.host, server.port), timeout=1) as raw:
        raw.settimeout(0.2)
        with pytest.raises(TimeoutError):
            raw.recv(1)
        # stop() is quick even with a client still connected.
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1
        raw.settimeout(1)
        assert raw.recv(1) == b""  # closed by the server


def test_it_drops_the_connection_after_data(smtp_server_factory):
    server = smtp_server_factory(fault="drop_mid_data")
    with connect(server) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
    assert server.received == []
    assert server.transactions == []


def test_it_fails_data_with_451_for_a_while(smtp_server_factory):
    server = smtp_server_factory(fault="data_451", fault_count=2)
    with connect(server) as smtp:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as error:
                smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
            assert error.value.smtp_code == 451
            assert error.value.smtp_error == b"4.3.0 Temporary failure, try again later"
        assert server.received == []
        smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
    assert len(server.received) == 1


def test_it_always_fails_data_with_451_when_fault_count_is_zero(smtp_server_factory):
    server = smtp_server_factory(fault="data_451")
    with connect(server) as smtp:
        for _ in range(3):
            with pytest.raises(smtplib.SMTPDataError):
                smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
    assert server.received == []


def test_it_rejects_data_with_554(smtp_server_factory):
    server = smtp_server_factory(fault="data_554")
    with connect(server) as smtp:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as error:
                smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
            assert (error.value.smtp_code, error.value.smtp_error) == (
                554,
                b"5.7.1 Message rejected",
            )
    assert server.received == []


def test_it_refuses_some_recipients(smtp_server_factory):
    server = smtp_server_factory(
        refuse_recipients={
            "unknown@example.org": "550 5.1.1 User unknown",
            "Full@Example.org": "452 4.2.2 Mailbox full",
        }
    )
    with connect(server) as smtp:
        refused = smtp.sendmail(
            USER,
            ["ok@example.org", "unknown@example.org", "full@example.org"],
            raw_message(),
        )
        assert refused == {
            "unknown@example.org": (550, b"5.1.1 User unknown"),
            "full@example.org": (452, b"4.2.2 Mailbox full"),
        }
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail(USER, ["unknown@example.org"], raw_message())
    [received] = server.received
    assert received.rcpt_tos == ["ok@example.org"]


def test_it_delays_data_replies(smtp_server_factory):
    server = smtp_server_factory(latency=0.2)
    with connect(server) as smtp:
        smtp.ehlo()
        started = time.monotonic()
        smtp.noop()
        assert time.monotonic() - started < 0.2  # only DATA is slow
        started = time.monotonic()
        smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
        assert time.monotonic() - started >= 0.2


def test_it_requires_auth_before_mail_from(smtp_server_factory):
    server = smtp_server_factory(users={USER: "pw"}, auth_required=True)
    with connect(server) as smtp:
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPSenderRefused) as error:
            smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
        assert error.value.smtp_code == 530
        assert error.value.smtp_error == b"5.7.0 Authentication required"
        smtp.login(USER, "pw")
        smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
    assert server.received[0].auth_login == USER


def test_it_greets_421_for_a_while_then_works(smtp_server_factory):
    server = smtp_server_factory(fault="connect_421_for_a_while", fault_count=2)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError) as error:
            connect(server)
        assert error.value.smtp_code == 421
    with connect(server) as smtp:
        smtp.sendmail(USER, ["rcpt@example.org"], raw_message())
    assert len(server.received) == 1


def test_it_records_transaction_timestamps(smtp_server_factory):
    server = smtp_server_factory()
    before = time.monotonic()
    with connect(server) as smtp:
        for index in range(3):
            smtp.sendmail(USER, ["rcpt@example.org"], raw_message(subject=f"#{index}"))
            time.sleep(0.02)
    after = time.monotonic()
    assert len(server.transactions) == 3
    assert before <= server.transactions[0] < server.transactions[1] < server.transactions[2]
    assert server.transactions[2] <= after
    assert [m.received_at for m in server.received] == server.transactions
    assert [m.message()["Subject"] for m in server.received] == ["#0", "#1", "#2"]


def test_it_counts_auth_attempts(smtp_server):
    assert smtp_server.auth_attempts == 0
    with connect(smtp_server) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = USER, "bad"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.auth("PLAIN", smtp.auth_plain)
        assert smtp_server.auth_attempts == 1
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(USER, "worse")  # tries PLAIN, then LOGIN
        assert smtp_server.auth_attempts == 3
        smtp.login(USER, SPACED_PASSWORD)
    assert smtp_server.auth_attempts == 4

    smtp_server.clear()
    assert smtp_server.auth_attempts == 0
    assert smtp_server.received == [] and smtp_server.transactions == []


def test_it_stops_idempotently_and_frees_the_port():
    server = start_smtp_server(mode="starttls")
    port = server.port
    with connect(server) as smtp:
        smtp.ehlo()
        server.stop()
        server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_it_rejects_unknown_options():
    with pytest.raises(ValueError, match="mode"):
        start_smtp_server(mode="ssl")
    with pytest.raises(ValueError, match="fault"):
        start_smtp_server(fault="explode")
    with pytest.raises(ValueError, match="certificate"):
        start_smtp_server(certificate="letsencrypt")
