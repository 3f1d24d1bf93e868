"""SMS, end to end in a real browser with a real worker: an administrator adds an OVHcloud SMS
account and tests it (the local fake of OVH's API answers), gives it to a secretary; she texts
a class with mail merge, sees the counter switch to Unicode when she types "œ", sends, and
watches the statuses move to delivered when the provider calls the account's receipt URL."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import Recipient, SendingAccount
from school import phones
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_class, make_guardian, make_student, make_user
from tests.sms_providers import OVH_CREDENTIALS
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queues(isolated_queues):
    return isolated_queues


def test_an_sms_account_is_added_tested_and_a_class_texted_to_delivery(
        page, live_server, tmp_path, ovh, school, queues):
    make_user(Profile.ADMIN, email="admin@example.org")
    make_user(Profile.SECRETARIAT, email="chloe@example.org", first_name="Chloé",
              last_name="Martin")
    school_class = make_class("5e B")
    for index, typed in enumerate(["06 12 34 56 78", "07 81 22 33 44", "01 45 67 89 10"]):
        guardian = make_guardian(last_name=f"Famille{index}", civility="mme",
                                 phone=phones.normalized(typed))
        make_student(school_class, guardians=[guardian], first_name=f"Enfant{index}",
                     last_name=f"Famille{index}")

    log_in(page, "admin@example.org", PASSWORD)
    page.goto("/configuration/accounts/")
    page.get_by_role("link", name="Ajouter un compte SMS").click()
    page.locator("#id_name").fill("SMS du collège")
    page.get_by_role("radio", name="OVHcloud SMS").check()
    for key, value in OVH_CREDENTIALS.items():
        page.locator(f"#id_credential_ovh_{key}").fill(value)
    page.locator("#id_sms_sender_id").fill("COLLEGEJM")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_label("Envoyer le SMS de test au").fill("06 99 88 77 66")
    page.get_by_role("button", name="Tester").click()
    expect(page.get_by_text(re.compile("Test réussi"))).to_be_visible()
    expect(page.locator("body")).to_contain_text('"ids": [1001]')  # OVH's answer, verbatim
    page.get_by_label("Chloé Martin").check()
    page.get_by_role("button", name="Enregistrer les utilisateurs").click()
    assert ovh.sent[0][0] == "+33699887766"
    page.get_by_role("button", name="Déconnexion").click()

    env = {**queues, "SMS_OVH_URL": ovh.url, "SITE_URL": live_server.url}
    with running_worker(tmp_path, extra_env=env, queues=",".join(queues.values())):
        log_in(page, "chloe@example.org", PASSWORD)
        page.goto("/emails/")
        page.get_by_role("link", name="Nouveau SMS").click()
        page.get_by_role("combobox", name=re.compile("Rechercher")).fill("5e B")
        page.get_by_role("option", name=re.compile("^Toute la classe 5e B")).click()
        expect(page.locator("#audience-count")).to_contain_text("2 destinataires")
        expect(page.locator("#audience-count")).to_contain_text("1 laissé de côté")
        text = page.get_by_label("Texte du SMS")
        text.fill("Bonjour, {{ eleve.prenom }} est absent(e) ce matin. Le collège")
        counter = page.locator("#sms-count")
        expect(counter).to_contain_text("GSM-7")
        expect(counter).to_contain_text("160")
        text.press("End")
        text.type(" vous souhaite une bonne journée : cœur")
        expect(counter).to_contain_text("UCS-2")
        expect(counter).to_contain_text("« œ »")
        page.get_by_role("button", name=re.compile("Continuer")).click()

        expect(page.locator("#recipient-count")).to_have_text("2")
        expect(page.locator("#preview-text")).to_contain_text("Enfant0 est absent(e)")
        page.get_by_role("button", name=re.compile("Envoyer à 2 destinataires")).click()
        expect(page.locator('[data-count="sent"]')).to_have_text("2", timeout=60_000)

        assert sorted(number for number, _text in ovh.sent[1:]) == ["+33612345678",
                                                                   "+33781223344"]
        assert all("cœur" in text for _number, text in ovh.sent[1:])
        assert ovh.report_all("1") == [200, 200]  # OVH calls the receipt URL: delivered
        expect(page.locator('[data-count="delivered"]')).to_have_text("2", timeout=30_000)
    account = SendingAccount.objects.get(kind="sms")
    assert set(Recipient.objects.filter(message__account=account)
               .values_list("status", flat=True)) == {"delivered"}
