"""Fixtures of the submission server's tests: the server itself on a free port with a test
certificate, an integrated account behind the tests' relay, and an application access."""

import smtplib
import socket
import ssl
from email.message import EmailMessage

import pytest

from mailing.submission.credentials import access_create
from mailing.submission.server import submission_controllers
from tests.mailing.conftest import make_account
from tests.smtp_servers import _server_cert

DOMAIN = "ecolemail.eduka.school"
OWN = f"vie-scolaire@{DOMAIN}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def certificate(settings):
    files = _server_cert("ca")
    settings.SUBMISSION_TLS_CERT_FILE, settings.SUBMISSION_TLS_KEY_FILE = (files.cert_file,
                                                                           files.key_file)
    return files


@pytest.fixture
def client_tls(certificate) -> ssl.SSLContext:
    """What a well-configured application does: verify the server's certificate."""
    return ssl.create_default_context(cafile=certificate.ca_file)


@pytest.fixture
def submission(settings, certificate):
    """The running server: (handler, STARTTLS controller, implicit-TLS controller)."""
    settings.INTEGRATED_MAIL_DOMAIN = DOMAIN
    handler, controllers = submission_controllers(host="127.0.0.1", port=free_port(),
                                                  tls_port=free_port())
    for controller in controllers:
        controller.start()
    yield handler, *controllers
    for controller in controllers:
        controller.stop()
    handler.db.close()


@pytest.fixture
def relay(sink, settings):
    settings.INTEGRATED_RELAY_HOST, settings.INTEGRATED_RELAY_PORT = sink.host, sink.port
    settings.INTEGRATED_RELAY_SECURITY = "none"
    settings.INTEGRATED_MAIL_DOMAIN = DOMAIN
    return sink


@pytest.fixture
def account(relay):
    return make_account(relay, kind="integrated", integrated_local_part="vie-scolaire",
                        sender_name="Vie scolaire", forward_to="vie-scolaire@ecole.example.org")


@pytest.fixture
def pronote(account, admin_user):
    """(access, password) of an application access named Pronote."""
    return access_create(account=account, name="Pronote", user=admin_user)


def connect(server, tls: ssl.SSLContext, *, login=None) -> smtplib.SMTP:
    client = smtplib.SMTP(server.hostname, server.port, timeout=10)
    client.starttls(context=tls)
    client.ehlo()
    if login:
        client.login(*login)
    return client


def note(to=("a@example.org",), *, sender=OWN, subject="Bulletin du 1er trimestre",
         **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Vie scolaire <{sender}>"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Bonjour,\nle bulletin est disponible.\n")
    return message
