"""SMS mailings through the engine: the audience resolved to mobile numbers (and who is left out,
and why), one SMS per recipient at the provider's API (a local fake) with the mail merge done,
temporary refusals retried, a refused number failed with the provider's words, an empty credit
pausing the account; then receipts and STOP replies at the account's URL, forged ones changing
nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext as _

from mailing.engine import send_account_work
from mailing.mailings.audience import Audience, resolve
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message, Recipient, SuppressedAddress
from mailing.sms.channel import receipts_url
from school import phones
from tests.factories import make_class, make_guardian, make_student
from tests.mailing.conftest import make_mailing, make_sms_account

pytestmark = pytest.mark.django_db
S = Message.Status
TEXT = "Bonjour {{ parent.civilite }} {{ parent.nom }}, {{ eleve.prenom }} est absent(e)."


@pytest.fixture
def families(school):
    """A class whose guardians show every case: two mobiles typed as people type them, a
    landline, a number that is not one, none at all, and a family that asked for no SMS."""
    school_class = make_class("5e B")

    def guardian(typed, **fields):  # stored as the guardian forms store it (E.164 if valid)
        return make_guardian(phone=phones.normalized(typed), **fields)

    mobile = guardian("06 12 34 56 78", last_name="Martin", civility="mme")
    other = guardian("+33 7 98 76 54 32", last_name="Durand", civility="m")
    landline = guardian("01 23 45 67 89", last_name="Fixe")
    invalid = guardian("12345", last_name="Faux")
    nothing = guardian("", last_name="Aucun")
    opted_out = guardian("06 55 44 33 22", last_name="Silence", sms_opt_out=True)
    make_student(school_class, guardians=[mobile, landline], first_name="Léa")
    make_student(school_class, guardians=[other, invalid], first_name="Tom")
    make_student(school_class, guardians=[nothing, opted_out], first_name="Zoé")
    return school_class


def _sms_mailing(account, user, school_class, mode=Mailing.Mode.PER_STUDENT):
    return make_mailing(account, user, mode=mode, subject="", body=TEXT,
                        audience={"class_ids": [school_class.pk]})


def test_a_class_is_texted_once_per_mobile_with_who_is_left_out_and_why(
        ovh, secretary, families):
    account = make_sms_account("ovh")
    plan = resolve(Audience(class_ids=[families.pk]), Mailing.Mode.PER_STUDENT, sms=True)
    assert [r.email for m in plan.messages for r in m.recipients] == [
        "+33612345678", "+33798765432"]
    reasons = {who.split(" ")[1]: str(why) for who, why in plan.excluded}
    assert reasons == {"Fixe": str(phones.LANDLINE), "Faux": str(phones.INVALID),
                       "Aucun": str(phones.NO_NUMBER), "Silence": _("asked for no SMS")}

    mailing = mailing_submit(mailing=_sms_mailing(account, secretary, families))
    assert send_account_work(account.pk) is False
    assert sorted(ovh.sent) == [
        ("+33612345678", "Bonjour Mme Martin, Léa est absent(e)."),
        ("+33798765432", "Bonjour M. Durand, Tom est absent(e).")]
    request = ovh.requests[0]
    assert request.body["sender"] == "COLLEGEJM"
    assert request.body["callBack"] == receipts_url(account)
    recipients = Recipient.objects.filter(mailing=mailing)
    assert {r.status for r in recipients} == {S.SENT}
    assert all(r.provider_ref for r in recipients)  # what the receipts will name
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE


def test_a_temporary_refusal_is_retried_and_a_refused_number_fails_alone(
        ovh, secretary, families, settings):
    settings.MAILING_RETRY_SCHEDULE = [1]
    account = make_sms_account("ovh")
    ovh.answer_next(429, {"message": "Too many requests"})
    ovh.invalid_numbers = {"+33798765432"}
    mailing = mailing_submit(mailing=_sms_mailing(account, secretary, families))
    send_account_work(account.pk)
    deferred = Message.objects.get(mailing=mailing, status=S.DEFERRED)
    assert "Too many requests" in deferred.smtp_text
    Message.objects.filter(pk=deferred.pk).update(next_attempt_at=timezone.now()
                                                 - timedelta(seconds=1))
    send_account_work(account.pk)
    fates = dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    assert fates == {"+33612345678": S.SENT, "+33798765432": S.FAILED}
    failed = Recipient.objects.get(mailing=mailing, email="+33798765432")
    assert "+33798765432" in failed.smtp_text  # the provider's answer, verbatim
    assert [number for number, _text in ovh.sent] == ["+33612345678"]


def test_an_empty_credit_pauses_the_account_and_sends_nothing_twice(
        brevo, secretary, families):
    account = make_sms_account("brevo")
    brevo.answer_next(402, {"code": "not_enough_credits", "message": "Not enough credits"})
    mailing = mailing_submit(mailing=_sms_mailing(account, secretary, families))
    send_account_work(account.pk)
    account.refresh_from_db()
    assert "Not enough credits" in account.paused_reason
    assert not Message.objects.filter(mailing=mailing, status__in=[S.SENT, S.FAILED,
                                                                  S.SENDING]).exists()
    account.paused_reason = ""
    account.save(update_fields=["paused_reason"])
    send_account_work(account.pk)
    assert sorted(number for number, _text in brevo.sent) == ["+33612345678",
                                                             "+33798765432"]


def _send(provider, fake, user, families):
    account = make_sms_account(provider)
    mailing = mailing_submit(mailing=_sms_mailing(account, user, families))
    send_account_work(account.pk)
    return account, mailing


def _call(client, fake, provider_id, status):
    method, path, data = fake.receipt(provider_id, status)
    if method == "GET":
        return client.get(path, data)
    return client.post(path, data, content_type="application/json")


@pytest.mark.parametrize(("provider", "delivered", "late", "failed"), [
    ("ovh", "1", "8", "16"), ("brevo", "delivered", "sent", "hardBounce")])
def test_receipts_set_delivered_or_failed_once_whatever_their_order(
        request, client, secretary, families, provider, delivered, late, failed):
    fake = request.getfixturevalue(provider)
    _account, mailing = _send(provider, fake, secretary, families)
    (first_id, first, _u), (second_id, second, _u2) = fake.callbacks
    assert _call(client, fake, first_id, delivered).status_code == 200
    assert _call(client, fake, first_id, delivered).status_code == 200  # replayed
    assert _call(client, fake, first_id, late).status_code == 200  # a late "on its way"
    assert _call(client, fake, second_id, failed).status_code == 200
    assert _call(client, fake, second_id, delivered).status_code == 200  # after the failure
    fates = {r.email: r for r in Recipient.objects.filter(mailing=mailing)}
    assert fates[first].status == S.DELIVERED
    assert fates[second].status == S.BOUNCED
    assert fates[second].delivery_status == failed
    assert fates[first].delivery_reported_at is not None


def test_forged_receipts_change_nothing(client, ovh, secretary, families):
    account, mailing = _send("ovh", ovh, secretary, families)
    other = make_sms_account("ovh", name="Autre")
    provider_id, _number, url = ovh.callbacks[0]
    path = "/" + url.split("/", 3)[3]
    before = list(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    wrong_token = path.replace(account.sms_webhook_token(), "0" * 40)
    assert client.get(wrong_token, {"id": provider_id, "dlr": "1"}).status_code == 404
    no_token = path.replace(account.sms_webhook_token() + "/", "")
    assert client.get(no_token, {"id": provider_id, "dlr": "1"}).status_code == 404
    # The right secret of another account: its recipients only, and this id is not one.
    other_path = receipts_url(other).split("/", 3)[3]
    assert client.get("/" + other_path, {"id": provider_id, "dlr": "1"}).status_code == 200
    assert client.get(path, {"id": "999999", "dlr": "1"}).status_code == 200  # unknown id
    assert client.get(path, {"dlr": "1"}).status_code == 400
    assert list(Recipient.objects.filter(mailing=mailing).values_list(
        "email", "status")) == before
    account.sms_webhook_salt = "renewed"
    account.save(update_fields=["sms_webhook_salt"])
    assert client.get(path, {"id": provider_id, "dlr": "1"}).status_code == 404  # retired


def test_a_stop_reply_takes_the_number_out_of_the_next_sms_mailings(
        client, brevo, secretary, families):
    account, _mailing = _send("brevo", brevo, secretary, families)
    path = "/" + brevo.callbacks[0][2].split("/", 3)[3]
    response = client.post(path, {"msg_status": "replied", "to": "33612345678",
                                  "reply": "Stop"}, content_type="application/json")
    assert response.status_code == 200
    client.post(path, {"msg_status": "replied", "to": "33611111111", "reply": "STOP"},
                content_type="application/json")
    client.post(path, {"msg_status": "replied", "to": "33798765432", "reply": "Merci !"},
                content_type="application/json")
    plan = resolve(Audience(class_ids=[families.pk]), Mailing.Mode.PER_STUDENT, sms=True)
    assert [r.email for m in plan.messages for r in m.recipients] == ["+33798765432"]
    assert any("Martin" in who and str(why) == _("asked for no SMS")
               for who, why in plan.excluded)
    # A number no guardian has is kept out all the same, on the suppression list.
    assert SuppressedAddress.objects.filter(email="+33611111111").exists()
    plan = resolve(Audience(addresses=["06 11 11 11 11"]), Mailing.Mode.PER_GUARDIAN,
                   sms=True)
    assert plan.suppressed[0].email == "+33611111111"


def test_the_account_page_gives_administrators_the_receipt_url(admin_client):
    account = make_sms_account("brevo")
    page = admin_client.get(f"/configuration/accounts/{account.pk}/").content.decode()
    assert receipts_url(account) in page
    other = make_sms_account("brevo", name="Autre")
    assert other.sms_webhook_token() != account.sms_webhook_token()  # one secret per account
    assert other.sms_webhook_token() not in page
