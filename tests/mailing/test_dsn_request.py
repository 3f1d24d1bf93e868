"""The client asks for delivery status notifications when, and only when, the server offers
DSN (RFC 3461)."""

import pytest

from mailing.engine import send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Message
from mailing.sending_accounts.smtp import ConnectionSettings, SMTPConnection
from mailing.tracking.dsn import xtext_decode
from tests.mailing.conftest import make_account, make_mailing
from tests.mailing.dsn_server import DSNServer

PAYLOAD = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n"
           b"Message-ID: <abc.123+x@college.example.org>\r\n\r\nBody\r\n")


@pytest.fixture
def dsn_server():
    servers = []

    def start(**kwargs):
        server = DSNServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _send(server, recipients, envelope_from="bounces+1-abc@ecolemail.eduka.school"):
    config = ConnectionSettings(host=server.host, port=server.port, security="none")
    with SMTPConnection(config) as connection:
        return connection.send(PAYLOAD, envelope_from, recipients)


def test_it_requests_dsn_for_every_outcome_when_the_server_offers_it(dsn_server):
    server = dsn_server(offer_dsn=True)
    result = _send(server, ["b@example.org", "c@example.org"])
    assert result.accepted == ["b@example.org", "c@example.org"]
    [transaction] = server.transactions
    options = dict(option.split("=", 1) for option in transaction.mail_options)
    assert options["RET"] == "HDRS"
    # ENVID is the Message-ID, xtext-encoded ("+" itself becomes "+2B").
    assert options["ENVID"] == "<ABC.123+2BX@COLLEGE.EXAMPLE.ORG>"  # aiosmtpd upper-cases
    assert xtext_decode(options["ENVID"]).lower() == "<abc.123+x@college.example.org>"
    for address, rcpt_options in zip(transaction.rcpt_tos, transaction.rcpt_options,
                                     strict=True):
        assert "NOTIFY=SUCCESS,FAILURE,DELAY" in rcpt_options
        assert f"ORCPT=RFC822;{address.upper()}" in rcpt_options


def test_it_asks_for_no_success_reports_that_would_land_in_the_schools_mailbox(dsn_server):
    # An external account: reports go to the school's own address, not to our server.
    server = dsn_server(offer_dsn=True)
    _send(server, ["b@example.org"], envelope_from="secretariat@college.example.org")
    [transaction] = server.transactions
    assert transaction.rcpt_options[0][0] == "NOTIFY=FAILURE,DELAY"
    assert "RET=HDRS" in transaction.mail_options


def test_it_does_not_request_dsn_when_the_server_does_not_offer_it(dsn_server):
    server = dsn_server(offer_dsn=False)
    _send(server, ["b@example.org"])
    [transaction] = server.transactions
    assert transaction.mail_options == []
    assert transaction.rcpt_options == [[]]


@pytest.mark.django_db
def test_the_engine_requests_dsn_with_the_message_id_as_envelope_id(
        dsn_server, settings, secretary, school, django_capture_on_commit_callbacks):
    server = dsn_server(offer_dsn=True)
    settings.INTEGRATED_RELAY_HOST, settings.INTEGRATED_RELAY_PORT = server.host, server.port
    settings.INTEGRATED_RELAY_SECURITY = "none"
    account = make_account(server, kind="integrated", integrated_local_part="inscriptions",
                           forward_to="inscriptions@ecole.example.org")
    mailing = make_mailing(account, secretary, mode="bcc", subject="Info", body="Jeudi.",
                           audience={"addresses": ["a@example.org", "b@example.org"]})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    [transaction] = server.transactions
    message = Message.objects.get(mailing=mailing)
    assert transaction.mail_from.startswith(f"bounces+{message.pk}-")
    envelope_id = dict(o.split("=", 1) for o in transaction.mail_options)["ENVID"]
    assert xtext_decode(envelope_id).lower() == message.message_id.lower()
    assert all("NOTIFY=SUCCESS,FAILURE,DELAY" in o for o in transaction.rcpt_options)
