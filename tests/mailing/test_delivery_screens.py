"""What staff and administrators see of delivery tracking: counts, filter, diagnostics,
mailing_status, and the suppression list under Configuration."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from mailing.engine import send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, Recipient, SuppressedAddress
from mailing.tracking.dsn import DeliveryReport, RecipientReport
from mailing.tracking.reports import delivery_report_apply
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Recipient.Status
DIAGNOSTIC = "smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"


@pytest.fixture
def tracked_mailing(sink, secretary, school):
    """A mailing sent to two addresses: one delivered, one hard-bounced."""
    account = make_account(sink)
    account.users.add(secretary)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["ok@example.org",
                                                             "gone@example.org"]})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    for email, item in (
            ("ok@example.org", RecipientReport("ok@example.org", "delivered", "2.0.0", "ok")),
            ("gone@example.org", RecipientReport("gone@example.org", "failed", "5.1.1",
                                                 DIAGNOSTIC))):
        message = Message.objects.get(mailing=mailing, recipients__email=email)
        delivery_report_apply(message=message, report=DeliveryReport(recipients=[item]))
    return mailing


def test_the_mailing_page_counts_and_filters_bounces_with_their_diagnostic(
        secretary_client, tracked_mailing):
    url = reverse("mailings:mailing_detail", args=[tracked_mailing.pk])
    page = secretary_client.get(url).content.decode()
    assert 'data-count="delivered">1<' in page
    assert 'data-count="bounced">1<' in page
    bounced = secretary_client.get(url, {"status": "bounced"}).content.decode()
    assert "gone@example.org" in bounced and "ok@example.org" not in bounced
    assert "User unknown" in bounced and "5.1.1" in bounced
    progress = secretary_client.get(reverse("mailings:mailing_progress",
                                            args=[tracked_mailing.pk])).json()
    assert (progress["counts"]["delivered"], progress["counts"]["bounced"]) == (1, 1)


def test_the_message_page_and_the_export_show_the_delivery_report(secretary_client,
                                                                  tracked_mailing):
    message = Message.objects.get(mailing=tracked_mailing, recipients__email="gone@example.org")
    page = secretary_client.get(reverse("mailings:message_detail",
                                        args=[tracked_mailing.pk, message.pk])).content.decode()
    assert "User unknown" in page
    export = b"".join(secretary_client.get(reverse(
        "mailings:mailing_export", args=[tracked_mailing.pk])).streaming_content).decode()
    assert f'failed;5.1.1;"{DIAGNOSTIC}"' in export  # quoted: it holds ";"


def test_mailing_status_reports_delivery(tracked_mailing):
    out = io.StringIO()
    call_command("mailing_status", str(tracked_mailing.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    by_email = {r["email"]: r for r in data["recipients"]}
    assert by_email["gone@example.org"]["status"] == "bounced"
    assert by_email["gone@example.org"]["delivery"]["diagnostic"] == DIAGNOSTIC
    assert by_email["ok@example.org"]["delivery"]["action"] == "delivered"
    assert data["counts"]["bounced"] == 1
    text = io.StringIO()
    call_command("mailing_status", str(tracked_mailing.pk), stdout=text)
    assert "failed 5.1.1" in text.getvalue()


def test_administrators_list_and_remove_suppressed_addresses(admin_client, tracked_mailing):
    suppressed = SuppressedAddress.objects.get()
    assert suppressed.email == "gone@example.org"
    page = admin_client.get(reverse("mailing:suppressed_list")).content.decode()
    assert "gone@example.org" in page and "User unknown" in page
    assert reverse("mailing:suppressed_list") in page  # in the Configuration navigation
    remove = reverse("mailing:suppressed_remove", args=[suppressed.pk])
    assert admin_client.get(remove).status_code == 405
    response = admin_client.post(remove)
    assert response.status_code == 302
    assert not SuppressedAddress.objects.exists()


def test_the_suppression_list_searches(admin_client, db):
    SuppressedAddress.objects.create(email="one@example.org", reason="5.1.1")
    SuppressedAddress.objects.create(email="two@example.net", reason="5.1.2")
    page = admin_client.get(reverse("mailing:suppressed_list"), {"q": "example.net"})
    assert "two@example.net" in page.content.decode()
    assert "one@example.org" not in page.content.decode()


def test_only_administrators_reach_the_suppression_list(secretary_client, client, db):
    suppressed = SuppressedAddress.objects.create(email="x@example.org", reason="5.1.1")
    for url in (reverse("mailing:suppressed_list"),):
        assert secretary_client.get(url).status_code == 403
        assert reverse("mailing:suppressed_list") not in secretary_client.get(
            reverse("home")).content.decode()
    remove = reverse("mailing:suppressed_remove", args=[suppressed.pk])
    assert secretary_client.post(remove).status_code == 403
    secretary_client.logout()
    anonymous = client.post(remove)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert SuppressedAddress.objects.exists()


def test_a_report_proves_that_an_uncertain_message_left(sink, secretary, school):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["a@example.org"]})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    message = Message.objects.get(mailing=mailing)
    Message.objects.filter(pk=message.pk).update(status=S.UNCERTAIN)
    Recipient.objects.filter(message=message).update(status=S.UNCERTAIN)
    delay = RecipientReport("a@example.org", "delayed", "4.4.1", "timed out")
    delivery_report_apply(message=message, report=DeliveryReport(recipients=[delay]))
    message.refresh_from_db()
    recipient = Recipient.objects.get(message=message)
    assert (message.status, recipient.status, recipient.delivery_action) == (
        S.SENT, S.SENT, "delayed")


def test_operators_read_what_the_inbound_server_received(client, db):
    from accounts.models import User
    from mailing.models import InboundMessage

    operator = User.objects.create_superuser("ops@example.org", "pw-ops-123456")
    client.force_login(operator)
    inbound = InboundMessage.objects.create(mail_from="", rcpt_tos=["bounces+1-x@d"],
                                            raw=b"Subject: Undelivered\r\n\r\nsorry\r\n",
                                            outcome="unmatched", details="no known message")
    listing = client.get(reverse("admin:mailing_inboundmessage_changelist"))
    assert listing.status_code == 200 and "unmatched" in listing.content.decode()
    detail = client.get(reverse("admin:mailing_inboundmessage_change", args=[inbound.pk]))
    assert "Subject: Undelivered" in detail.content.decode()


def _uncertain_bcc_chunk(sink, secretary, addresses):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="x", body="y",
                           audience={"addresses": addresses})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    message = Message.objects.get(mailing=mailing)
    Message.objects.filter(pk=message.pk).update(status=S.UNCERTAIN)
    Recipient.objects.filter(message=message).update(status=S.UNCERTAIN)
    return message


def test_a_report_on_one_recipient_of_an_uncertain_chunk_settles_the_whole_chunk(
        sink, secretary, school):
    message = _uncertain_bcc_chunk(sink, secretary, ["a@example.org", "b@example.org",
                                                     "c@example.org"])
    bounce = RecipientReport("b@example.org", "failed", "5.1.1", "550 5.1.1 no such user")
    delivery_report_apply(message=message, report=DeliveryReport(recipients=[bounce]))
    statuses = dict(Recipient.objects.filter(message=message).values_list("email", "status"))
    # It left: nobody in the chunk is uncertain any more, so no resend is offered.
    assert statuses == {"a@example.org": S.SENT, "b@example.org": S.BOUNCED,
                        "c@example.org": S.SENT}


def test_a_report_without_the_signed_address_is_only_a_note(sink, secretary, school):
    from mailing.models import SuppressedAddress

    message = _uncertain_bcc_chunk(sink, secretary, ["a@example.org", "b@example.org"])
    Message.objects.filter(pk=message.pk).update(status=S.SENT)
    Recipient.objects.filter(message=message).update(status=S.SENT)
    forged = RecipientReport("b@example.org", "failed", "5.1.1", "550 5.1.1 no such user")
    delivery_report_apply(message=message, report=DeliveryReport(recipients=[forged]),
                          verified=False)
    b = Recipient.objects.get(message=message, email="b@example.org")
    assert (b.status, b.delivery_status) == (S.SENT, "5.1.1")
    assert not SuppressedAddress.objects.exists()
