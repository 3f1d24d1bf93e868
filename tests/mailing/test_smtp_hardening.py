"""Sending accounts against a hostile server or a careless paste (issue 9, items 1-5), with
real TLS servers (tests/smtp_servers.py) and the real screens."""

import socket

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from mailing.engine import send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, SendingAccount
from mailing.sending_accounts.hosts import address_is_internal
from mailing.sending_accounts.smtp import ConnectionSettings, ErrorKind, SMTPConnection, SMTPFailure
from tests.mailing.conftest import make_account, make_mailing
from tests.mailing.test_account_screens import external_payload

pytestmark = pytest.mark.django_db
USER, PASSWORD = "sender@example.org", "pinned secret"
NOT_A_CERTIFICATE = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----"


def _settings(server, **overrides):
    values = {"host": server.host, "port": server.port,
              "security": {"plain": "none", "starttls": "tls", "tls": "ssl"}[server.mode],
              "username": USER, "password": PASSWORD, "timeout": 3}
    if server.cert_pem:
        values["pinned_certificate"] = server.cert_pem.decode()
    values.update(overrides)
    return ConnectionSettings(**values)


def _send(settings_):
    with SMTPConnection(settings_) as connection:
        return connection.send(b"Subject: t\r\n\r\nbody\r\n", "school@example.org",
                               ["parent@example.org"])


def _failure(settings_) -> SMTPFailure:
    with pytest.raises(SMTPFailure) as error:
        _send(settings_)
    return error.value


# --- 1. a pin never switches the name and date checks off ------------------------------------

@pytest.mark.parametrize("mode", ["starttls", "tls"])
@pytest.mark.parametrize("certificate", ["self-signed-other-name", "self-signed-expired"])
def test_it_refuses_a_pinned_certificate_for_another_name_or_expired(smtp_server_factory, mode,
                                                                     certificate):
    server = smtp_server_factory(mode=mode, certificate=certificate, users={USER: PASSWORD})
    failure = _failure(_settings(server))  # pinned: exactly the certificate the server shows
    assert failure.kind == ErrorKind.CERTIFICATE
    assert ("expired" if "expired" in certificate else "mismatch") in failure.text
    assert server.auth_attempts == 0 and server.received == []  # the password never left


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_it_accepts_a_pinned_certificate_valid_for_the_host_or_its_ip(smtp_server_factory, host):
    server = smtp_server_factory(mode="tls", certificate="self-signed", users={USER: PASSWORD})
    assert _send(_settings(server, host=host)).accepted == ["parent@example.org"]


def test_it_accepts_a_pinned_ca_issued_certificate_as_the_only_anchor(smtp_server_factory):
    # The CA is not trusted (no SMTP_EXTRA_CA_FILE): the pinned leaf alone is the anchor.
    server = smtp_server_factory(mode="starttls", certificate="ca", users={USER: PASSWORD})
    assert _send(_settings(server)).accepted
    assert _failure(_settings(server, pinned_certificate="")).kind == ErrorKind.CERTIFICATE


def test_it_refuses_a_ca_issued_certificate_for_another_name_pinned_or_not(smtp_server_factory,
                                                                          settings):
    server = smtp_server_factory(mode="starttls", certificate="ca-other-name",
                                 users={USER: PASSWORD})
    settings.SMTP_EXTRA_CA_FILE = server.ca_file  # its CA is trusted: only the name is wrong
    for pin in (server.cert_pem.decode(), ""):
        failure = _failure(_settings(server, pinned_certificate=pin))
        assert failure.kind == ErrorKind.CERTIFICATE and "mismatch" in failure.text
    assert server.auth_attempts == 0


# --- 2. a malformed pin is refused when saved, and never escapes as an exception -------------

@pytest.mark.parametrize("pasted", [
    "not a certificate", NOT_A_CERTIFICATE,
    "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
])
def test_it_refuses_a_malformed_pin_when_saved(admin_client, pasted):
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(pinned_certificate=pasted))
    assert response.status_code == 200
    assert "certificat" in response.context["form"].errors["pinned_certificate"][0]
    assert not SendingAccount.objects.filter(name="Secrétariat").exists()


def test_it_saves_a_well_formed_pin(admin_client, smtp_server_factory):
    server = smtp_server_factory(mode="tls", certificate="self-signed")
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(pinned_certificate=server.cert_pem.decode()))
    assert response.status_code == 302
    assert SendingAccount.objects.get(name="Secrétariat").pinned_certificate.startswith(
        "-----BEGIN CERTIFICATE-----")


def test_the_test_button_reports_a_stored_malformed_pin(admin_client, smtp_server_factory):
    server = smtp_server_factory(mode="tls", certificate="self-signed")
    account = make_account(server, security="ssl", pinned_certificate=NOT_A_CERTIFICATE)
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    assert response.status_code == 200
    assert "certificat épinglé" in response.content.decode()
    account.refresh_from_db()
    assert account.last_test_ok is False


def test_a_worker_pauses_the_account_of_a_stored_malformed_pin(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(mode="tls", certificate="self-signed")
    account = make_account(server, security="ssl", pinned_certificate=NOT_A_CERTIFICATE)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["p@example.org"]})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    assert send_account_work(account.pk) is False
    account.refresh_from_db()
    assert "certificat épinglé" in account.paused_reason
    assert server.connections == 0


# --- 3. ports and addresses -------------------------------------------------------------------

def test_it_refuses_an_unusual_port_when_saved_unless_the_operator_allows_it(admin_client,
                                                                             settings):
    settings.SMTP_ALLOWED_EXTRA_PORTS = []
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(smtp_port="6379"))
    assert "6379" in response.context["form"].errors["smtp_port"][0]
    for allowed in ("2525", "587"):
        assert admin_client.post(reverse("mailing:account_create"), external_payload(
            name=f"Port {allowed}", smtp_port=allowed)).status_code == 302
    settings.SMTP_ALLOWED_EXTRA_PORTS = ["10025", "20000-20010"]
    for allowed in ("10025", "20005"):
        assert admin_client.post(reverse("mailing:account_create"), external_payload(
            name=f"Port {allowed}", smtp_port=allowed)).status_code == 302


def test_it_refuses_an_unlisted_port_at_connect_time_too(smtp_server_factory, settings):
    server = smtp_server_factory()  # an account saved before the rule, on an ephemeral port
    settings.SMTP_ALLOWED_EXTRA_PORTS = []
    failure = _failure(_settings(server, username=""))
    assert failure.kind == ErrorKind.POLICY and str(server.port) in failure.text
    assert server.connections == 0


@pytest.mark.parametrize("address", ["100.64.0.1", "198.18.0.1", "192.0.2.10", "240.0.0.1",
                                     "::ffff:10.0.0.1", "fd00::1", "2001:db8::1",
                                     "169.254.169.254", "0.0.0.0"])  # noqa: S104
def test_it_counts_every_non_global_address_as_internal(address):
    assert address_is_internal(address)


def test_it_counts_public_addresses_as_external():
    assert not address_is_internal("8.8.8.8") and not address_is_internal("2001:4860::8888")


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "localhost",
                                  "db.localhost", "[::1]", "100.64.1.1", "10.1.2.3"])
def test_it_refuses_internal_hosts_when_saved_whatever_their_spelling(admin_client, settings,
                                                                      host):
    settings.SMTP_ALLOW_INTERNAL_HOSTS = False
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(smtp_host=host))
    assert response.status_code == 200
    assert "réseau interne" in response.context["form"].errors["smtp_host"][0]


def test_it_connects_to_the_very_address_it_checked(smtp_server_factory, monkeypatch,
                                                    settings):
    """A name that resolves to an allowed address when checked and to an internal one a moment
    later (DNS rebinding) is looked up once: the connection goes to the address checked."""
    import mailing.sending_accounts.hosts

    server = smtp_server_factory()
    settings.SMTP_ALLOW_INTERNAL_HOSTS = False
    # Stand-ins, as no public server runs here: the test server plays the public address,
    # 127.0.0.2 (where nothing listens) the internal one the name then points to.
    monkeypatch.setattr(mailing.sending_accounts.hosts, "address_is_internal",
                        lambda a: a != server.host)
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        if host != "mail.rebinding.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = server.host if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    result = _send(_settings(server, host="mail.rebinding.example", username="", timeout=2))
    assert result.accepted and lookups == ["mail.rebinding.example"]
    assert len(server.received) == 1


def test_it_checks_the_certificate_against_the_configured_name_not_the_address(
        smtp_server_factory):
    # Connected to 127.0.0.1, but the name checked against the certificate is "localhost".
    server = smtp_server_factory(mode="starttls", certificate="self-signed-other-name",
                                 users={USER: PASSWORD})
    failure = _failure(_settings(server, host="localhost"))
    assert failure.kind == ErrorKind.CERTIFICATE and "'localhost'" in failure.text


# --- 4. no banner echo ------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["banner_ssh", "banner_http"])
def test_it_never_echoes_the_bytes_of_a_peer_that_is_not_smtp(smtp_server_factory, fault):
    server = smtp_server_factory(fault=fault)
    failure = _failure(_settings(server, username="", timeout=2))
    assert "SMTP" in failure.server_reply
    for leaked in ("OpenSSH", "secret-internal-banner", "HTTP/1.1", "internal-admin-panel"):
        assert leaked not in failure.server_reply


def test_the_test_button_says_the_peer_is_not_an_smtp_server(admin_client, smtp_server_factory):
    server = smtp_server_factory(fault="banner_ssh")
    account = make_account(server)
    response = admin_client.post(reverse("mailing:account_test", args=[account.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    page = response.content.decode()
    assert "n&#x27;a pas répondu comme un serveur SMTP" in page
    assert "OpenSSH" not in page and "secret-internal-banner" not in page


# --- 5. an unreadable secret degrades one row, not the site -----------------------------------

def test_an_unreadable_password_degrades_one_account_not_the_pages(
        admin_client, admin_user, settings, smtp_server_factory, secretary, school,
        django_capture_on_commit_callbacks):
    server = smtp_server_factory(mode="plain", users={USER: PASSWORD})
    lost = make_account(server, name="Perdu", username=USER, password=PASSWORD,
                        allow_plain_auth=True)
    lost.users.add(admin_user, secretary)
    mailing = make_mailing(lost, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["p@example.org"]})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # its key was dropped
    other = make_account(server, name="Autre", username=USER, password=PASSWORD)

    page = admin_client.get(reverse("mailing:account_list"))
    assert page.status_code == 200
    assert "Mot de passe illisible" in page.content.decode()
    assert page.content.decode().count("Mot de passe illisible") == 1
    account_page = admin_client.get(reverse("mailing:account_edit", args=[lost.pk]))
    assert account_page.status_code == 200
    assert "Mot de passe illisible" in account_page.content.decode()
    assert "Mot de passe illisible" not in admin_client.get(
        reverse("mailing:account_edit", args=[other.pk])).content.decode()
    assert admin_client.get(reverse("mailings:mailing_compose")).status_code == 200

    response = admin_client.post(reverse("mailing:account_test", args=[lost.pk]),
                                 {"to_email": "admin@example.org"}, follow=True)
    assert response.status_code == 200 and "Mot de passe illisible" in response.content.decode()
    assert "peut être nécessaire" not in response.content.decode()  # no server was asked

    send_account_work(lost.pk)
    lost.refresh_from_db()
    assert "Mot de passe illisible" in lost.paused_reason
    assert server.auth_attempts == 0
    assert set(Message.objects.filter(mailing=mailing).values_list("status", flat=True)) == {
        Message.Status.QUEUED}

    # Entering it again repairs the account.
    admin_client.post(reverse("mailing:account_edit", args=[lost.pk]), external_payload(
        name="Perdu", smtp_host=server.host, smtp_port=str(server.port), security="none",
        username=USER, password="", allow_plain_auth="on"))
    lost.refresh_from_db()
    assert lost.password_unreadable  # a blank entry does not pretend to fix it
    admin_client.post(reverse("mailing:account_edit", args=[lost.pk]), external_payload(
        name="Perdu", smtp_host=server.host, smtp_port=str(server.port), security="none",
        username=USER, password=PASSWORD, allow_plain_auth="on"))
    lost.refresh_from_db()
    assert lost.password == PASSWORD


# --- 2 and 5 in real worker processes ---------------------------------------------------------

@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_a_bad_pin_and_an_unreadable_password_as_paused_accounts(
        tmp_path, smtp_server_factory, secretary, school, isolated_queues):
    """Before, the task died on the malformed pin (the message stayed queued with 0 attempts,
    the account not paused) and on the unreadable password."""
    import time

    from mailing.tasks import enqueue_account
    from tests.workers import running_worker

    server = smtp_server_factory(mode="tls", certificate="self-signed", users={USER: PASSWORD})
    bad_pin = make_account(server, name="Bad pin", security="ssl",
                           pinned_certificate=NOT_A_CERTIFICATE)
    # Encrypted with the tests' key, which the worker below does not have.
    lost = make_account(server, name="Lost key", security="ssl",
                        pinned_certificate=server.cert_pem.decode(), username=USER,
                        password=PASSWORD)
    for account in (bad_pin, lost):
        mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN,
                               subject="x", body="y", audience={"addresses": ["p@example.org"]})
        mailing_submit(mailing=mailing)
    env = {**isolated_queues, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    with running_worker(tmp_path / "w", extra_env=env, queues=",".join(isolated_queues.values())):
        for account in (bad_pin, lost):
            enqueue_account(account.pk)
        # The account is paused first, then its claimed messages are given back: wait for both.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (SendingAccount.objects.filter(
                pk__in=[bad_pin.pk, lost.pk], paused_reason="").exists()
                or Message.objects.exclude(status=Message.Status.QUEUED).exists()):
            time.sleep(0.1)
    bad_pin.refresh_from_db()
    lost.refresh_from_db()
    assert "certificat épinglé" in bad_pin.paused_reason
    assert "Mot de passe illisible" in lost.paused_reason
    assert server.connections == 0 and server.auth_attempts == 0
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.QUEUED}
