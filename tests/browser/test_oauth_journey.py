"""An administrator connects an Office 365 account by signing in with Microsoft (the local
authorization server stands in for Microsoft), then tests it: SMTP with XOAUTH2."""

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import SendingAccount
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user
from tests.mailing.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_in_with_microsoft_and_the_test_succeeds(page, live_server, settings,
                                                          oauth_server, xoauth2_smtp_server):
    settings.SITE_URL = live_server.url  # the redirect URI registered at the provider
    account = make_account(xoauth2_smtp_server, name="Secrétariat Office 365",
                           allow_plain_auth=True)
    make_user(Profile.ADMIN, email="directrice@example.org")
    log_in(page, "directrice@example.org", PASSWORD)

    page.goto(f"/configuration/accounts/{account.pk}/")
    page.get_by_role("button", name="Se connecter avec Microsoft").click()
    expect(page.locator("#oauth")).to_contain_text(
        "Connecté à Microsoft en tant que secretariat@college.example.org")
    assert any(r["path"] == "/authorize" for r in oauth_server.requests)  # went through it

    page.locator("#id_to_email").fill("directrice@example.org")
    page.get_by_role("button", name="Tester").click()
    expect(page.get_by_role("status")).to_contain_text("Test réussi")
    [received] = xoauth2_smtp_server.received
    assert (received.auth_login, received.rcpt_tos) == (
        "secretariat@college.example.org", ["directrice@example.org"])
    account = SendingAccount.objects.get(pk=account.pk)
    assert account.last_test_ok and account.oauth_provider == "microsoft"
