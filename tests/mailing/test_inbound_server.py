"""The inbound SMTP server, for real: reports and replies sent over sockets to
`run_inbound_smtp`'s server, mail leaving through a test relay."""

import smtplib
import socket
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django.utils import timezone

from mailing.engine import send_account_work
from mailing.mailings.audience import Audience, resolve
from mailing.mailings.rendering import verp_address
from mailing.mailings.services import mailing_submit
from mailing.models import (
    InboundMessage,
    Mailing,
    Message,
    Recipient,
    SendingAccount,
    SuppressedAddress,
)
from mailing.tracking.inbound import inbound_controller, replies_held_notify
from mailing.tracking.inbound_limits import ConnectionLimiter
from mailing.tracking.reports import suppressed_address_remove
from tests.mailing.conftest import configure_system_account, make_account, make_mailing
from tests.mailing.samples import sample

pytestmark = pytest.mark.django_db(transaction=True)
S = Recipient.Status
DOMAIN = "ecolemail.eduka.school"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbound(settings):
    settings.INTEGRATED_MAIL_DOMAIN = DOMAIN
    controller = inbound_controller(host="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def relay(sink, settings):
    """The integrated service's relay: the tests' sink."""
    settings.INTEGRATED_RELAY_HOST, settings.INTEGRATED_RELAY_PORT = sink.host, sink.port
    settings.INTEGRATED_RELAY_SECURITY = "none"
    return sink


@pytest.fixture
def account(relay):
    return make_account(relay, kind="integrated", integrated_local_part="inscriptions",
                        sender_name="Secrétariat", forward_to="inscriptions@ecole.example.org")


def _send_mailing(account, user, addresses, *, mode="per_guardian"):
    mailing = make_mailing(account, user, mode=mode, subject="Réunion", body="Jeudi.",
                           audience={"addresses": addresses})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    return mailing


def _deliver(inbound, raw: bytes, rcpt_tos, *, mail_from=""):
    with smtplib.SMTP(inbound.hostname, inbound.port) as client:
        return client.sendmail(mail_from, rcpt_tos, raw)


def _report(name, message: Message, recipient: str, **kwargs) -> tuple[bytes, str]:
    verp = verp_address(message.pk)
    return sample(name, verp=verp, recipient=recipient, message_id=message.message_id,
                  **kwargs), verp


def _recipient(mailing, email) -> Recipient:
    return Recipient.objects.get(mailing=mailing, email=email)


def test_it_marks_a_hard_bounce_and_suppresses_the_address_for_the_next_mailing(
        inbound, account, relay, secretary, school):
    mailing = _send_mailing(account, secretary, ["gone@example.org", "ok@example.org"])
    gone = _recipient(mailing, "gone@example.org")
    assert gone.status == S.SENT
    assert any(m.mail_from == verp_address(gone.message_id) for m in relay.received)
    raw, verp = _report("postfix_failed", gone.message, "gone@example.org")
    _deliver(inbound, raw, [verp])
    gone.refresh_from_db()
    assert gone.status == S.BOUNCED
    assert (gone.delivery_action, gone.delivery_status) == ("failed", "5.1.1")
    assert gone.delivery_diagnostic.startswith("smtp; 550 5.1.1 <gone@example.org>: Recipient")
    assert _recipient(mailing, "ok@example.org").status == S.SENT
    suppressed = SuppressedAddress.objects.get(email="gone@example.org")
    assert suppressed.reason.startswith("5.1.1 smtp; 550 5.1.1")
    stored = InboundMessage.objects.get()
    assert (stored.outcome, stored.message_id) == ("tracked", gone.message_id)
    assert bytes(stored.raw) == raw

    # The next mailing leaves the address out, with the reason, and says so.
    plan = resolve(Audience(addresses=["GONE@example.org", "ok@example.org"]), "per_guardian")
    assert [r.email for r in plan.suppressed] == ["GONE@example.org"]
    relay.clear()
    again = _send_mailing(account, secretary, ["GONE@example.org", "ok@example.org"])
    skipped = _recipient(again, "GONE@example.org")
    assert skipped.status == S.SKIPPED
    assert "5.1.1" in skipped.smtp_text
    assert [m.rcpt_tos for m in relay.received] == [["ok@example.org"]]


def test_a_success_report_marks_the_recipient_delivered(inbound, account, secretary, school):
    mailing = _send_mailing(account, secretary, ["ok@example.org"])
    recipient = _recipient(mailing, "ok@example.org")
    raw, verp = _report("postfix_delivered", recipient.message, "ok@example.org")
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert recipient.status == S.DELIVERED
    assert recipient.delivery_status == "2.0.0"
    assert not SuppressedAddress.objects.exists()


def test_a_delay_report_keeps_the_status_and_records_the_note(inbound, account, secretary,
                                                               school):
    mailing = _send_mailing(account, secretary, ["slow@example.org"])
    recipient = _recipient(mailing, "slow@example.org")
    raw, verp = _report("postfix_delayed", recipient.message, "slow@example.org")
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert recipient.status == S.SENT
    assert (recipient.delivery_action, recipient.delivery_status) == ("delayed", "4.4.1")


def test_a_later_success_report_does_not_overwrite_a_bounce(inbound, account, secretary,
                                                            school):
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    for name in ("postfix_failed", "postfix_delivered"):
        raw, verp = _report(name, recipient.message, "gone@example.org")
        _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert recipient.status == S.BOUNCED
    assert recipient.delivery_status == "5.1.1"


def test_the_same_report_twice_changes_nothing_more(inbound, account, secretary, school):
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    raw, verp = _report("office365_failed", recipient.message, "gone@example.org")
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    first = (recipient.status, recipient.delivery_reported_at, recipient.updated_at)
    # An administrator puts the address back; a duplicate of the old report arrives.
    suppressed_address_remove(suppressed=SuppressedAddress.objects.get())
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert (recipient.status, recipient.delivery_reported_at, recipient.updated_at) == first
    assert not SuppressedAddress.objects.exists()
    assert InboundMessage.objects.count() == 2


def test_a_report_about_a_bcc_chunk_reaches_the_right_envelope_recipients(
        inbound, account, secretary, school):
    addresses = ["a@example.org", "gone@example.org", "full@example.org"]
    mailing = _send_mailing(account, secretary, addresses, mode="bcc")
    message = Message.objects.get(mailing=mailing)
    raw, verp = _report("exchange_relayed_bcc", message, "gone@example.org",
                        other="full@example.org")
    _deliver(inbound, raw, [verp])
    statuses = dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    # relayed: no status change, only a note; failed 5.2.2 (mailbox full): bounced, kept.
    assert statuses == {"a@example.org": S.SENT, "gone@example.org": S.SENT,
                        "full@example.org": S.BOUNCED}
    assert _recipient(mailing, "gone@example.org").delivery_action == "relayed"
    assert not SuppressedAddress.objects.exists()


def test_a_forged_verp_signature_is_refused_and_changes_nothing(inbound, account, secretary,
                                                               school):
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    raw, _ = _report("postfix_failed", recipient.message, "gone@example.org")
    forged = f"bounces+{recipient.message_id}-0123456789ab@{DOMAIN}"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _deliver(inbound, raw, [forged])
    assert refused.value.recipients[forged][0] == 550
    recipient.refresh_from_db()
    assert recipient.status == S.SENT
    assert not InboundMessage.objects.exists()
    assert not SuppressedAddress.objects.exists()


def test_it_refuses_other_domains_and_unknown_addresses(inbound, account):
    with smtplib.SMTP(inbound.hostname, inbound.port) as client:
        client.ehlo()
        client.mail("someone@example.org")
        code, text = client.rcpt("victim@example.com")
        assert (code, text) == (550, b"5.7.1 Relaying denied")
        code, text = client.rcpt(f"nobody@{DOMAIN}")
        assert (code, text[:5]) == (550, b"5.1.1")
        code, _ = client.rcpt(f"INSCRIPTIONS@{DOMAIN}")
        assert code == 250


def _reply(**headers) -> bytes:
    message = EmailMessage()
    message["From"] = "Nadia Haddad <nadia@example.org>"
    message["To"] = f"Secrétariat <inscriptions@{DOMAIN}>"
    message["Subject"] = "Re: Réunion"
    message["Message-ID"] = "<reply-1@example.org>"
    message["In-Reply-To"] = "<0123abcd@ecolemail.eduka.school>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Nous serons présents jeudi.\nBien à vous,\nNadia")
    return message.as_bytes().replace(b"\n", b"\r\n")


def test_it_forwards_a_reply_to_the_schools_address(inbound, account, relay):
    _deliver(inbound, _reply(), [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    [forward] = relay.received
    assert forward.rcpt_tos == ["inscriptions@ecole.example.org"]
    assert forward.mail_from == f"inscriptions@{DOMAIN}"
    message = forward.message()
    assert message["From"].addresses[0].addr_spec == f"inscriptions@{DOMAIN}"
    assert "Nadia Haddad" in message["From"].addresses[0].display_name
    assert message["Reply-To"] == "nadia@example.org"
    assert message["Subject"] == "Re: Réunion"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "> Nous serons présents jeudi." in message.get_body(("plain",)).get_content()
    [attached] = list(message.iter_attachments())
    assert attached.get_content_type() == "message/rfc822"
    original = attached.get_content()
    assert original["Message-ID"] == "<reply-1@example.org>"
    assert InboundMessage.objects.get().outcome == "forwarded"


@pytest.mark.parametrize("headers,mail_from", [
    ({"Auto_Submitted": "auto-replied"}, "nadia@example.org"),
    ({"Precedence": "bulk"}, "nadia@example.org"),
    ({"X_Loop": f"inscriptions@{DOMAIN}"}, "nadia@example.org"),
    ({}, ""),  # an empty envelope sender: a notification
])
def test_it_never_forwards_automatic_mail(inbound, account, relay, headers, mail_from):
    _deliver(inbound, _reply(**headers), [f"inscriptions@{DOMAIN}"], mail_from=mail_from)
    assert relay.received == []
    assert InboundMessage.objects.get().outcome == "not_forwarded"


def test_its_own_forward_coming_back_is_not_forwarded_again(inbound, account, relay):
    _deliver(inbound, _reply(), [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    [forward] = relay.received
    relay.clear()
    # The school's mailbox sends it back (an auto-forward to the integrated address).
    _deliver(inbound, forward.content, [f"inscriptions@{DOMAIN}"],
             mail_from="inscriptions@ecole.example.org")
    assert relay.received == []


def test_a_bounce_sent_to_the_account_address_is_only_noted(
        inbound, account, relay, secretary, school):
    """Found by its Message-ID, which every recipient knows, a report could be forged: it is
    recorded for people to read, but bounces and suppresses nobody."""
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    relay.clear()
    raw, _ = _report("gmail_failed", recipient.message, "gone@example.org")
    _deliver(inbound, raw, [f"inscriptions@{DOMAIN}"])
    recipient.refresh_from_db()
    assert recipient.status == S.SENT and recipient.delivery_action == "failed"
    assert not SuppressedAddress.objects.exists()
    assert relay.received == []  # and never forwarded


def test_a_reply_retried_by_its_sender_is_forwarded_once(inbound, account, relay):
    """The sender retries the whole transaction after a 451 (here: as if the first answer
    had been lost): the school must not receive the reply twice."""
    _deliver(inbound, _reply(), [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    _deliver(inbound, _reply(), [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    assert len(relay.received) == 1
    assert InboundMessage.objects.count() == 2
    assert "already forwarded" in InboundMessage.objects.order_by("pk").last().details


def test_it_answers_451_and_keeps_the_message_when_processing_fails(inbound, account,
                                                                    monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("mailing.tracking.inbound.reply_forward", broken)
    with pytest.raises(smtplib.SMTPDataError) as error:
        _deliver(inbound, _reply(), [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    assert error.value.smtp_code == 451
    stored = InboundMessage.objects.get()
    assert stored.outcome == "failed"
    assert "database gone" in stored.details


def test_it_refuses_a_message_over_the_size_limit(settings, account):
    settings.INTEGRATED_MAIL_DOMAIN = DOMAIN
    settings.INBOUND_SMTP_MAX_BYTES = 2000
    controller = inbound_controller(host="127.0.0.1", port=_free_port())
    controller.start()
    try:
        big = _reply() + b"x" * 5000 + b"\r\n"
        with pytest.raises(smtplib.SMTPException) as error:
            _deliver(controller, big, [f"inscriptions@{DOMAIN}"], mail_from="a@example.org")
        assert "552" in str(error.value)
    finally:
        controller.stop()


def test_a_generic_status_uses_the_diagnostics_code_and_suppresses_the_address(
        inbound, account, secretary, school):
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    raw, verp = _report("exim_generic_status", recipient.message, "gone@example.org")
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert (recipient.status, recipient.delivery_status) == (S.BOUNCED, "5.1.1")
    # Both codes kept verbatim for staff: the report's own Status, then the diagnostic.
    assert recipient.delivery_diagnostic == (
        "Status: 5.0.0; smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: "
        "User unknown")
    reason = SuppressedAddress.objects.get(email="gone@example.org").reason
    assert reason.startswith("5.1.1 Status: 5.0.0; smtp; 550 5.1.1")


@pytest.mark.parametrize("name,status,suppressed", [
    ("qmail_over_quota", "5.2.2", False),
    ("isp_mailbox_full_fr", "5.2.2", False),
    ("qmail_no_such_user", "5.1.1", True),
    ("isp_unknown_user_fr", "5.1.1", True),
])
def test_a_prose_bounce_without_a_code_is_a_soft_or_hard_bounce(
        inbound, account, secretary, school, name, status, suppressed):
    mailing = _send_mailing(account, secretary, ["gone@example.org", "ok@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    raw, verp = _report(name, recipient.message, "gone@example.org")
    _deliver(inbound, raw, [verp])
    recipient.refresh_from_db()
    assert (recipient.status, recipient.delivery_status) == (S.BOUNCED, status)
    assert recipient.delivery_diagnostic  # the sentence, as the server wrote it
    assert recipient.delivery_diagnostic in raw.decode()
    assert SuppressedAddress.objects.filter(email="gone@example.org").exists() == suppressed
    assert _recipient(mailing, "ok@example.org").status == S.SENT


@pytest.mark.parametrize("name,mail_from", [
    ("human_reply_quoting_bounce", "gone@example.org"),
    ("human_reply_quoting_bounce", ""),
    ("auto_reply_mailbox_full", ""),
])
def test_a_reply_quoting_a_bounce_sentence_changes_nothing(
        inbound, account, relay, secretary, school, name, mail_from):
    mailing = _send_mailing(account, secretary, ["gone@example.org"])
    recipient = _recipient(mailing, "gone@example.org")
    raw, verp = _report(name, recipient.message, "gone@example.org")
    for rcpt in (verp, f"inscriptions@{DOMAIN}"):
        _deliver(inbound, raw, [rcpt], mail_from=mail_from)
    recipient.refresh_from_db()
    assert (recipient.status, recipient.delivery_action) == (S.SENT, "")
    assert not SuppressedAddress.objects.exists()
    assert InboundMessage.objects.filter(outcome="tracked").count() == 0


def _greeting(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def _limited_server(settings, **limits):
    settings.INTEGRATED_MAIL_DOMAIN = DOMAIN
    for name, value in limits.items():
        setattr(settings, f"INBOUND_SMTP_{name}", value)
    controller = inbound_controller(host="127.0.0.1", port=_free_port())
    controller.start()
    return controller


def test_300_connections_held_from_one_address_do_not_starve_the_others(settings, account,
                                                                       relay):
    controller = _limited_server(settings, MAX_CONNECTIONS_PER_IP=20,
                                 CONNECTIONS_PER_MINUTE_PER_IP=10_000)
    held = []
    try:
        for _ in range(300):
            sock = socket.create_connection((controller.hostname, controller.port), timeout=10)
            held.append(sock)
        greetings = [_greeting(sock) for sock in held]
        assert sum(g.startswith(b"220 ") for g in greetings) == 20
        refused = [g for g in greetings if not g.startswith(b"220 ")]
        assert len(refused) == 280
        assert all(g.startswith(b"421 4.7.0 ") for g in refused)
        # The server closed the refused ones.
        assert all(sock.recv(1) == b"" for sock, g in zip(held, greetings, strict=True)
                   if g.startswith(b"421"))
        # Another address (127.0.0.2 is loopback too on Linux) is greeted and delivers.
        with smtplib.SMTP(controller.hostname, controller.port,
                          source_address=("127.0.0.2", 0), timeout=10) as client:
            client.sendmail("nadia@example.org", [f"inscriptions@{DOMAIN}"], _reply())
        assert len(relay.received) == 1
        # Held ones closed: the address gets connections again.
        for sock in held:
            sock.close()
        held = []
        for _ in range(50):  # the server notices the closes asynchronously
            with socket.create_connection((controller.hostname, controller.port),
                                          timeout=10) as sock:
                if _greeting(sock).startswith(b"220 "):
                    break
        else:
            pytest.fail("127.0.0.1 never got a connection back")
    finally:
        for sock in held:
            sock.close()
        controller.stop()


def test_it_limits_the_connections_per_minute_from_one_address(settings, account):
    controller = _limited_server(settings, MAX_CONNECTIONS_PER_IP=100,
                                 CONNECTIONS_PER_MINUTE_PER_IP=5)
    try:
        greetings = []
        for _ in range(8):
            with socket.create_connection((controller.hostname, controller.port),
                                          timeout=10) as sock:
                greetings.append(_greeting(sock))
                sock.sendall(b"QUIT\r\n")
        # Controller.start() opened one itself to check that the server is up.
        assert sum(g.startswith(b"220 ") for g in greetings) == 4
        assert all(g.startswith(b"421 4.7.0 ") for g in greetings[4:])
        with smtplib.SMTP(controller.hostname, controller.port,
                          source_address=("127.0.0.2", 0), timeout=10) as client:
            assert client.noop()[0] == 250
    finally:
        controller.stop()


def test_it_drops_a_connection_idle_past_the_timeout(settings, account):
    controller = _limited_server(settings, TIMEOUT=1)
    try:
        with socket.create_connection((controller.hostname, controller.port),
                                      timeout=10) as sock:
            assert _greeting(sock).startswith(b"220 ")
            sock.settimeout(10)
            assert sock.recv(1024) == b""  # closed by the server after about a second
    finally:
        controller.stop()


def _numbered_reply(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Nadia Haddad <nadia@example.org>"
    message["To"] = f"inscriptions@{DOMAIN}"
    message["Subject"] = f"Re {n}: Réunion"
    message["Message-ID"] = f"<reply-{n}@example.org>"
    message.set_content("Nous serons présents jeudi.")
    return message.as_bytes().replace(b"\n", b"\r\n")


def test_replies_over_the_hourly_cap_are_held_for_the_school_and_admins_told_once(
        inbound, account, relay, settings, admin_user, secretary, teacher, client, school):
    settings.REPLY_FORWARD_MAX_PER_HOUR = 2
    account.users.add(secretary)
    system = configure_system_account(relay)
    raws = [_numbered_reply(n) for n in range(1, 6)]
    for raw in raws:
        _deliver(inbound, raw, [f"inscriptions@{DOMAIN}"], mail_from="nadia@example.org")
    # Two forwarded, three held: stored, not sent on.
    assert [m.rcpt_tos for m in relay.received] == [["inscriptions@ecole.example.org"]] * 2
    held = InboundMessage.objects.filter(outcome="held").order_by("pk")
    assert [bytes(h.raw) for h in held] == raws[2:]
    assert all(h.account_id == account.pk for h in held)

    # The administrators are told once for the hour, through the System account.
    relay.clear()
    send_account_work(system.pk)
    [notice] = relay.received
    assert notice.rcpt_tos == ["admin@example.org"]
    assert "/replies-held/" in notice.message().get_body(("plain",)).get_content()

    # The account's readers see the held replies (sender, subject, date) and the raw bytes.
    client.force_login(secretary)
    page = client.get(reverse("mailings:replies_held")).content.decode()
    for n in (3, 4, 5):
        assert f"Re {n}: Réunion" in page
    assert "Nadia Haddad" in page
    assert "3 réponses retenues" in client.get(reverse("mailings:mailing_list")).content.decode()
    download = client.get(reverse("mailings:reply_held_raw", args=[held[0].pk]))
    assert download.status_code == 200
    assert download.content == raws[2]
    assert download["Content-Disposition"].startswith("attachment")
    # Someone who does not read the account sees nothing of it.
    client.force_login(teacher)
    assert "Nadia" not in client.get(reverse("mailings:replies_held")).content.decode()
    assert client.get(reverse("mailings:reply_held_raw", args=[held[0].pk])).status_code == 404


def test_the_cap_counts_only_the_last_hour(inbound, account, relay, settings):
    settings.REPLY_FORWARD_MAX_PER_HOUR = 1
    _deliver(inbound, _numbered_reply(1), [f"inscriptions@{DOMAIN}"], mail_from="a@example.org")
    InboundMessage.objects.update(received_at=timezone.now() - timedelta(minutes=61))
    _deliver(inbound, _numbered_reply(2), [f"inscriptions@{DOMAIN}"], mail_from="a@example.org")
    assert len(relay.received) == 2
    assert not InboundMessage.objects.filter(outcome="held").exists()


def test_it_counts_an_ipv6_client_by_its_64_and_forgets_quiet_addresses(monkeypatch):
    limiter = ConnectionLimiter(concurrent=1, per_minute=10)
    assert limiter.key(("2001:db8:1:2::5", 25, 0, 0)) == limiter.key(("2001:db8:1:2::9", 25))
    assert limiter.key(("::ffff:192.0.2.7", 25, 0, 0)) == "192.0.2.7"
    assert limiter.admit("192.0.2.7") is None
    assert limiter.admit("192.0.2.7") == "too many connections"
    limiter.release("192.0.2.7")
    assert limiter.admit("192.0.2.7") is None
    limiter.release("192.0.2.7")
    clock = [1000.0]
    monkeypatch.setattr("mailing.tracking.inbound_limits.time.monotonic", lambda: clock[0])
    for n in range(10_001):
        limiter.admit(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
        limiter.release(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    clock[0] += 61
    limiter.admit("198.51.100.1")
    assert len(limiter.opened) <= 2


def test_administrators_are_told_again_only_after_an_hour(account, admin_user, school):
    assert replies_held_notify(account=account)
    assert not replies_held_notify(account=account)
    SendingAccount.objects.filter(pk=account.pk).update(
        replies_held_notified_at=timezone.now() - timedelta(minutes=61))
    assert replies_held_notify(account=account)
    notices = Mailing.objects.filter(is_automated=True, audience={"addresses": [admin_user.email]})
    assert notices.count() == 2
