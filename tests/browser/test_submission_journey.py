"""An administrator lets Pronote send through the integrated service: creates its access,
reads the settings and the password once, and finds what Pronote sent in the history."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.engine import send_account_work
from mailing.submission.credentials import access_authenticate
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user
from tests.submission.conftest import (  # noqa: F401 (fixtures, by name)
    account,
    certificate,
    client_tls,
    connect,
    note,
    relay,
    submission,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_lets_pronote_send_and_sees_its_mail_in_the_history(
        page, submission, client_tls, account, relay, settings):  # noqa: F811
    settings.SUBMISSION_PUBLIC_HOST = "smtp.ecolemail.eduka.school"
    _, server, _ = submission
    director = make_user(Profile.ADMIN, email="directrice@example.org")
    account.users.add(director)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "directrice@example.org", PASSWORD)

    page.get_by_role("link", name="Comptes e-mail et SMS").first.click()
    page.get_by_role("link", name=account.name).click()
    applications = page.locator("#applications")
    expect(applications).to_contain_text("Accès pour d'autres applications (Pronote…)")
    expect(applications).to_contain_text("Aucune application n'utilise encore ce compte.")
    applications.get_by_label("Application").fill("Pronote")
    applications.get_by_role("button", name="Créer l'accès").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Accès « Pronote » créé")
    expect(page.locator("#access-host")).to_have_text("smtp.ecolemail.eduka.school")
    expect(page.locator("#access-sender")).to_have_text(account.envelope_from)
    username = page.locator("#access-username").inner_text()
    password = page.locator("#access-password").inner_text()
    page.get_by_role("button", name="Copier").click()
    expect(page.get_by_role("button", name="Copié")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == password
    page.get_by_role("link", name=re.compile("retour au compte")).click()
    expect(applications.get_by_role("row", name=re.compile("Pronote"))).to_contain_text("jamais")
    assert password not in page.content()

    # Pronote, with what the page said.
    with connect(server, client_tls, login=(username, password)) as client:
        client.send_message(note(["parent.un@example.org", "parent.deux@example.org"]))
    send_account_work(account.pk)
    assert sorted(relay.received[0].rcpt_tos) == ["parent.deux@example.org",
                                                  "parent.un@example.org"]

    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="E-mails", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Bulletin du 1er trimestre"))
    expect(row).to_contain_text("Envoyé par Pronote")
    row.get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("Envoyé par Pronote")
    expect(page.locator('[data-count="sent"]')).to_have_text("2")
    page.get_by_role("link", name="parent.un@example.org").first.click()
    expect(page.locator(".mail-text")).to_contain_text("le bulletin est disponible")

    page.goto(f"/configuration/accounts/{account.pk}/")
    expect(applications.get_by_role("row", name=re.compile("Pronote"))).to_contain_text(
        "127.0.0.1")

    # Revoked (after a confirm()), it stays listed and no longer opens the server.
    page.once("dialog", lambda dialog: dialog.accept())
    applications.get_by_role("button", name="Révoquer").click()
    expect(page.get_by_role("status")).to_contain_text("Accès « Pronote » révoqué")
    expect(applications.get_by_role("row", name=re.compile("Pronote"))).to_contain_text(
        "Révoqué le")
    # (Checked on the credentials rather than over SMTP: on this branch the server does not
    # answer a failed AUTH yet — main answers 535 since d0d5c77.)
    assert access_authenticate(username, password) is None
