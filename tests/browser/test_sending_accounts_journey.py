import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import SendingAccount
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SMTP_USER, SMTP_PASSWORD = "secretariat@ecole.example.org", "  espaces compris  "


def test_it_configures_tests_and_assigns_an_external_account(page, smtp_server_factory,
                                                              settings):
    server = smtp_server_factory(mode="starttls", users={SMTP_USER: SMTP_PASSWORD},
                                 auth_require_tls=True)
    settings.SMTP_EXTRA_CA_FILE = server.ca_file
    make_user(Profile.ADMIN, email="directrice@example.org")
    secretary = make_user(Profile.SECRETARIAT, email="chloe@example.org", first_name="Chloé",
                          last_name="Dubois")
    log_in(page, "directrice@example.org", PASSWORD)

    page.get_by_role("link", name="Comptes e-mail et SMS").first.click()
    page.get_by_role("link", name="Ajouter un compte e-mail").click()
    page.locator("#id_name").fill("Secrétariat")
    page.get_by_label("Service d'envoi externe (SMTP)").check()
    page.locator("#id_sender_name").fill("Secrétariat du collège")
    page.locator("#id_from_email").fill(SMTP_USER)
    page.locator("#id_smtp_host").fill(server.host)
    page.get_by_label("TLS (STARTTLS)").check()
    page.locator("#id_smtp_port").fill(str(server.port))
    page.locator("#id_username").fill(SMTP_USER)
    page.locator("#id_password").fill(SMTP_PASSWORD)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Tester")

    page.locator("#id_to_email").fill("directrice@example.org")
    page.get_by_role("button", name="Tester").click()
    expect(page.get_by_role("status")).to_contain_text("Test réussi")
    assert server.received[-1].rcpt_tos == ["directrice@example.org"]

    page.locator("#id_password").fill("mauvais mot de passe")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_role("button", name="Tester").click()
    expect(page.get_by_role("status")).to_contain_text("535 5.7.3 Authentication unsuccessful")
    expect(page.locator("#last-test")).to_contain_text("535 5.7.3 Authentication unsuccessful")

    # Assign it from the user's screen, then see it on the account's screen.
    page.goto(f"/accounts/users/{secretary.pk}/")
    page.get_by_role("link", name="Comptes d'envoi").click()
    page.get_by_label("Secrétariat").check()
    page.get_by_role("button", name="Enregistrer").click()
    account = SendingAccount.objects.get(name="Secrétariat")
    page.goto(f"/configuration/accounts/{account.pk}/")
    expect(page.get_by_label("Chloé Dubois")).to_be_checked()
    page.goto("/configuration/accounts/")
    expect(page.get_by_role("row", name="Secrétariat")).to_contain_text("Chloé Dubois")
