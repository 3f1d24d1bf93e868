"""The SMS composer (E-mails et SMS > Nouveau SMS), its confirm page and the ops view: a
secretary assigned an SMS account texts a class with mail merge, sees each recipient's SMS and
its parts, tests it on her own phone, sends it; bad input is refused with the reason and saves
nothing; e-mail and SMS accounts stay in their own composers."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from mailing.engine import send_account_work
from mailing.models import Mailing, Recipient, SendingAccount
from school import phones
from tests.factories import make_class, make_guardian, make_student
from tests.mailing.conftest import make_account, make_sms_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def texting(secretary, school):
    account = make_sms_account("ovh")
    account.users.add(secretary)
    school_class = make_class("4e C")
    for index, typed in enumerate(["06 12 34 56 78", "07 81 22 33 44", "01 45 67 89 10"]):
        guardian = make_guardian(last_name=f"Fam{index}", civility="mme",
                                 phone=phones.normalized(typed))
        make_student(school_class, guardians=[guardian], first_name=f"Élève{index}",
                     last_name=f"Nom{index}")
    return account, school_class


def _post(client, account, school_class, **changes):
    data = {"account": account.pk, "mode": "per_student", "classes": [school_class.pk],
            "addresses": "", "body_text": "Bonjour, {{ eleve.prenom }} sera absent(e) demain.",
            **changes}
    return client.post(reverse("mailings:sms_compose"), data)


def test_a_secretary_texts_a_class_tests_it_on_her_phone_and_sends_it(
        secretary_client, ovh, texting):
    account, school_class = texting
    page = secretary_client.get(reverse("mailings:mailing_list")).content.decode()
    assert reverse("mailings:sms_compose") in page
    compose = secretary_client.get(reverse("mailings:sms_compose"))
    assert list(compose.context["form"].fields["account"].queryset) == [account]
    assert "users" not in compose.context["form"].fields  # staff hold no number

    response = _post(secretary_client, account, school_class)
    assert response.status_code == 302, response.context["form"].errors
    mailing = Mailing.objects.get()
    assert mailing.is_sms and mailing.subject.startswith("Bonjour, {{ eleve.prenom }}")
    edit = secretary_client.get(reverse("mailings:mailing_edit", args=[mailing.pk]))
    assert edit.templates[0].name == "mailing/sms_compose.html"  # the SMS composer again
    assert "{{ eleve.prenom }} sera absent(e)" in edit.content.decode()
    assert "Toute la classe 4e C" in edit.content.decode()  # the chosen class, as a chip
    draft = secretary_client.get(response.url).content.decode()
    assert "Bonjour, Élève0 sera absent(e) demain." in draft  # the first recipient's SMS
    assert "UCS-2" not in draft and "GSM-7" in draft  # "É" is in the GSM alphabet
    assert "un fixe" in draft  # the landline guardian is left out, with the reason

    secretary_client.post(reverse("mailings:mailing_test", args=[mailing.pk]),
                          {"to_number": "06 99 88 77 66", "preview": "1"})
    assert ovh.sent == [("+33699887766", "[TEST] Bonjour, Élève1 sera absent(e) demain.")]

    secretary_client.post(reverse("mailings:mailing_send", args=[mailing.pk]))
    send_account_work(account.pk)
    assert sorted(ovh.sent[1:]) == [
        ("+33612345678", "Bonjour, Élève0 sera absent(e) demain."),
        ("+33781223344", "Bonjour, Élève1 sera absent(e) demain.")]
    out = io.StringIO()
    call_command("mailing_status", str(mailing.pk), "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["channel"] == "sms"
    assert {(r["email"], r["status"]) for r in status["recipients"]} == {
        ("+33612345678", "sent"), ("+33781223344", "sent")}
    assert all(r["provider_ref"] for r in status["recipients"])
    detail = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert "+33612345678" in detail.content.decode()
    listed = secretary_client.get(reverse("mailings:mailing_list")).content.decode()
    assert ">SMS</span>" in listed
    recipient = Recipient.objects.get(mailing=mailing, email="+33612345678")
    page = secretary_client.get(reverse("mailings:message_detail", args=[
        mailing.pk, recipient.message_id])).content.decode()
    assert "Bonjour, Élève0 sera absent(e) demain." in page and recipient.provider_ref in page
    assert "COLLEGEJM" in page and "Message-ID" not in page


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"addresses": "01 45 67 89 10"}, "addresses", "un fixe"),
    ({"addresses": "pas un numéro"}, "addresses", "pas un numéro de téléphone valide"),
    ({"body_text": "x" * 161 * 7}, "body_text", "au plus"),
    ({"body_text": "Bonjour {{ eleve.age }}"}, "body_text", "eleve.age"),
    ({"body_text": "   "}, "body_text", ""),
])
def test_bad_input_is_refused_with_the_reason_and_nothing_is_saved(
        secretary_client, texting, changes, field, words):
    account, school_class = texting
    response = _post(secretary_client, account, school_class, **changes)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert words in errors
    assert not Mailing.objects.exists()


def test_each_composer_offers_its_own_accounts_and_no_one_elses(
        secretary_client, secretary, texting, smtp_server, school):
    account, school_class = texting
    mail = make_account(smtp_server)
    mail.users.add(secretary)
    unassigned = make_sms_account("brevo", name="Pas à elle")
    compose = secretary_client.get(reverse("mailings:mailing_compose"))
    assert list(compose.context["form"].fields["account"].queryset) == [mail]
    response = _post(secretary_client, mail, school_class)
    assert "account" in response.context["form"].errors
    response = _post(secretary_client, unassigned, school_class)
    assert "account" in response.context["form"].errors
    assert not Mailing.objects.exists()
    assert SendingAccount.objects.filter(kind="sms").count() == 2


def test_the_live_count_counts_mobiles_for_an_sms_account(secretary_client, texting):
    account, school_class = texting
    response = secretary_client.post(reverse("mailings:mailing_audience_count"), {
        "account": account.pk, "mode": "per_student", "classes": [school_class.pk]})
    page = response.content.decode()
    assert 'data-messages="2"' in page and "un fixe" in page
    assert "1 laissé de côté" in page  # counted with the reasons, not only listed
    assert not Recipient.objects.exists()


def test_a_bad_preview_number_shows_the_first_recipient(secretary_client, ovh, texting):
    account, school_class = texting
    response = _post(secretary_client, account, school_class)
    mailing = Mailing.objects.get()
    page = secretary_client.get(response.url, {"preview": "-1x"})
    assert page.status_code == 200 and "Élève0 sera absent(e)" in page.content.decode()
    secretary_client.post(reverse("mailings:mailing_test", args=[mailing.pk]),
                          {"to_number": "06 99 88 77 66", "preview": "abc"})
    assert ovh.sent == [("+33699887766", "[TEST] Bonjour, Élève0 sera absent(e) demain.")]
